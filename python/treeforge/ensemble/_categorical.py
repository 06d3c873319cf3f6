"""Native categorical features, Python side: which features are categorical, their categories (kept by
value), and the translation of values to the codes the core bins (code k is bin k of the feature).

The core never sees a category value, only codes 0..K-1 (``_core.BinMapper(n_categories=...)``).
This module is the one place that turns values into codes, at fit and before every prediction, so
that a model matches categories by value: a frame whose levels are ordered differently, or has
unused extra levels, gives the same codes. An estimator fitted with categorical features holds

- ``is_categorical_``: bool ndarray of shape (n_features,), or None when no feature is categorical;
- ``_categories``: per feature None (numeric) or a 1-D array of its category values in code order;
- ``_category_bins``: per feature 0 (numeric) or K, the codes of the feature (``n_categories``).

Code order: values sorted; above ``MAX_CATEGORIES`` (4,096, the core's bound) categories, the
``MAX_CATEGORIES - 1`` most frequent keep a code each (in sorted order, ties broken by it) and the
rest, sorted after them, share the last code. ``max_bins`` does not bound categories: as in LightGBM,
a categorical feature of 1,000 levels keeps them all (the core gives it two-byte codes).
So the value at position i of ``_categories[f]`` has the code ``min(i, _category_bins[f] - 1)``.
"""

import numbers

import numpy as np
from scipy import sparse
from sklearn.utils.validation import _check_feature_names, _check_n_features, _get_feature_names, check_array

FROM_DTYPE = "from_dtype"
# The float dtypes the core reads; float32 numeric input stays float32 (codes below 2**24 are exact).
_X_DTYPES = [np.float64, np.float32]
_FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))
_ROW_BLOCK = 8192  # rows of a numeric matrix copied at a time: a small temporary that stays in cache
_COUNTED_CODES = 1 << 16  # categories that are integers below this are found by counting, not sorting
# Category values a model file can hold (JSON); anything else is refused at save.
_SAVABLE_TYPES = (str, bool, int, float)
MAX_CATEGORIES = 4096  # the core's kMaxCategories (tests hold them equal)


# --------------------------------------------------------------------------------------------
# Input tables: pandas, polars, pyarrow, or an ndarray
# --------------------------------------------------------------------------------------------


def _table_kind(X):
    """'pandas', 'polars' or 'pyarrow' for a data frame (by the module of its type, without importing
    the library), else None."""
    root = type(X).__module__.split(".")[0]
    if root == "pandas" and getattr(X, "ndim", None) == 2:
        return "pandas"
    if root == "polars" and hasattr(X, "schema"):
        return "polars"
    if root == "pyarrow" and hasattr(X, "column_names") and hasattr(X, "num_columns"):
        return "pyarrow"
    return None


def _as_table(X):
    """(X, kind): a data frame as it is, anything else as a 2-D ndarray (object dtype when it holds
    text, so that numbers in other columns stay numbers)."""
    kind = _table_kind(X)
    if kind is not None:
        return X, kind
    if isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype in _FLOAT_DTYPES:
        return X, "array"  # the common case, without check_array's ~20 us
    if sparse.issparse(X):  # columns are read one at a time: never made dense as a whole
        return check_array(X, accept_sparse="csc", dtype=_X_DTYPES, ensure_all_finite=False), "sparse"
    if not isinstance(X, np.ndarray):
        array = np.asarray(X)
        X = np.asarray(X, dtype=object) if array.dtype.kind in "USV" else array
    return check_array(X, dtype=None, ensure_all_finite=False), "array"


def _n_columns(X, kind):
    return X.num_columns if kind == "pyarrow" else X.shape[1]


def _n_rows(X, kind):
    return X.num_rows if kind == "pyarrow" else X.shape[0]


def _categorical_dtypes(X, kind):
    """Bool mask of the columns whose dtype is categorical: pandas ``category``, polars
    ``Categorical``/``Enum``, pyarrow dictionary."""
    if kind == "pandas":
        return np.array([getattr(dtype, "name", None) == "category" for dtype in X.dtypes], dtype=bool)
    if kind == "polars":
        import polars as pl  # imported already: X is a polars frame

        return np.array([dtype.base_type() in (pl.Categorical, pl.Enum) for dtype in X.schema.dtypes()], dtype=bool)
    import pyarrow as pa

    return np.array([pa.types.is_dictionary(field.type) for field in X.schema], dtype=bool)


