"""Model files: versioned JSON of parameters, fitted attributes and core arrays; atomic save, validated load.

A file has one version: the model format version of the core (``_core.MODEL_FORMAT_VERSION``),
written both as the document's ``version`` and as its model's ``format_version`` (which pickles
carry too), and the two must agree. Every save writes the current version; files of every
earlier version load. The model's fields are whatever ``Model.to_arrays`` returns: this module
lists none of them (the core's one field list says which each version has).

- version 1: numeric splits only.
- version 2: adds ``split_kind``, ``cat_offsets`` and ``cat_words`` (category-set splits).

Every save writes a ``checksum`` (sha256 of the rest of the document, serialised canonically), and
a file that has one loads only if it matches: a flipped byte cannot change predictions silently.
Files without the key (written before it, or hand-edited with it removed) are validated as before.

An estimator with categorical features also stores, among its fitted attributes, ``is_categorical_``,
``_categories`` (each categorical feature's values in code order: str, int, float or bool) and
``_category_bins`` (its number of codes), so that a loaded model matches categories by value;
files without them hold numeric features only.
"""

import contextlib
import hashlib
import json
import math
import os
import re
import stat
from typing import NamedTuple

import numpy as np

from .. import _core
from .._files import atomic_write

FORMAT_NAME = "treeforge"
FORMAT_VERSION = _core.MODEL_FORMAT_VERSION

# Allow-list of the estimator classes a file may name: filled by @register_estimator in the
# estimator modules (``treeforge.load_model`` and the command line import them all before a load);
# names are never imported or evaluated. This module imports no scikit-learn at import time: the
# command line's ``info`` reads files through ``read_model_file`` without the estimators.
_ESTIMATORS = {}

# Array dtypes a file may declare (byte order, kind, item size); "object" holds str/number/bool.
_DTYPE_PATTERN = re.compile(r"[<>|=]?(b1|i[1248]|u[1248]|f[48]|U[0-9]{1,4})")
# JSON has no NaN/Infinity: non-finite floats are written as these strings inside arrays.
_NONFINITE_TO_TEXT = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}
_TEXT_TO_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_ARRAY_TAG, _FLOAT_TAG, _ITEMS_TAG = "__ndarray__", "__float__", "__items__"


def register_estimator(cls):
    """Class decorator: allow model files to name ``cls`` (by its class name)."""
    _ESTIMATORS[cls.__name__] = cls
    return cls


class _NotSerializable(TypeError):
    """A value with no JSON form (a RandomState, a callable...)."""


# --------------------------------------------------------------------------------------------
# Values <-> JSON
# --------------------------------------------------------------------------------------------


def _encode_float(value):
    return value if math.isfinite(value) else {_FLOAT_TAG: _NONFINITE_TO_TEXT[repr(value)]}


def _encode_array(array):
    if array.dtype == object:
        items = [_encode_value(item) for item in array.reshape(-1).tolist()]
        if any(isinstance(item, (dict, list)) for item in items):
            raise _NotSerializable("object arrays may only hold str, numbers, bool or None")
        dtype = "object"
    elif _DTYPE_PATTERN.fullmatch(array.dtype.str):
        items = array.reshape(-1).tolist()  # Python floats: repr round-trips float64 exactly
        if array.dtype.kind == "f":
            items = [v if math.isfinite(v) else _NONFINITE_TO_TEXT[repr(v)] for v in items]
        dtype = array.dtype.str
    else:
        raise _NotSerializable(f"arrays of dtype {array.dtype} cannot be saved")
    return {_ARRAY_TAG: {"dtype": dtype, "shape": list(array.shape), "data": items}}


