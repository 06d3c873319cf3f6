"""Category-set splits (model format version 2), on hand-built models: the predictor, the leaf
index, the training-time walk on bin codes and estimators' apply all route rows as the reference
walk does (NaN, negative, non-integral and out-of-range categories included: a value that is no
category of its feature is missing); a save -> load
round trip is exact; damaged set splits are refused with ValueError, never a crash."""

import json
import pickle

import numpy as np
import pandas as pd
import pytest
from _reference import category_set, leaf_of_codes, predict_leaf, predict_margin, tree_slice

import treeforge
from treeforge import HistGradientBoostingRegressor, _core

N_FEATURES = 4


def training_data(rng, n_rows=600):
    """Columns of 100 and 10 integer categories (bins = categories), a continuous one, one with NaN."""
    X = np.column_stack([rng.integers(0, 100, n_rows), rng.integers(0, 10, n_rows), rng.normal(size=n_rows),
                         rng.normal(size=n_rows)]).astype(np.float64)
    X[rng.random(n_rows) < 0.15, 3] = np.nan
    y = np.sin(X[:, 0] / 7.0) + (X[:, 1] % 3 == 0) + X[:, 2] + np.nan_to_num(X[:, 3])
    return X, y


def awkward_rows(rng, n_rows=700):
    """Rows whose categories are NaN, negative, non-integral, -0.0, past every set, or infinite."""
    X, _ = training_data(rng, n_rows)
    pick = rng.random(X.shape)
    X[pick < 0.08] = np.nan
    X[(pick >= 0.08) & (pick < 0.14)] = -rng.integers(1, 5, size=X.shape)[(pick >= 0.08) & (pick < 0.14)]
    X[(pick >= 0.14) & (pick < 0.2)] += 0.5
    X[(pick >= 0.2) & (pick < 0.24)] = rng.integers(100, 300, size=X.shape)[(pick >= 0.2) & (pick < 0.24)]
    X[(pick >= 0.24) & (pick < 0.26)] = -0.0
    X[:4] = [[np.inf, -np.inf, 1e12, np.nan], [1e12, 2.0**32, -np.inf, np.inf], [63.0, 64.0, 31.0, 32.0],
             [99.0, 9.0, 0.0, -0.0]]
    return X