def _select_columns(X, kind, columns):
    """The frame (or array) of the given column positions, in the library's own form."""
    if kind == "pandas":
        return X.iloc[:, columns]
    if kind == "polars":
        return X.select([X.columns[j] for j in columns])
    if kind == "pyarrow":
        return X.select([int(j) for j in columns])
    return X[:, columns]


# --------------------------------------------------------------------------------------------
# Which features are categorical
# --------------------------------------------------------------------------------------------


def _mask_from_names(names, X):
    feature_names = _get_feature_names(X)
    if feature_names is None:
        raise ValueError(
            "categorical_features names features, but X has no feature names (fit on a DataFrame "
            "with string column names, or pass integer indices or a boolean mask)."
        )
    feature_names = list(feature_names)
    mask = np.zeros(len(feature_names), dtype=bool)
    for name in names:
        if name not in feature_names:
            raise ValueError(
                f"categorical_features names {name!r}, which is not a feature of X; its features are "
                f"{feature_names}."
            )
        mask[feature_names.index(name)] = True
    return mask


def _mask_from_indices(indices, n_features):
    bad = indices[(indices < 0) | (indices >= n_features)]
    if bad.size:
        raise ValueError(
            f"categorical_features set as integer indices must be in [0, n_features - 1] = "
            f"[0, {n_features - 1}], got {int(bad[0])}."
        )
    mask = np.zeros(n_features, dtype=bool)
    mask[indices] = True
    return mask


def _explicit_mask(categorical_features, X, kind):
    """The bool mask of a mask, indices or names (``categorical_features`` is not None/'from_dtype')."""
    n_features = _n_columns(X, kind)
    given = np.asarray(categorical_features)
    if given.ndim != 1:
        raise ValueError(f"categorical_features must be one-dimensional, got shape {given.shape}.")
    if given.size == 0:
        return None
    if given.dtype.kind == "O" and all(isinstance(item, str) for item in given):
        given = given.astype(str)
    if given.dtype.kind not in "biU":
        kinds = sorted({type(item).__name__ for item in given.tolist()})
        raise ValueError(f"categorical_features must be an array-like of bool, int or str, got {', '.join(kinds)}.")
    if given.dtype.kind == "b":
        if given.shape[0] != n_features:
            raise ValueError(
                f"categorical_features set as a boolean mask must have shape (n_features,) = "
                f"({n_features},), got {given.shape}."
            )
        return given.copy()
    repeated = sorted({item for item in given.tolist() if given.tolist().count(item) > 1})
    if repeated:
        raise ValueError(f"categorical_features lists {repeated[0]!r} more than once.")
    if given.dtype.kind == "U":
        return _mask_from_names(given.tolist(), X)
    return _mask_from_indices(given.astype(np.intp), n_features)


def resolve_categorical_mask(X, categorical_features):
    """Which features of X are categorical, as scikit-learn's HistGradientBoosting documents it.

    Parameters
    ----------
    X : data frame (pandas, polars, pyarrow Table) or 2-D array-like
    categorical_features : 'from_dtype', None, bool mask, int indices or str feature names

    Returns
    -------
    is_categorical : ndarray of shape (n_features,), bool, or None when no feature is categorical
    """
    if categorical_features is None:
        return None
    if isinstance(categorical_features, str):
        if categorical_features != FROM_DTYPE:
            raise ValueError(f"categorical_features={categorical_features!r}: the only string accepted is 'from_dtype'.")
        kind = _table_kind(X)
        mask = None if kind is None else _categorical_dtypes(X, kind)
    else:
        X, kind = _as_table(X)
        mask = _explicit_mask(categorical_features, X, kind)
    return mask if mask is not None and mask.any() else None


# --------------------------------------------------------------------------------------------
# Columns as (levels, index): the distinct values of a column and each row's position among them
# --------------------------------------------------------------------------------------------


def _is_missing(value):
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, NaT
    except TypeError:  # pandas.NA
        return True


def _factorize_objects(values):
    """(levels, index) of a 1-D sequence of Python values; index -1 marks a missing value."""
    lookup, index = {}, np.empty(len(values), dtype=np.intp)
    try:
        for row, value in enumerate(values):
            index[row] = -1 if _is_missing(value) else lookup.setdefault(value, len(lookup))
    except TypeError as exc:  # unhashable values (lists, dicts)
        raise TypeError(f"category values must be hashable: {exc}") from None
    return list(lookup), index