def _encode_value(value):
    """Plain JSON for None/bool/int/str/float/list/dict; tagged objects for arrays and the rest."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic):
        value = value.item()
        if not isinstance(value, (bool, int, float, str)):
            raise _NotSerializable(f"NumPy scalar {value!r}")
        return _encode_value(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return _encode_float(float(value))
    if isinstance(value, np.ndarray):
        return _encode_array(value)
    if isinstance(value, (list, tuple)):
        return [_encode_value(item) for item in value]
    if isinstance(value, dict):
        if all(isinstance(key, str) and not key.startswith("__") for key in value):
            return {key: _encode_value(item) for key, item in value.items()}
        return {_ITEMS_TAG: [[_encode_value(key), _encode_value(item)] for key, item in value.items()]}
    raise _NotSerializable(f"{type(value).__name__} value {value!r}")


def _decode_array(spec):
    if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "data"}:
        raise ValueError("an array must have exactly the keys dtype, shape and data")
    dtype, shape, data = spec["dtype"], spec["shape"], spec["data"]
    if not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape):
        raise ValueError(f"bad array shape {shape!r}")
    if not isinstance(data, list) or len(data) != math.prod(shape):
        raise ValueError(f"array data does not have {math.prod(shape)} elements")
    if dtype == "object":
        if not all(item is None or type(item) in (str, int, float, bool) for item in data):
            raise ValueError("object arrays may only hold str, numbers, bool or None")
        array = np.empty(len(data), dtype=object)
        array[:] = data
        return array.reshape(shape)
    if not isinstance(dtype, str) or not _DTYPE_PATTERN.fullmatch(dtype):
        raise ValueError(f"unsupported array dtype {dtype!r}")
    kind = np.dtype(dtype).kind
    allowed = {"b": (bool,), "i": (int,), "u": (int,), "f": (int, float), "U": (str,)}[kind]
    if kind == "f":
        data = [_TEXT_TO_NONFINITE.get(item, item) if isinstance(item, str) else item for item in data]
    if not all(type(item) in allowed for item in data):
        raise ValueError(f"array of dtype {dtype} holds values of another type")
    return np.array(data, dtype=dtype).reshape(shape)


def _decode_value(value):
    if isinstance(value, list):
        return [_decode_value(item) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {_ARRAY_TAG}:
        return _decode_array(value[_ARRAY_TAG])
    if set(value) == {_FLOAT_TAG}:
        if value[_FLOAT_TAG] not in _TEXT_TO_NONFINITE:
            raise ValueError(f"bad non-finite float {value[_FLOAT_TAG]!r}")
        return _TEXT_TO_NONFINITE[value[_FLOAT_TAG]]
    if set(value) == {_ITEMS_TAG}:
        pairs = value[_ITEMS_TAG]
        if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise ValueError("a tagged mapping must be a list of [key, value] pairs")
        return {_hashable(_decode_value(key)): _decode_value(item) for key, item in pairs}
    return {key: _decode_value(item) for key, item in value.items()}


def _hashable(key):
    if isinstance(key, (list, dict, np.ndarray)):
        raise ValueError(f"unhashable mapping key {key!r}")
    return key


# --------------------------------------------------------------------------------------------
# Documents
# --------------------------------------------------------------------------------------------


def _document_of(estimator, metadata):
    """The JSON-ready dict of a fitted estimator."""
    from ._categorical import check_savable_categories

    check_savable_categories(estimator)  # a category value JSON cannot hold is named, not a bare TypeError
    params = {}
    for name, value in estimator.get_params(deep=False).items():
        with contextlib.suppress(_NotSerializable):  # e.g. a RandomState: the default is stored
            params[name] = _encode_value(value)
    fitted = {
        name: _encode_value(getattr(estimator, name))
        for name in estimator._io_fitted_attributes
        if hasattr(estimator, name)
    }
    model = {str(key): _encode_value(value) for key, value in estimator._model_to_arrays().items()}
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}.")
    try:
        metadata = _encode_value(metadata)
    except _NotSerializable as exc:
        raise TypeError(f"metadata is not JSON-serialisable: {exc}") from None
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "estimator": type(estimator).__name__,
        "params": params,
        "fitted": fitted,
        "model": model,
        "metadata": metadata,
    }


CHECKSUM_KEY = "checksum"


def content_checksum(document):
    """'sha256:<hex>' of the document without its checksum, serialised canonically (sorted keys)."""
    body = {key: value for key, value in document.items() if key != CHECKSUM_KEY}
    text = json.dumps(body, allow_nan=False, separators=(",", ":"), sort_keys=True)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check_checksum(document):
    if CHECKSUM_KEY in document and document[CHECKSUM_KEY] != content_checksum(document):
        raise ValueError("the checksum does not match the content: the file was changed or damaged (a file "
                         "edited on purpose must drop its 'checksum' key)")


def _required(document, key, kind):
    if key not in document:
        raise ValueError(f"missing key {key!r}")
    value = document[key]
    if not isinstance(value, kind):
        raise ValueError(f"{key!r} must be a {kind.__name__}, got {type(value).__name__}")
    return value


class ModelFile(NamedTuple):
    """A model file's parts, decoded and checked as far as they can be without its estimator class."""

    estimator: str  # the class name the file gives (not checked against the allow-list here)
    params: dict
    fitted: dict  # fitted attribute -> value
    model: dict  # the core's arrays, validated by ``_core.Model.from_arrays`` when built
    metadata: dict


