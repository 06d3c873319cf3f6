"""The cases of the fuzz stage (#22, run by tests/_fuzz.py): the seed corpus of small fitted models and
the seeded mutations of their model files and pickles.

Case ``i`` of seed ``s`` is a function of (s, i) and the corpus alone (``random.Random`` seeded with a
string, never with ``hash``), so a failure reproduces from the two numbers it is named by. Families:

- ``file_structure``: the model file's JSON parsed, 1-3 nodes anywhere in it replaced by edge values,
  deleted, duplicated, resized, retyped or copied from elsewhere; the ``checksum`` key dropped in 90%
  of cases (else the checksum alone would refuse them all), kept in the rest (it must refuse them).
- ``file_bytes``: bytes of the file flipped, overwritten, cut, inserted, deleted or repeated (70% of
  them in a file without its checksum, so that the damage reaches the parser and the core).
- ``pickle_state``: a pickle whose core ``Model`` state, the dict its ``__setstate__`` validates, is
  mutated as above (elements set to their dtype's edges, arrays resized, recast, reshaped, retyped).
- ``pickle_attributes``: a pickle whose estimator attributes (fitted ones and parameters) are mutated.
- ``pickle_bytes``: bytes of a pickle (protocol 2 or 5) damaged as for files.
"""

import contextlib
import copy
import io
import json
import math
import pickle
import random
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import treeforge
from treeforge import _core

FAMILIES = {"file_structure": 35, "file_bytes": 15, "pickle_state": 30, "pickle_attributes": 5, "pickle_bytes": 15}

NUMBERS = (0, 1, -1, 2, 3, 255, 256, 2**31 - 1, 2**31, -2**31 - 1, 2**32, 2**53 + 1, 2**63 - 1, 2**63,
           -2**63 - 1, 2**64, 10**9, -10**9, 10**30, 0.5, 1.5, -0.0, 1e-300, 5e-324, 1e308, -1e308,
           sys.float_info.max, -sys.float_info.max, 710.0, math.nan, math.inf, -math.inf)
OTHERS = (None, True, False, "", "0", "NaN", "-Infinity", "x" * 300, [], [0], [[1]], {}, {"__float__": "NaN"},
          {"__float__": "inf"}, {"__items__": [[1, 2]]}, {"__items__": [[[1], 2]]},
          {"__ndarray__": {"dtype": "<f8", "shape": [0], "data": []}},
          {"__ndarray__": {"dtype": "object", "shape": [1], "data": [None]}})
STRINGS = ("", "\x00", "\u00e9", "squared_error", "log_loss", "poisson", "quantile:nan", "quantile:2",
           "huber:-1", "tweedie:1e308", "absolute_error", "sum", "mean", "median", "vote", "from_dtype", "auto",
           "lambdarank:10", "lambdarank:0", "lambdarank:1e9", "rank_pairwise", "rank_listwise")
ARRAY_DTYPES = ("<f8", "<f4", "<i2", ">i4", "<i4", "<i8", "|i1", "|u1", "<u4", "<u8", "<U0", "|b1", "object", "V8")
JSON_TOKENS = (b"{", b"}", b"[", b"]", b",", b":", b'"', b"\\", b"NaN", b"-Infinity", b"1e999", b"\x00",
               b"\xff", b"9" * 400, b"  ", b'"__ndarray__"', b"null")
PICKLE_TOKENS = (b"(", b")", b"R", b"b", b".", b"N", b"\x80\x05", b"\x8c\x05numpy", b"\x94", b"}", b"s",
                 b"\xff" * 8)
DTYPES = ("int8", "int32", "int64", "uint8", "uint32", "uint64", "float32", "float64", "bool", "object")


# --------------------------------------------------------------------------------------------
# The seed corpus: one small fitted model of every estimator, as a file, two pickles and probe rows
# --------------------------------------------------------------------------------------------