def _unique_small_integers(values):
    """``np.unique(values, return_inverse=True)`` of float64 values that are all integers in
    [0, _COUNTED_CODES), no negative zero among them (codes, counts), by counting instead of sorting:
    15 times faster on a million rows. None for other values."""
    if values.size == 0 or not (values.min() >= 0 and values.max() < _COUNTED_CODES):
        return None
    integers = values.astype(np.intp)
    if not np.array_equal(integers, values) or np.signbit(values).any():
        return None
    levels = np.flatnonzero(np.bincount(integers))
    position = np.zeros(int(levels[-1]) + 1, dtype=np.intp)
    position[levels] = np.arange(len(levels))
    return levels.astype(np.float64), position[integers]


def _factorize_numbers(values, negative_is_missing):
    """(levels, index) of numbers; NaN (and, for numeric dtypes as in scikit-learn, negative values) are missing."""
    values = np.asarray(values, dtype=np.float64)
    missing = np.isnan(values)
    if negative_is_missing:
        missing |= values < 0
    present = values[~missing]
    levels, inverse = _unique_small_integers(present) or np.unique(present, return_inverse=True)
    index = np.full(values.shape[0], -1, dtype=np.intp)
    index[~missing] = inverse.reshape(-1)
    return levels.tolist(), index


def _pandas_levels(column):
    if getattr(column.dtype, "name", None) == "category":
        return column.cat.categories.tolist(), column.cat.codes.to_numpy().astype(np.intp)
    if column.dtype.kind in "biuf":  # numpy and nullable numeric dtypes
        return _factorize_numbers(column.to_numpy(dtype=np.float64, na_value=np.nan), True)
    return _factorize_objects(column.tolist())


def _polars_levels(column):
    import polars as pl  # imported already: the column comes from a polars frame

    if column.dtype.is_numeric() or column.dtype == pl.Boolean:
        return _factorize_numbers(column.cast(pl.Float64).to_numpy(), True)
    return _factorize_objects(column.cast(pl.String).to_list())


def _pyarrow_levels(column):
    import pyarrow as pa
    import pyarrow.compute as pc

    by_dtype = pa.types.is_dictionary(column.type)
    if by_dtype:
        column = pc.cast(column, column.type.value_type)
    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
        values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
        return _factorize_numbers(values, not by_dtype)
    return _factorize_objects(column.to_pylist())


def _column_levels(X, kind, j):
    """(levels, index) of column j: its distinct non-missing values and each row's position among
    them (-1: missing)."""
    if kind == "pandas":
        return _pandas_levels(X.iloc[:, j])
    if kind == "polars":
        return _polars_levels(X.to_series(j))
    if kind == "pyarrow":
        return _pyarrow_levels(X.column(j))
    column = X[:, [j]].toarray().ravel() if kind == "sparse" else X[:, j]
    if column.dtype.kind in "biuf":
        return _factorize_numbers(column, True)
    return _factorize_objects(column.tolist())


# --------------------------------------------------------------------------------------------
# Categories and codes
# --------------------------------------------------------------------------------------------


def _plain(value):
    """A NumPy scalar as the Python value it holds (equal values then hash alike: 1 == 1.0)."""
    return value.item() if isinstance(value, np.generic) else value


def _feature_label(names, j):
    return f"{j} ({names[j]!r})" if names is not None else f"{j}"


def _sorted_values(values, label):
    """The category values in their one deterministic order: sorted text, or sorted numbers."""
    if all(isinstance(value, str) for value in values):
        return sorted(values)
    if all(isinstance(value, numbers.Real) for value in values):
        return sorted(values, key=float)
    try:
        return sorted(values)
    except TypeError:
        kinds = sorted({type(value).__name__ for value in values})
        raise TypeError(
            f"categorical feature {label} holds values of the types {kinds}, which cannot be ordered; "
            "give the column one type (all text or all numbers)."
        ) from None