def set_words(categories):
    """The bitset words of a set of categories (no trailing zero word)."""
    words = np.zeros(max(categories) // 32 + 1, dtype=np.uint32)
    for c in categories:
        words[c // 32] |= np.uint32(1) << np.uint32(c % 32)
    return words


def with_set_splits(arrays, rng, trees=None):
    """A copy of model arrays in which about half the internal nodes of the chosen trees (default:
    the even ones; the others keep numeric splits only) split on a random set of their feature's bins."""
    a = {key: value.copy() if isinstance(value, np.ndarray) else value for key, value in arrays.items()}
    n_bins = np.diff(a["edge_offsets"]) + 1
    n_trees = len(a["tree_offsets"]) - 1
    trees = range(0, n_trees, 2) if trees is None else trees
    offsets, words = [0], []
    chosen = set()
    for t in trees:
        lo, hi = tree_slice(a, t)
        chosen.update(k for k in range(lo, hi) if a["feature"][k] >= 0 and rng.random() < 0.5)
    for k in sorted(chosen):
        bins = int(n_bins[a["feature"][k]])
        categories = rng.choice(bins, size=int(rng.integers(1, bins + 1)), replace=False).tolist()
        words.extend(set_words(categories).tolist())
        offsets.append(len(words))
        a["split_kind"][k], a["bin"][k], a["threshold"][k] = 1, 0, 0.0
    a["cat_offsets"] = np.array(offsets, dtype=np.int64)
    a["cat_words"] = np.array(words, dtype=np.uint32)
    return a


@pytest.fixture(scope="module")
def fitted():
    """(regressor, forest classifier, X): both fitted on training_data, then given set splits."""
    rng = np.random.default_rng(0)
    X, y = training_data(rng)
    regressor = treeforge.HistGradientBoostingRegressor(max_iter=6, max_leaf_nodes=12, random_state=0).fit(X, y)
    forest = treeforge.RandomForestClassifier(n_estimators=5, max_depth=6, random_state=0).fit(X, y > np.median(y))
    for estimator in (regressor, forest):
        estimator._model = _core.Model.from_arrays(with_set_splits(estimator._model.to_arrays(), rng))
        assert len(estimator._model.to_arrays()["cat_offsets"]) > 3
    return regressor, forest, awkward_rows(rng)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_margins_equal_the_reference_walk(fitted, dtype, n_threads):
    for estimator in fitted[:2]:
        model, X = estimator._model, fitted[2].astype(dtype)
        np.testing.assert_array_equal(model.predict_margin(X, n_threads), predict_margin(model.to_arrays(), X))


def test_single_rows_and_small_batches_equal_the_reference_walk(fitted):
    """Fewer rows than lanes: the lanes walk trees, set trees and numeric ones side by side."""
    X = fitted[2]
    for estimator in fitted[:2]:
        model, arrays = estimator._model, estimator._model.to_arrays()
        for lo, hi in [(0, 1), (1, 2), (2, 3), (3, 4), (4, 9), (9, 24)]:
            np.testing.assert_array_equal(model.predict_margin(X[lo:hi], 1), predict_margin(arrays, X[lo:hi]))


def test_leaf_indices_and_apply_equal_the_reference_walk(fitted):
    regressor, forest, X = fitted
    for model in (regressor._model, forest._model):
        np.testing.assert_array_equal(model.predict_leaf(X, 2), predict_leaf(model.to_arrays(), X))
    np.testing.assert_array_equal(forest.apply(X), predict_leaf(forest._model.to_arrays(), X))


def test_training_walk_on_codes_equals_the_reference(fitted):
    """Tree::leaf_of, the bin-space walk of training, with the code of a category being the category."""
    regressor, _, X = fitted
    model = regressor._model
    arrays, mapper = model.to_arrays(), model.bin_mapper
    codes = mapper.transform(X).codes()
    expected = [[leaf_of_codes(arrays, t, row, mapper.n_bins) for t in range(model.n_trees)] for row in codes]
    np.testing.assert_array_equal(_core._testing.tree_leaves(model, mapper.transform(X)), expected)


def test_set_split_sends_exactly_its_categories_left():
    """One stump, one set: its categories go left, the feature's other categories right, and
    values that are no category (NaN, negative, non-integral, past the feature's bins) by default_left."""
    rng = np.random.default_rng(3)
    X, y = training_data(rng)
    stump = treeforge.HistGradientBoostingRegressor(max_iter=1, max_leaf_nodes=2).fit(X, y)
    arrays = stump._model.to_arrays()
    root = 0
    arrays["feature"][root], arrays["split_kind"][root], arrays["bin"][root], arrays["threshold"][root] = 0, 1, 0, 0.0
    arrays["cat_offsets"], arrays["cat_words"] = np.array([0, 3], np.int64), set_words([0, 5, 31, 32, 70])
    assert category_set(arrays, root) == {0, 5, 31, 32, 70}
    for default_left in (0, 1):
        arrays["default_left"][root] = default_left
        model = _core.Model.from_arrays(arrays)
        values = np.array([0, -0.0, 5, 31, 32, 70, 1, 4, 6, 33, 69, 71, 96, 200, 2.0**40, 5.5, 0.5, -5, -1e-300,
                           np.inf, -np.inf, np.nan])
        X_one = np.zeros((values.size, X.shape[1]))
        X_one[:, 0] = values
        n_bins = int(np.diff(arrays["edge_offsets"])[0]) + 1
        known = (values >= 0) & (values < n_bins) & (values == np.floor(np.nan_to_num(values)))
        left = np.where(known, np.isin(values, [0, 5, 31, 32, 70]), bool(default_left))
        np.testing.assert_array_equal(model.predict_leaf(X_one, 1)[:, 0], np.where(left, arrays["left"][root],
                                                                                    arrays["right"][root]))


@pytest.mark.parametrize("estimator_index", [0, 1])
def test_version_2_round_trip_is_exact(fitted, estimator_index, tmp_path, assert_same_model):
    estimator, X = fitted[estimator_index], fitted[2]
    estimator.save_model(tmp_path / "sets.json")
    for loaded in (treeforge.load_model(tmp_path / "sets.json"), pickle.loads(pickle.dumps(estimator))):
        assert_same_model(loaded, estimator)
        predict = loaded.predict_proba if hasattr(loaded, "predict_proba") else loaded.predict
        np.testing.assert_array_equal(predict(X), predict.__func__(estimator, X))


def test_version_1_arrays_load_as_numeric_splits(fitted):
    regressor, X = fitted[0], fitted[2]
    fresh = treeforge.HistGradientBoostingRegressor(max_iter=3).fit(*training_data(np.random.default_rng(1)))
    arrays = fresh._model.to_arrays()
    v1 = {key: value for key, value in arrays.items() if key not in ("split_kind", "cat_offsets", "cat_words")}
    v1["format_version"] = 1
    model = _core.Model.from_arrays(v1)
    np.testing.assert_array_equal(model.predict_margin(X, 1), fresh._model.predict_margin(X, 1))
    again = model.to_arrays()
    assert again["format_version"] == _core.MODEL_FORMAT_VERSION == 2
    assert not again["split_kind"].any() and list(again["cat_offsets"]) == [0] and again["cat_words"].size == 0
    # A version 1 dict cannot hold set splits.
    with pytest.raises(ValueError, match="'split_kind' is not in format version 1"):
        _core.Model.from_arrays({**regressor._model.to_arrays(), "format_version": 1})


def _first_set(a):
    """(node, word range) of the first set split."""
    node = int(np.flatnonzero(a["split_kind"] == 1)[0])
    return node, slice(int(a["cat_offsets"][0]), int(a["cat_offsets"][1]))


def _grow_first_set(a, n_words):
    """Appends n_words zero words to the first set split's set."""
    _, words = _first_set(a)
    a["cat_words"] = np.insert(a["cat_words"], words.stop, np.zeros(n_words, np.uint32))
    a["cat_offsets"][1:] += n_words


def _add_category_past_the_bins(a):
    node, words = _first_set(a)
    category = int(np.diff(a["edge_offsets"])[a["feature"][node]] + 1)  # n_bins of the feature
    _grow_first_set(a, max(0, category // 32 + 1 - (words.stop - words.start)))
    a["cat_words"][words.start + category // 32] |= np.uint32(1) << np.uint32(category % 32)


def _set_node_field(key, value):
    return lambda a: a[key].__setitem__(_first_set(a)[0], value)


DAMAGE = {
    "cat_offsets past the words": (lambda a: a["cat_offsets"].__setitem__(1, 10**9), r"cat_offsets\[1\] = 1000000000"),
    "cat_offsets end past the words": (lambda a: a["cat_offsets"].__setitem__(-1, a["cat_words"].size + 4),
                                       "out of range"),
    "cat_offsets negative": (lambda a: a["cat_offsets"].__setitem__(1, -1), "out of range"),
    "cat_offsets one short": (lambda a: a.update(cat_offsets=a["cat_offsets"][:-1]), "one entry per set split"),
    "split kind 2": (_set_node_field("split_kind", 2), "0 or 1"),
    "set split at a leaf": (lambda a: a["split_kind"].__setitem__(int(np.argmin(a["feature"])), 1),
                            "cat_offsets|leaf"),
    "empty set": (lambda a: a["cat_words"].__setitem__(_first_set(a)[1], 0), "empty"),
    "trailing zero word": (lambda a: _grow_first_set(a, 1), "zero word"),
    "category past the bins": (_add_category_past_the_bins, "not a bin of its feature"),
    "set split with a bin": (_set_node_field("bin", 3), "bin or threshold"),
    "set split with a threshold": (_set_node_field("threshold", 0.5), "bin or threshold"),
    "set split feature out of range": (_set_node_field("feature", N_FEATURES), "feature index out of range"),
    "split_kind short": (lambda a: a.update(split_kind=a["split_kind"][:-1]), "different lengths"),
    "cat_words of int64": (lambda a: a.update(cat_words=a["cat_words"].astype(np.int64)), "cat_words"),
    "split_kind missing": (lambda a: a.pop("split_kind"), "'split_kind' is missing"),
    "unknown field": (lambda a: a.update(cat_sets=np.zeros(1)), "unknown field 'cat_sets'"),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_set_splits_are_refused(fitted, damage):
    edit, match = DAMAGE[damage]
    arrays = fitted[0]._model.to_arrays()
    edit(arrays)
    with pytest.raises(ValueError, match=match):
        _core.Model.from_arrays(arrays)


def test_damaged_set_splits_are_refused_in_files(fitted, tmp_path):
    fitted[0].save_model(tmp_path / "sets.json")
    document = json.loads((tmp_path / "sets.json").read_text())
    document["model"]["cat_offsets"]["__ndarray__"]["data"][1] = 10**9
    document.pop("checksum", None)  # edited on purpose: validated without it
    (tmp_path / "sets.json").write_text(json.dumps(document))
    with pytest.raises(ValueError, match="Invalid treeforge model file.*cat_offsets"):
        treeforge.load_model(tmp_path / "sets.json")


@pytest.fixture(scope="module")
def wide_fitted():
    """A model whose set splits are on a feature of 600 categories (two-byte codes)."""
    rng = np.random.default_rng(11)
    city = rng.integers(0, 600, 6000)
    y = rng.normal(size=600)[city] + 0.1 * rng.normal(size=6000)
    frame = pd.DataFrame({"city": pd.Categorical(city), "x": rng.normal(size=6000)})
    return HistGradientBoostingRegressor(max_iter=5, early_stopping=False).fit(frame, y), frame


def _with_edges(a, feature, edges):
    """The arrays with feature's bin edges replaced."""
    offsets = a["edge_offsets"]
    a["edges"] = np.concatenate([a["edges"][:offsets[feature]], edges, a["edges"][offsets[feature + 1]:]])
    a["edge_offsets"] = np.concatenate([offsets[:feature + 1], offsets[feature + 1:] + len(edges) - np.diff(offsets)[feature]])


def test_a_wide_categorical_model_round_trips_and_is_validated(wide_fitted, tmp_path):
    model, frame = wide_fitted
    arrays = model._model.to_arrays()
    assert np.diff(arrays["edge_offsets"])[0] == 599 and arrays["max_bins"] == 255
    assert arrays["feature"][_first_set(arrays)[0]] == 0
    copy = _core.Model.from_arrays(arrays)
    codes = np.column_stack([frame["city"].cat.codes, frame["x"]]).astype(np.float64)  # categories 0..599 sorted
    np.testing.assert_array_equal(copy.predict_margin(codes, 1, 0, -1), model._model.predict_margin(codes, 1, 0, -1))
    model.save_model(tmp_path / "wide.json")
    np.testing.assert_array_equal(treeforge.load_model(tmp_path / "wide.json").predict(frame), model.predict(frame))
    damaged = model._model.to_arrays()
    _add_category_past_the_bins(damaged)
    with pytest.raises(ValueError, match="not a bin of its feature"):
        _core.Model.from_arrays(damaged)
    for edges in (np.arange(4096) + 0.5, np.linspace(0, 1, 300)):  # 4,097 categories; 301 numeric bins
        damaged = model._model.to_arrays()
        _with_edges(damaged, 0, edges)
        with pytest.raises(ValueError, match="exceed max_bins"):
            _core.Model.from_arrays(damaged)