def _model_file_of(document):
    """The ``ModelFile`` of a parsed document: checksum, format and versions checked, values decoded."""
    if not isinstance(document, dict):
        raise ValueError("the top level is not a JSON object")
    _check_checksum(document)
    if document.get("format") != FORMAT_NAME:
        raise ValueError(f"format is {document.get('format')!r}, expected {FORMAT_NAME!r}")
    version = document.get("version")
    if type(version) is not int or not 1 <= version <= FORMAT_VERSION:
        raise ValueError(f"unsupported version {version!r} (this treeforge reads versions 1 to {FORMAT_VERSION})")
    name = _required(document, "estimator", str)
    params = _decode_value(_required(document, "params", dict))
    fitted = _decode_value(_required(document, "fitted", dict))
    model = _decode_value(_required(document, "model", dict))
    model_version = model.get("format_version")
    if model_version != version:
        raise ValueError(f"the model's format_version {model_version!r} is not the file's version {version}")
    return ModelFile(name, params, fitted, model, _decode_value(_required(document, "metadata", dict)))


def _estimator_of(document):
    """Rebuild and validate the estimator of a parsed document; returns (estimator, metadata)."""
    parts = _model_file_of(document)
    name = parts.estimator
    if name not in _ESTIMATORS:
        raise ValueError(f"unknown estimator {name!r}; expected one of {sorted(_ESTIMATORS)}")
    cls = _ESTIMATORS[name]

    estimator = cls()
    unknown = sorted(set(parts.params) - set(estimator.get_params(deep=False)))
    if unknown:
        raise ValueError(f"unknown parameters {unknown} for {name}")
    estimator.set_params(**parts.params)
    estimator._validate_params()

    optional = {"feature_names_in_", *getattr(cls, "_io_optional_attributes", ())}
    missing = sorted(set(cls._io_fitted_attributes) - optional - set(parts.fitted))
    if missing:
        raise ValueError(f"missing fitted attributes {missing}")
    unexpected = sorted(set(parts.fitted) - set(cls._io_fitted_attributes))
    if unexpected:
        raise ValueError(f"unexpected fitted attributes {unexpected}")
    for attribute, value in parts.fitted.items():
        setattr(estimator, attribute, value)

    estimator._model_from_arrays(parts.model)
    estimator._check_restored()
    return estimator, parts.metadata


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def save_model(estimator, path, metadata=None):
    """Write a fitted treeforge estimator to ``path`` as a versioned JSON model file.

    The file is written to a temporary file in the same directory, flushed and fsynced, then
    renamed over ``path``: readers never see a partial file, and on any error the temporary
    file is removed and an existing file at ``path`` is left untouched. A process killed
    mid-save leaves its temporary file (``.<name>.<pid>.<random>.treeforge-tmp``) behind; the
    next successful save of the same path removes it. A symbolic link at ``path`` stays a link:
    the file it points to is replaced. Errors name ``path``, not the temporary file.

    Parameters
    ----------
    estimator : fitted treeforge estimator
    path : str or os.PathLike
    metadata : dict or None
        Free JSON-serialisable information (the CLI stores the target name, task, ignored
        columns and category mappings here); read back by :func:`load_model_with_metadata`.
    """
    from sklearn.utils.validation import check_is_fitted

    if _ESTIMATORS.get(type(estimator).__name__) is not type(estimator):
        raise TypeError(f"{type(estimator).__name__} is not a treeforge estimator that can be saved.")
    check_is_fitted(estimator)
    loss = getattr(estimator, "loss", None)
    if callable(loss):  # a file holds data, never code: loading it could not rebuild the loss
        raise ValueError(f"{type(estimator).__name__} was trained with the callable loss "
                         f"{getattr(loss, '__name__', type(loss).__name__)!r}, which a model file cannot hold; "
                         "pickle the estimator instead (with its loss importable).")
    document = _document_of(estimator, metadata)  # every encoding error happens before any I/O
    document[CHECKSUM_KEY] = content_checksum(document)

    atomic_write(path, lambda handle: json.dump(document, handle, allow_nan=False, separators=(",", ":")), text=True)