def fitted_models():
    """{name: (estimator, X)}: every estimator, a few trees of at most 4 leaves each; categorical
    features both from a pandas category column and from a mask."""
    import pandas as pd

    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    two, three, y = (X[:, 0] > 0).astype(int), np.digitize(X[:, 1], [-0.5, 0.5]), 2 * X[:, 0] + X[:, 2]
    frame = pd.DataFrame({"x": X[:, 0], "colour": pd.Categorical(np.array(["red", "green", "blue"])[three])})
    coded = np.column_stack([X[:, 0], three, X[:, 2]])
    small = {"max_leaf_nodes": 4}
    hgb = {"max_iter": 3, **small}
    forest = {"n_estimators": 3, "random_state": 0, **small}
    return {
        "hgb_binary": (treeforge.HistGradientBoostingClassifier(**hgb).fit(X, two), X),
        "hgb_multiclass": (treeforge.HistGradientBoostingClassifier(**hgb).fit(X, np.array(list("abc"))[three]), X),
        "hgb_regressor": (treeforge.HistGradientBoostingRegressor(**hgb).fit(X, y), X),
        "hgb_ranker": (treeforge.HistGradientBoostingRanker(**hgb).fit(X, three, group=[20, 25, 15]), X),
        "hgb_poisson": (treeforge.HistGradientBoostingRegressor(loss="poisson", **hgb).fit(X, np.exp(y / 4)), X),
        "hgb_categorical": (treeforge.HistGradientBoostingRegressor(categorical_features="from_dtype", **hgb)
                            .fit(frame, y + 3 * three), frame),
        "forest_classifier": (treeforge.RandomForestClassifier(**forest).fit(X, three), X),
        "forest_regressor": (treeforge.RandomForestRegressor(**forest).fit(X, y), X),
        "forest_categorical": (treeforge.RandomForestClassifier(categorical_features=[1], **forest)
                               .fit(coded, three), coded),
        # a perfect first stump: one tree, estimator_weights_ [1, 0, 0]
        "adaboost_binary": (treeforge.AdaBoostClassifier(n_estimators=3, random_state=0).fit(X, two), X),
        "adaboost_multiclass": (treeforge.AdaBoostClassifier(n_estimators=3, random_state=0).fit(X, three), X),
        "adaboost_regressor": (treeforge.AdaBoostRegressor(n_estimators=3, random_state=0).fit(X, y), X),
    }


def _probe_rows(X):
    """Four training rows, one all missing, one of +-1e308 (numeric columns)."""
    if hasattr(X, "iloc"):
        rows = X.iloc[:6].copy()
        rows.iloc[4, :] = np.nan
        rows.iloc[5, 0] = 1e308
        return rows
    rows = X[:6].copy()
    rows[4], rows[5] = np.nan, [1e308, -1e308, 1e308][: X.shape[1]]
    return rows


def write_corpus(directory):
    """Write the seed corpus under ``directory`` (created): NAME.json, NAME.p2.pkl, NAME.p5.pkl, probe.pkl."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    probes = {}
    for name, (estimator, X) in fitted_models().items():
        estimator.save_model(directory / f"{name}.json")
        for protocol in (2, 5):
            (directory / f"{name}.p{protocol}.pkl").write_bytes(pickle.dumps(estimator, protocol=protocol))
        probes[name] = _probe_rows(X)
    (directory / "probe.pkl").write_bytes(pickle.dumps(probes))


def _walk(value, path=()):
    """(path, node) of every node under a parsed JSON value, the root excluded."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        yield path + (key,), item
        yield from _walk(item, path + (key,))


class _RecordingUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        self.seen.add((module, name))
        return super().find_class(module, name)


def _recorded_globals(blobs):
    """The (module, name) globals that loading ``blobs`` asks for."""
    seen = set()
    for blob in blobs:
        unpickler = _RecordingUnpickler(io.BytesIO(blob))
        unpickler.seen = seen
        unpickler.load()
    # the values the mutators put into states and attributes need a few more
    probe = [np.zeros(2, dtype=dtype) for dtype in DTYPES] + [np.zeros((2, 2)), np.zeros(()), np.float64(1), (1, 2)]
    for protocol in (2, 5):
        unpickler = _RecordingUnpickler(io.BytesIO(pickle.dumps(probe, protocol=protocol)))
        unpickler.seen = seen
        unpickler.load()
    return frozenset(seen)