def _as_value_array(values):
    """Numbers as a numeric array (int64, float64 or bool), anything else as an object array."""
    if values and all(isinstance(value, numbers.Real) for value in values):
        return np.asarray(values)
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _learn_feature(levels, index, max_codes, label):
    """(category values in code order, number of codes) of one column, from the values present.

    Up to ``max_codes`` categories each get a code, in sorted order. Above, the ``max_codes - 1``
    most frequent keep a code (sorted; ties broken by the sorted order) and all rarer ones, sorted
    after them, share the code ``max_codes - 1``.
    """
    counts = np.bincount(index[index >= 0], minlength=len(levels)).tolist()
    tally = {}
    for level, count in zip(levels, counts):
        if count:  # a level no row uses (an unused pandas category) is no category
            level = _plain(level)
            tally[level] = tally.get(level, 0) + count
    values = _sorted_values(list(tally), label)
    if len(values) <= max_codes:
        return _as_value_array(values), max(len(values), 1)
    by_frequency = np.argsort(-np.array([tally[value] for value in values]), kind="stable")
    kept, grouped = np.sort(by_frequency[:max_codes - 1]), np.sort(by_frequency[max_codes - 1:])
    return _as_value_array([values[i] for i in kept] + [values[i] for i in grouped]), max_codes


def _codes_of(levels, index, values, n_codes):
    """The codes of a column as float64 (NaN for missing values and unseen categories)."""
    code_of = {value: min(position, n_codes - 1) for position, value in enumerate(values.tolist())}
    table = np.array([code_of.get(_plain(level), np.nan) for level in levels] + [np.nan], dtype=np.float64)
    return table[index]  # index -1 (missing) picks the NaN appended last


def _assemble(X, kind, is_categorical, codes):
    """The float matrix the core reads: numeric columns converted as scikit-learn converts them
    (text in them stays an error), categorical columns from ``codes`` ({column: codes})."""
    if kind == "sparse":
        return _assemble_sparse(X, is_categorical, codes)
    numeric = np.flatnonzero(~is_categorical)
    dtype, part, part_columns = np.float64, None, slice(None)
    if numeric.size:
        if kind == "array" and X.dtype in _FLOAT_DTYPES:  # copied block by block below, without a temporary
            part, part_columns = X, numeric
        else:
            part = check_array(_select_columns(X, kind, numeric), dtype=_X_DTYPES, ensure_all_finite=False)
        dtype = part.dtype
    n_rows = _n_rows(X, kind)
    if n_rows == 0:
        raise ValueError(f"Found array with 0 sample(s) (shape=(0, {is_categorical.shape[0]})) while a minimum "
                         "of 1 is required.")
    encoded = np.empty((n_rows, is_categorical.shape[0]), dtype=dtype)
    for start in range(0, n_rows if part is not None else 0, _ROW_BLOCK):
        encoded[start:start + _ROW_BLOCK, numeric] = part[start:start + _ROW_BLOCK, part_columns]
    for j, column in codes.items():
        encoded[:, j] = column
    return encoded


def _assemble_sparse(X, is_categorical, codes):
    """_assemble of a sparse X: its numeric columns' stored values kept, each categorical column's
    codes stored where they are not 0, as CSR (memory follows the stored values)."""
    X = X.tocoo()
    keep = ~is_categorical[X.col]
    rows, columns, values = [X.row[keep]], [X.col[keep]], [X.data[keep]]
    for j, column in codes.items():
        stored = np.flatnonzero(column != 0)  # NaN too: a missing value or an unseen category
        rows.append(stored)
        columns.append(np.full(stored.shape[0], j))
        values.append(column[stored])
    data = np.concatenate(values).astype(X.dtype if X.dtype in _FLOAT_DTYPES else np.float64, copy=False)
    return sparse.csr_matrix((data, (np.concatenate(rows), np.concatenate(columns))), shape=X.shape)


def _indices(mask):
    return None if mask is None else np.flatnonzero(mask).tolist()