def loadable_model_bytes():
    """The largest model file this machine can load: parsing holds the bytes, the text and the
    parsed values at once, about four times the file, so a quarter of the physical memory
    (None where the platform does not say)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 4
    except (AttributeError, ValueError, OSError):
        return None


def _read_model_bytes(path):
    """The file's bytes, refusing early what cannot be a model file: anything but a regular file
    (a FIFO would block, /dev/zero never end), a file too large to load (it would exhaust memory
    before failing) and content that does not open a JSON object."""
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"Invalid treeforge model file {path!r}: not a regular file")
    limit = loadable_model_bytes()
    if limit is not None and info.st_size > limit:
        raise ValueError(f"Invalid treeforge model file {path!r}: {info.st_size} bytes, more than this machine "
                         f"can load ({limit} bytes, a quarter of its memory: parsing needs about four times the file)")
    with open(path, "rb") as handle:
        head = handle.read(64)
        if not head.lstrip(b" \t\r\n").startswith(b"{"):
            raise ValueError(f"Invalid treeforge model file {path!r}: it does not start with a JSON object")
        return head + handle.read()


def _read_model_file(path, read_document):
    """``read_document(parsed JSON)`` of the file ``path``; ValueError naming the file and the problem."""
    path = os.fspath(path)
    raw = _read_model_bytes(path)
    try:
        document = json.loads(raw.decode("utf-8"))
        return read_document(document)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError, RecursionError) as exc:
        # JSONDecodeError, UnicodeDecodeError and the core's validation errors are ValueErrors too.
        raise ValueError(f"Invalid treeforge model file {path!r}: {exc}") from exc


def read_model_file(path):
    """The ``ModelFile`` of ``path`` without rebuilding its estimator (nor importing scikit-learn):
    checksum, format, versions and values checked; the estimator's name, parameters and fitted
    attributes are not, and the core's arrays are checked only when a ``Model`` is built of them.
    ValueError as :func:`load_model_with_metadata` raises."""
    return _read_model_file(path, _model_file_of)


def load_model_with_metadata(path):
    """:func:`load_model`, also returning the ``metadata`` dict given to :func:`save_model`.

    Any invalid file (truncated, corrupted, hand-edited, another version, an unknown estimator)
    raises ValueError naming the problem; the estimator is ``(estimator, metadata)[0]``.
    """
    return _read_model_file(path, _estimator_of)


def load_model(path):
    """Load a fitted estimator from a model file written by ``estimator.save_model(path)``.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    estimator : fitted treeforge estimator
        Predicts exactly as the saved one.

    Raises
    ------
    ValueError
        If the file is not a valid treeforge model file; the message names the problem.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import load_diabetes
    >>> import treeforge
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = treeforge.HistGradientBoostingRegressor(max_iter=10).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.json")
    >>> model.save_model(path)
    >>> bool((treeforge.load_model(path).predict(X) == model.predict(X)).all())
    True
    """
    return load_model_with_metadata(path)[0]