class Corpus:
    """The seed corpus read back from ``write_corpus``'s directory, with what the mutators draw from."""

    def __init__(self, directory):
        directory = Path(directory)
        self.names = sorted(p.name[:-len(".json")] for p in directory.glob("*.json"))
        self.texts = {name: (directory / f"{name}.json").read_text() for name in self.names}
        self.pickles = {name: {protocol: (directory / f"{name}.p{protocol}.pkl").read_bytes() for protocol in (2, 5)}
                        for name in self.names}
        self.probes = pickle.loads((directory / "probe.pkl").read_bytes())
        documents = {name: json.loads(text) for name, text in self.texts.items()}
        self.paths = {name: [path for path, _ in _walk(doc)] for name, doc in documents.items()}
        self.strings = sorted({node for doc in documents.values() for _, node in _walk(doc) if isinstance(node, str)}
                              | set(STRINGS))
        self.globals = _recorded_globals([blob for blobs in self.pickles.values() for blob in blobs.values()])

    def estimator(self, name):
        return pickle.loads(self.pickles[name][5])


# --------------------------------------------------------------------------------------------
# Mutations
# --------------------------------------------------------------------------------------------


def _short(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _dotted(path):
    return "".join(f"[{key}]" if isinstance(key, int) else f".{key}" for key in path).lstrip(".")


def _edge_value(rng, old, strings):
    """An edge value to put where ``old`` was: mostly of its own kind, sometimes of any other."""
    if isinstance(old, str) and rng.random() < 0.6:
        return rng.choice(strings)
    if isinstance(old, (int, float)) and not isinstance(old, bool) and rng.random() < 0.8:
        return rng.choice(NUMBERS)
    return copy.deepcopy(rng.choice(NUMBERS + OTHERS + tuple(strings)))


def _mutate_json_node(document, rng, corpus, paths):
    """One structural change at a random node of ``document``; returns its description."""
    if rng.random() < 0.5:  # half the time a field or a whole array, not one element of a long data list
        paths = [path for path in paths if path[-2:-1] != ("data",)]
    path = rng.choice(paths)
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    key, value = path[-1], parent[path[-1]]
    op = rng.choices(("replace", "delete", "duplicate", "graft", "resize", "retag"), (45, 10, 10, 10, 15, 10))[0]
    if (op == "resize" and not isinstance(value, list)) or (op == "retag" and not _is_array_spec(value)):
        op = "replace"
    if op == "replace":
        parent[key] = _edge_value(rng, value, corpus.strings)
        what = f"= {_short(parent[key])}"
    elif op == "delete":
        del parent[key]
        what = "deleted"
    elif op == "duplicate":
        if isinstance(parent, list):
            parent.insert(key, copy.deepcopy(value))
        else:
            parent[f"{key}_"] = copy.deepcopy(value)
        what = "duplicated"
    elif op == "graft":
        source = rng.choice(paths)
        parent[key] = copy.deepcopy(_node_at(document, source))
        what = f"= copy of {_dotted(source)}"
    elif op == "resize":
        what = _resize_list(value, rng)
    else:
        what = _retag(value["__ndarray__"], rng)
    data_path = path if path[-1] == "data" else path[:-1] if path[-2:-1] == ("data",) else None
    if op in ("delete", "duplicate", "resize") and data_path and rng.random() < 0.75:
        what += _fit_shape(document, data_path[:-1])  # most of the time the array stays well-formed
    return f"{_dotted(path)} {what}"


def _node_at(document, path):
    for key in path:
        document = document[key]
    return document


def _is_array_spec(value):
    return isinstance(value, dict) and isinstance(value.get("__ndarray__"), dict)


def _resize_list(items, rng):
    n = len(items)
    length = rng.choice((0, 1, max(n - 1, 0), n + 1, 2 * n + 1))
    if length <= n:
        del items[length:]
    else:
        items.extend(rng.choice(items) if items and rng.random() < 0.5 else rng.choice(NUMBERS)
                     for _ in range(length - n))
    return f"resized {n} -> {length}"


def _retag(spec, rng):
    if rng.random() < 0.5:
        spec["dtype"] = rng.choice(ARRAY_DTYPES)
        return f"dtype = {spec['dtype']!r}"
    n = len(spec["data"]) if isinstance(spec.get("data"), list) else 0
    spec["shape"] = rng.choice(([n + 1], [n, 1], [1, n], [], [-1], [2**63], [0], [n, 0]))
    return f"shape = {spec['shape']}"


def _fit_shape(document, spec_path):
    spec = _node_at(document, spec_path)
    if (isinstance(spec, dict) and isinstance(spec.get("data"), list) and isinstance(spec.get("shape"), list)
            and len(spec["shape"]) == 1):
        spec["shape"] = [len(spec["data"])]
        return " (shape fitted)"
    return ""


def file_structure_case(corpus, name, rng):
    document = json.loads(corpus.texts[name])
    paths = corpus.paths[name]
    steps = []
    for step in range(rng.choice((1, 1, 1, 2, 2, 3))):
        if step:
            paths = [path for path, _ in _walk(document)]
        steps.append(_mutate_json_node(document, rng, corpus, paths))
    if rng.random() < 0.9:
        document.pop("checksum", None)
        steps.append("checksum dropped")
    else:
        steps.append("checksum kept")
    return json.dumps(document, separators=(",", ":")).encode(), "; ".join(steps)  # NaN/Infinity literals


def _damage_bytes(data, rng, tokens):
    data, steps = bytearray(data), []
    for _ in range(rng.choice((1, 1, 2, 3))):
        op = rng.choice(("flip", "set", "truncate", "insert", "delete", "repeat"))
        at = rng.randrange(len(data) + (op in ("truncate", "insert")) or 1)
        if op == "flip" and data:
            data[at] ^= 1 << rng.randrange(8)
        elif op == "set" and data:
            data[at] = rng.randrange(256)
        elif op == "truncate":
            del data[at:]
        elif op == "insert":
            data[at:at] = rng.choice(tokens) if rng.random() < 0.6 else rng.randbytes(rng.randint(1, 16))
        elif op in ("delete", "repeat"):
            span = bytes(data[at:at + rng.randint(1, 64)])
            data[at:at + len(span)] = span * 2 if op == "repeat" else b""
        steps.append(f"{op} at {at}")
    return bytes(data), ", ".join(steps)


def file_bytes_case(corpus, name, rng):
    text, kept = corpus.texts[name], rng.random() < 0.3
    if not kept:  # most damage tested on a file without checksum, so that it reaches the parser and the core
        document = json.loads(text)
        del document["checksum"]
        text = json.dumps(document, separators=(",", ":"))
    data, what = _damage_bytes(text.encode(), rng, JSON_TOKENS)
    return data, f"{what} ({'checksum kept' if kept else 'checksum dropped'})"


def _edge_element(rng, array):
    """An edge value an element of ``array`` can hold."""
    kind = array.dtype.kind
    if kind in "iu":
        info = np.iinfo(array.dtype)
        return rng.choice([v for v in (info.min, info.max, -1, 0, 1, len(array), len(array) + 1, 10**6)
                           if info.min <= v <= info.max])
    if kind == "f":
        return rng.choice((math.nan, math.inf, -math.inf, 1e308, -1e308, sys.float_info.max, -sys.float_info.max,
                           710.0, 5e-324, -0.0, 1e30, 0.0))
    if kind == "b":
        return rng.random() < 0.5
    return copy.deepcopy(rng.choice(NUMBERS + OTHERS))


def _mutate_array(array, rng):
    """(new value, description) for an ndarray field or attribute."""
    op = rng.choice(("element", "element", "element", "resize", "dtype", "shape", "type"))
    if op == "element" and array.size and array.ndim == 1:
        array, at = array.copy(), rng.randrange(array.size)
        array[at] = _edge_element(rng, array)
        return array, f"[{at}] = {_short(array[at])}"
    if op in ("element", "resize"):
        length = rng.choice((0, 1, max(array.size - 1, 0), array.size + 1, 2 * array.size + 1))
        flat = array.reshape(-1)
        extra = flat[[rng.randrange(flat.size) for _ in range(length)]] if flat.size else np.zeros(length, flat.dtype)
        return np.concatenate([flat, extra])[:length], f"resized {array.size} -> {length}"
    if op == "dtype":
        dtype = rng.choice(DTYPES)
        with np.errstate(all="ignore"), warnings.catch_warnings(), contextlib.suppress(ValueError, TypeError):
            warnings.simplefilter("ignore")
            return array.astype(dtype), f"as {dtype}"
        return array.astype(object), "as object"  # str values that no number can hold
    if op == "shape":
        shapes = [array.reshape(-1, 1), array.reshape(1, -1)] + ([array.reshape(-1)[0, ...]] if array.size else [])
        shaped = rng.choice(shapes)
        return shaped, f"shape {shaped.shape}"
    new = copy.deepcopy(rng.choice((array.tolist(), None, "x", 0, 1.5, {}, (1, 2), [[1]])))
    return new, f"= {_short(new)}"


def _mutate_value(value, rng, strings):
    if isinstance(value, np.ndarray):
        return _mutate_array(value, rng)
    new = _edge_value(rng, value, strings) if rng.random() < 0.9 else np.arange(2)
    return new, f"= {_short(new)}"


def _mutate_mapping(state, rng, strings):
    """One change of a dict of named values (a model state, an estimator's attributes); its description."""
    key = rng.choice(sorted(state))
    op = rng.choices(("value", "delete", "unknown", "graft"), (80, 8, 4, 8))[0]
    if op == "delete":
        del state[key]
        return f"{key} deleted"
    if op == "unknown":
        state[f"{key}_"] = copy.deepcopy(state[key])
        return f"{key}_ added"
    if op == "graft":
        source = rng.choice(sorted(state))
        state[key] = copy.deepcopy(state[source])
        return f"{key} = copy of {source}"
    state[key], what = _mutate_value(state[key], rng, strings)
    return f"{key}{what if what.startswith('[') else ' ' + what}"


class _ForgingPickler(pickle.Pickler):
    """Pickles every core Model with the given state in place of its own."""

    def __init__(self, file, protocol, state):
        super().__init__(file, protocol=protocol)
        self.protocol, self.state = protocol, state

    def reducer_override(self, obj):
        if not isinstance(obj, _core.Model):
            return NotImplemented
        constructor, args, _, *rest = obj.__reduce_ex__(self.protocol)
        return (constructor, args, self.state, *rest)


def pickle_state_case(corpus, name, rng):
    estimator = corpus.estimator(name)
    state = estimator._model.__reduce_ex__(2)[2]
    steps = [_mutate_mapping(state, rng, corpus.strings) for _ in range(rng.choice((1, 1, 1, 2, 3)))]
    protocol = rng.choice((2, 5))
    buffer = io.BytesIO()
    _ForgingPickler(buffer, protocol, state).dump(estimator)
    return buffer.getvalue(), f"{'; '.join(steps)} (protocol {protocol})"


def pickle_attributes_case(corpus, name, rng):
    estimator = corpus.estimator(name)
    attributes = {key: value for key, value in vars(estimator).items() if key != "_model"}
    what = _mutate_mapping(attributes, rng, corpus.strings)
    estimator.__dict__ = {**attributes, "_model": estimator._model}
    return pickle.dumps(estimator, protocol=5), what


def pickle_bytes_case(corpus, name, rng):
    protocol = rng.choice((2, 5))
    data, what = _damage_bytes(corpus.pickles[name][protocol], rng, PICKLE_TOKENS)
    return data, f"{what} (protocol {protocol})"


MAKERS = {"file_structure": file_structure_case, "file_bytes": file_bytes_case, "pickle_state": pickle_state_case,
          "pickle_attributes": pickle_attributes_case, "pickle_bytes": pickle_bytes_case}


@dataclass
class Case:
    seed: int
    index: int
    name: str
    family: str
    what: str
    payload: bytes = field(repr=False)
    must_refuse: bool = False  # a changed file under its original checksum

    def __str__(self):  # how failures name a case
        return f"seed={self.seed} case={self.index} [{self.name}, {self.family}] {self.what}"


def _canonical(document):
    """The content a checksum covers, as text (written independently of _model_io's)."""
    return json.dumps({key: value for key, value in document.items() if key != "checksum"}, sort_keys=True)


def _changed_under_checksum(corpus, name, payload):
    try:
        document = json.loads(payload)
    except (ValueError, RecursionError):
        return False  # not JSON: refused anyway
    original = json.loads(corpus.texts[name])
    return (isinstance(document, dict) and document.get("checksum") == original["checksum"]
            and _canonical(document) != _canonical(original))


def make_case(corpus, seed, index):
    rng = random.Random(f"treeforge-fuzz:{seed}:{index}")
    name = rng.choice(corpus.names)
    family = rng.choices(list(FAMILIES), list(FAMILIES.values()))[0]
    payload, what = MAKERS[family](corpus, name, rng)
    must_refuse = family.startswith("file") and _changed_under_checksum(corpus, name, payload)
    return Case(seed, index, name, family, what, payload, must_refuse)