def encode_training_features(estimator, X, categorical_features, *, reuse, max_codes=MAX_CATEGORIES):
    """Learn the categories of X (or reuse the fitted ones) and return X with codes.

    Sets ``is_categorical_``, ``_categories`` and ``_category_bins`` on ``estimator``.

    Parameters
    ----------
    X : data frame or array-like of shape (n_samples, n_features)
    categorical_features : see ``resolve_categorical_mask``
    reuse : bool
        Keep the categories of the previous fit (warm start): the categorical features must be the same.
    max_codes : int
        Codes a categorical feature may have at most (the rarest categories share the last one).

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64 or float32, C-contiguous, or None when no
        feature is categorical (then X is validated as numbers, as before).
    """
    is_categorical = resolve_categorical_mask(X, categorical_features)
    previous = getattr(estimator, "is_categorical_", None) if reuse else None
    if reuse and _indices(previous) != _indices(is_categorical):
        raise ValueError(
            f"warm_start=True continues a model whose categorical features are {_indices(previous)}, "
            f"but those of X are {_indices(is_categorical)}; categorical_features and the column "
            "dtypes must stay as they were."
        )
    if is_categorical is None:
        estimator.is_categorical_ = estimator._categories = estimator._category_bins = None
        return None
    names = _get_feature_names(X)
    X, kind = _as_table(X)
    n_features = is_categorical.shape[0]
    categories = list(estimator._categories) if reuse else [None] * n_features
    bins = list(estimator._category_bins) if reuse else [0] * n_features
    codes = {}
    for j in np.flatnonzero(is_categorical).tolist():
        levels, index = _column_levels(X, kind, j)
        if not reuse:
            categories[j], bins[j] = _learn_feature(levels, index, max_codes, _feature_label(names, j))
        codes[j] = _codes_of(levels, index, categories[j], bins[j])
    encoded = _assemble(X, kind, is_categorical, codes)
    estimator.is_categorical_, estimator._categories, estimator._category_bins = is_categorical, categories, bins
    return encoded


def encode_features(estimator, X):
    """X of a fitted estimator with categorical features, its categories turned into codes by value.

    Checks the number and names of the features as scikit-learn does. Unseen categories and missing
    values become NaN (they follow each split's missing direction).

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64 or float32, C-contiguous
    """
    _check_feature_names(estimator, X, reset=False)
    X, kind = _as_table(X)
    _check_n_features(estimator, X, reset=False)
    codes = {
        j: _codes_of(*_column_levels(X, kind, j), estimator._categories[j], estimator._category_bins[j])
        for j in np.flatnonzero(estimator.is_categorical_).tolist()
    }
    return _assemble(X, kind, estimator.is_categorical_, codes)


# --------------------------------------------------------------------------------------------
# Model files
# --------------------------------------------------------------------------------------------


def check_savable_categories(estimator):
    """TypeError naming the feature when a category value has no place in a model file (JSON)."""
    categories = getattr(estimator, "_categories", None) or ()
    names = getattr(estimator, "feature_names_in_", None)
    for j, values in enumerate(categories):
        bad = [] if values is None else [v for v in values.tolist() if not isinstance(v, _SAVABLE_TYPES)]
        if bad:
            raise TypeError(
                f"categorical feature {_feature_label(names, j)} has the category {bad[0]!r} of type "
                f"{type(bad[0]).__name__}; model files hold str, int, float and bool categories only: "
                "convert the column before fitting, or pickle the estimator."
            )


def _check_feature_categories(j, flag, values, n_codes):
    if not flag:
        if values is not None or n_codes != 0:
            raise ValueError(f"feature {j} is not categorical but has categories.")
        return
    fits = isinstance(values, np.ndarray) and values.ndim == 1 and type(n_codes) is int and 1 <= n_codes <= MAX_CATEGORIES
    if not fits or not (len(values) >= n_codes or (len(values) == 0 and n_codes == 1)):
        raise ValueError(f"the categories of feature {j} do not match its {n_codes!r} codes.")


def check_restored_categories(estimator):
    """ValueError unless the categorical attributes read from a model file agree with each other."""
    is_categorical = getattr(estimator, "is_categorical_", None)
    categories = getattr(estimator, "_categories", None)
    bins = getattr(estimator, "_category_bins", None)
    if is_categorical is None:
        if categories is not None or bins is not None:
            raise ValueError("_categories are given but is_categorical_ is None.")
        estimator.is_categorical_ = estimator._categories = estimator._category_bins = None
        return
    n_features = estimator.n_features_in_
    is_categorical = np.asarray(is_categorical)
    if (is_categorical.dtype != bool or is_categorical.shape != (n_features,) or not isinstance(categories, list)
            or not isinstance(bins, list) or len(categories) != n_features or len(bins) != n_features):
        raise ValueError("is_categorical_, _categories and _category_bins do not describe n_features_in_ features.")
    for j in range(n_features):
        _check_feature_categories(j, bool(is_categorical[j]), categories[j], bins[j])
    estimator.is_categorical_ = is_categorical
