"""CSV tables for the command line: columns to arrays, feature and target columns (files are read by ``_csv``).

Column rules:

- A feature column of numbers is numeric. A column of text is categorical (its codes are the
  positions of its values in their sorted order, which the estimator gets as native categorical
  features, split on sets of values; a value unseen in training becomes missing, with a warning),
  unless at least ``NUMERIC_SHARE`` of its values are numbers: then the others are typos and the
  first one is an error naming its line and column. Booleans are 0/1, dates are seconds since 1970.
- A text or boolean target holds class labels; rows with a missing target are dropped, with a note.
- A column with no name in the header (``DataFrame.to_csv`` writes the row index so; pandas reads it
  back as ``Unnamed: 0``), or one of integers that are exactly the row numbers (0..n-1 or 1..n), is
  an index, not a feature: it is left out, with a note, unless ``keep_index`` is set; the model's
  metadata lists it among the known columns, so that a file to predict may hold it too.
"""

import math
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# The CSV layer, re-exported: the command line reads files through this module.
from ._csv import (  # noqa: F401
    COMMA_NUMBER,
    MISSING_MARKERS,
    POINT_NUMBER,
    CsvFile,
    DataError,
    tell,
    check_input_file,
    did_you_mean,
    is_unnamed,
    read_csv,
    release_reading_memory,
    shown,
)
from ._formats import LIBSVM_TARGET, read_table  # noqa: F401

NUMERIC_SHARE = 0.9
_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|infinity|nan)$"
_NUMBER_WITH_COMMA = _NUMBER.replace(r"\.", ",")
# The feature matrix is filled from _COLUMN_GROUP converted columns at a time, in blocks of
# _ROW_BLOCK rows: a block stays in cache, faster than writing whole strided columns (1,000,000 x 28:
# 0.13 s against 0.20 s; 8 columns at a time take 0.08 s but hold 4 times the memory, which was the
# peak of `train` on 1,000,000 x 9).
_COLUMN_GROUP = 2
_ROW_BLOCK = 8192
_MAX_INTEGER_CLASSES = 10  # an integer target with at most this many values is inferred multiclass
# A categorical column with more levels than this and than half the rows is named before training.
_MANY_LEVELS = 50


# --------------------------------------------------------------------------------------------
# Columns
# --------------------------------------------------------------------------------------------


def _trimmed_text(column):
    """Text column with surrounding spaces removed; blank values become missing."""
    text = pc.utf8_trim_whitespace(column)
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def column_to_float(table, name, source, *, strict, hint=""):
    """The column as float64 with NaN for missing values, or None for a column of text.

    Parameters
    ----------
    table : pyarrow.Table
    name : str
    source : CsvFile
        Names the line of a bad value.
    strict : bool
        Any text value is an error (a numeric feature at predict time, a regression target);
        otherwise only when ``NUMERIC_SHARE`` of the values are numbers.
    hint : str
        Appended to the error message.

    Returns
    -------
    values : ndarray of shape (n_rows,), float64, or None
    """
    column = table.column(name)
    kind = column.type
    if _is_text(kind):
        column = _numbers_of_text(_trimmed_text(column), name, source, strict=strict, hint=hint)
        if column is None:
            return None
    elif pa.types.is_date(kind) or pa.types.is_timestamp(kind):
        column = pc.cast(pc.cast(column, pa.timestamp("s")), pa.int64())
    elif pa.types.is_null(kind):
        return np.full(table.num_rows, np.nan)
    elif not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
              or pa.types.is_decimal(kind)):
        if strict:
            raise DataError(f"{source.path}, column {shown(name)}: values of type {kind} are not numbers{hint}")
        return None
    values = pc.fill_null(pc.cast(column, pa.float64()), math.nan)
    return values.to_numpy()


def _is_text(kind):
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _numbers_of_text(text, name, source, *, strict, hint=""):
    """Trimmed ``text`` of column ``name`` as text pyarrow casts to numbers (decimal commas made points),
    or None when it is text (``column_to_float``'s rule); DataError for a value that is not a number."""
    has_comma = source.decimal == ","
    is_number = pc.match_substring_regex(text, _NUMBER_WITH_COMMA if has_comma else _NUMBER, ignore_case=True)
    n_values = len(is_number) - is_number.null_count
    n_numbers = pc.sum(is_number).as_py() or 0
    if n_numbers < n_values:
        if not strict and n_numbers < NUMERIC_SHARE * n_values:
            return None
        row_idx = pc.index(is_number, False).as_py()
        raise DataError(f"{source.where(row_idx, name)}: {text[row_idx].as_py()!r} is not a number{hint}")
    return pc.replace_substring(text, ",", ".") if has_comma else text


def column_to_text(table, name):
    """The column as trimmed text (pyarrow ChunkedArray of string; missing values are null)."""
    column = table.column(name)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = pc.cast(column, pa.string())
    return _trimmed_text(column)


def encoded_text(table, name):
    """``column_to_text`` as codes: (codes, values, counts) where ``values`` are the column's distinct
    trimmed values, sorted (a list of str), ``codes`` (int32, one a row) their positions, -1 missing
    (null or blank), and ``counts`` the rows of each value.

    One hashing pass over the rows (pyarrow's dictionary encoding); trimming, sorting and every test of
    the values then run over the distinct values only, not over every row.
    """
    column = table.column(name)
    if not _is_text(column.type):
        column = pc.cast(column, pa.string())
    encoded = pc.dictionary_encode(column).unify_dictionaries().combine_chunks()
    trimmed = _trimmed_text(encoded.dictionary)  # raw values differing only in spaces trim to one
    values = sorted(pc.unique(trimmed).drop_null().to_pylist())
    position = pc.index_in(trimmed, value_set=pa.array(values, pa.string()))
    lookup = np.append(pc.fill_null(position, -1).to_numpy(zero_copy_only=False), -1).astype(np.int32)
    codes = lookup[pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)]  # a null row: -1
    return codes, values, np.bincount(codes + 1, minlength=len(values) + 1)[1:]


def _values_matching(values, pattern, ignore_case=False):
    """Which of ``values`` (a list of str) match the regular expression: a bool ndarray."""
    matches = pc.match_substring_regex(pa.array(values, pa.string()), pattern, ignore_case=ignore_case)
    return matches.to_numpy(zero_copy_only=False).astype(bool)


def _first_row_of(codes, is_chosen):
    """The first row whose code is one of the values ``is_chosen`` marks (never a missing one)."""
    return int(np.flatnonzero(np.append(is_chosen, False)[codes])[0])


def _is_categorical_text(encoded, name, source, hint):
    """``_numbers_of_text``'s rule for ``encoded_text``: True for a column of text, False for one of numbers,
    DataError for numbers with a few values that are not (``NUMERIC_SHARE``)."""
    codes, values, counts = encoded
    pattern = _NUMBER_WITH_COMMA if source.decimal == "," else _NUMBER
    is_number = _values_matching(values, pattern, ignore_case=True)
    n_values, n_numbers = int(counts.sum()), int(counts[is_number].sum())
    if n_numbers == n_values:
        return False
    if n_numbers < NUMERIC_SHARE * n_values:
        return True
    row_idx = _first_row_of(codes, ~is_number)
    raise DataError(f"{source.where(row_idx, name)}: {values[codes[row_idx]]!r} is not a number{hint}")


# --------------------------------------------------------------------------------------------
# Tables -> arrays: features, target, weights
# --------------------------------------------------------------------------------------------


def require_columns(table, source, names, what, features_too=False):
    """Raise DataError for the first of ``names`` that is not a column, suggesting the nearest one.
    A LibSVM file's features are columns only where ``features_too`` (--ignore, --categorical)."""
    columns = set(table.column_names)
    for name in names:
        if name in columns or (features_too and name in source.sparse_columns):
            continue
        if name in source.sparse_columns:
            raise DataError(f"{what} column '{name}' is a feature of the LibSVM file {source.path}, whose other "
                            f"columns are {' and '.join(repr(name) for name in table.column_names)}")
        raise DataError(f"{what} column '{name}' is not in {source.path}" + did_you_mean(name, table.column_names))


def column_names(table, source):
    """The names of a file's columns in file order: the table's, and a LibSVM file's features after them."""
    if not source.sparse_columns:
        return table.column_names
    sparse = source.sparse_columns
    return [name for name in table.column_names if name not in sparse] + list(sparse)


def infer_schema(table, source, target, ignore, weight, categorical, console=None, keep_index=False, group=None):
    """Feature columns of a training table and the categories of the categorical ones.

    Parameters
    ----------
    table : pyarrow.Table
    source : CsvFile
    target : str
    ignore, categorical : list of str
        Columns left out, and columns made categorical whatever they hold.
    weight, group : str or None
        The columns of sample weights and of query ids (ranking).
    console : object with ``note(str)`` and ``warn(str)``, or None (silent)
    keep_index : bool
        Keep index columns (no name, or the row numbers) as features instead of leaving them out.

    Returns
    -------
    schema : dict
        ``features`` (list of str, file order), ``categories`` ({feature: sorted list of str}),
        ``index_columns`` (the index columns left out) and ``known`` (the target, ignored, weight,
        query id and index columns, skipped silently at predict time).
    """
    require_columns(table, source, [target], "target")
    require_columns(table, source, ignore, "--ignore", features_too=True)
    require_columns(table, source, [weight] if weight else [], "--weight")
    require_columns(table, source, [group] if group else [], "--group")
    require_columns(table, source, categorical, "--categorical", features_too=True)
    if target in ignore or target in (weight, group):
        raise DataError(f"the target column '{target}' cannot also be ignored, the weight or the query id")
    left_out = {target, weight, group, *ignore}
    features = [name for name in column_names(table, source) if name not in left_out]
    index_columns = [] if keep_index else index_columns_of(table, features, categorical, console)
    features = [name for name in features if name not in index_columns]
    if not features:
        kept = " (--keep-index-column keeps the index columns)" if index_columns else ""
        raise DataError(f"{source.path}: no feature column is left besides the target, weight, "
                        f"ignored and index columns{kept}")
    hint = " (the rest of the column is numeric: fix it, add it to --na-values, or pass --categorical)"
    categories = {}
    for name in features:
        if name in source.sparse_columns and name not in categorical:  # a LibSVM file's features: numbers
            continue
        kind = table.column(name).type
        is_numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
        encoded = encoded_text(table, name) if name in categorical or _is_text(kind) else None  # trimmed once
        if encoded is not None:
            is_categorical = name in categorical or _is_categorical_text(encoded, name, source, hint)
        else:
            is_categorical = not is_numeric and column_to_float(table, name, source, strict=False, hint=hint) is None
        if is_categorical:
            encoded = encoded if encoded is not None else encoded_text(table, name)
            if name not in categorical:
                _refuse_numbers_with_the_other_decimal_mark(table, name, source, encoded=encoded)
            values = categories[name] = encoded[1]
            if len(values) > 0.5 * table.num_rows and len(values) > _MANY_LEVELS:
                tell(console, "note", f"column {shown(name)} has {len(values)} distinct values in "
                                       f"{table.num_rows} rows: an identifier? (--ignore {name})")
    known = [target, *ignore, *([weight] if weight else []), *([group] if group else []), *index_columns]
    return {"features": features, "categories": categories, "known": known, "index_columns": index_columns}


def _refuse_numbers_with_the_other_decimal_mark(table, name, source, what="categories", keep=None, encoded=None):
    """DataError if ``NUMERIC_SHARE`` of a text column are numbers written with the decimal mark the
    file is not read with (a comma, or a point under ``--decimal ,``): never text by accident.

    ``what`` says what the column would become; ``keep`` how to keep it so (default: --categorical);
    ``encoded``: the column's ``encoded_text``, if computed already.
    """
    other, mark, pattern = (".", "point", POINT_NUMBER) if source.decimal == "," else (",", "comma", COMMA_NUMBER)
    codes, values, counts = encoded_text(table, name) if encoded is None else encoded
    is_number = _values_matching(values, pattern)
    n_values = int(counts.sum())
    if n_values and int(counts[is_number].sum()) >= NUMERIC_SHARE * n_values:
        example = values[codes[_first_row_of(codes, is_number)]]
        keep = keep or f"--categorical {name} keeps them as categories"
        raise DataError(f"{source.path}, column {shown(name)}: numbers written with a decimal {mark} (e.g. "
                        f"{example!r}) would become {what}: --decimal {other} reads them as numbers; {keep}")


def index_columns_of(table, names, categorical=(), console=None):
    """The columns of ``names`` that index the rows rather than describe them, each with a note: a
    blank header field (or pandas' ``Unnamed: N``), or integers that are exactly 0..n-1 or 1..n.
    A column given to --categorical is the user's choice and is kept."""
    found = []
    for position, name in enumerate(table.column_names):
        if name not in names or name in categorical:
            continue
        label = f"column {position + 1}" if not str(name).strip() else f"column '{name}'"
        keep = "--keep-index-column keeps it"
        if is_unnamed(name):
            why = "is how pandas names a blank header field" if str(name).strip() else "has no name in the header"
            tell(console, "note", f"{label} {why} (a row index, as DataFrame.to_csv writes?): "
                                   f"left out of the features ({keep})")
            found.append(name)
        elif _holds_row_numbers(table.column(name)):
            first = table.column(name)[0].as_py()
            tell(console, "note", f"{label} holds the row numbers ({first}, {first + 1}, ..., "
                                   f"{first + table.num_rows - 1}): left out of the features as an index ({keep})")
            found.append(name)
    return found


def _holds_row_numbers(column):
    """Whether a column is integers 0, 1, ..., n-1 or 1, 2, ..., n (monotone, unique: a row index)."""
    if not pa.types.is_integer(column.type) or column.null_count or len(column) < 2:
        return False
    first, last = column[0].as_py(), column[-1].as_py()
    if first not in (0, 1) or last != first + len(column) - 1:  # most columns: no pass over the values
        return False
    values = column.to_numpy()
    return values[0] in (0, 1) and bool(np.all(np.diff(values) == 1))


def features_matrix(table, source, schema, console=None):
    """The feature matrix of a table, its columns matched by name to ``schema['features']``.

    Categorical features become their codes; an unseen category becomes NaN, with a warning.
    Columns that are not features are ignored, with a note unless ``schema['known']`` lists them.

    Returns
    -------
    X : ndarray of shape (n_rows, n_features), float64, C-contiguous; NaN is missing
    """
    consumed = isinstance(table, list)
    if consumed:
        table = table.pop()
    features, categories = schema["features"], schema["categories"]
    columns = column_names(table, source)  # a new list at every access of the attribute: read once
    present, used = set(columns), set(features) | set(schema.get("known", ()))
    missing = [name for name in features if name not in present]
    if missing:
        listed = ", ".join(shown(name) for name in missing[:5]) + (", ..." if len(missing) > 5 else "")
        headerless = source.has_header and all(re.fullmatch(r"column_\d+", name) for name in features)
        hint = " (it was trained on a file without a header: pass --no-header)" if headerless else ""
        raise DataError(f"{source.path} lacks the feature column{'s' * (len(missing) > 1)} {listed} "
                        f"that the model was trained with{hint}")
    extra = [name for name in columns if name not in used]
    if extra:
        listed = ", ".join(name if str(name).strip() else "(no name)" for name in extra)
        tell(console, "note", f"ignoring column{'s' * (len(extra) > 1)} the model does not use: {listed}")
    if source.sparse_columns:
        return _sparse_features_matrix(table, source, features, categories, console)
    # pyarrow's allocator keeps what its computations free, and NumPy's arrays cannot reuse it: it is
    # handed back before X and after every group of columns, so that the read never holds more.
    release_reading_memory()
    n_rows = table.num_rows
    X = np.empty((n_rows, len(features)), dtype=np.float64)
    for first in range(0, len(features), _COLUMN_GROUP):
        names = features[first:first + _COLUMN_GROUP]
        group = [_feature_values(table, source, name, categories.get(name), console) for name in names]
        if consumed:
            table = table.drop_columns(names)
        release_reading_memory()
        for start in range(0, n_rows, _ROW_BLOCK):
            for k, values in enumerate(group):
                X[start:start + _ROW_BLOCK, first + k] = values[start:start + _ROW_BLOCK]
        del group  # freed before the next group is converted
    return X


def _sparse_features_matrix(table, source, features, categories, console):
    """The CSR matrix of a LibSVM file's ``features``: its own matrix when they are all its columns in
    order (no copy), else those columns in order, each categorical one as its codes."""
    import scipy.sparse as sp

    matrix = source.matrix
    position = source.sparse_columns
    if not categories and features == list(position):
        return matrix
    numeric = [name for name in features if name not in categories]
    blocks = [matrix[:, [position[name] for name in numeric]]]
    for name in categories:  # code 0 an implicit zero, an unseen category an explicit NaN
        codes = _feature_values(table, source, name, categories[name], console)
        blocks.append(sp.csr_matrix(codes.reshape(-1, 1)))
    order = {name: k for k, name in enumerate([*numeric, *categories])}
    return sp.hstack(blocks, format="csr")[:, [order[name] for name in features]]


def _feature_values(table, source, name, categories, console):
    """One feature column as float64, shape (n_rows,): numbers, or the codes of ``categories``."""
    if categories is None:
        return column_to_float(table, name, source, strict=True, hint=" (a numeric feature in the training data)")
    codes, values, counts = encoded_text(table, name)
    position = pc.index_in(pa.array(values, pa.string()), value_set=pa.array(categories, pa.string()))
    position = pc.fill_null(position, -1).to_numpy(zero_copy_only=False)
    is_unseen = position < 0
    n_unseen = int(counts[is_unseen].sum())
    if n_unseen:
        example = values[codes[_first_row_of(codes, is_unseen)]]
        tell(console, "warn", f"column {shown(name)}: {n_unseen} value{'s' * (n_unseen > 1)} not seen in "
                               f"training (e.g. {example!r}) treated as missing")
    return np.append(np.where(is_unseen, math.nan, position), math.nan)[codes]  # a missing row: NaN


def target_values(table, source, name, kind):
    """Target labels of a table and the mask of rows where the target is present.

    Parameters
    ----------
    kind : {'text', 'bool', 'integer', 'number'}

    Returns
    -------
    labels : ndarray of shape (n_rows,): object (text), bool, int64 or float64
    present : ndarray of shape (n_rows,), bool
    """
    if kind == "text":
        column = column_to_text(table, name)
        present = column.is_valid().to_numpy(zero_copy_only=False)
        _check_some_target(source, name, present)
        labels = np.asarray(column.to_numpy(zero_copy_only=False), dtype=object)
        return labels, present
    values = column_to_float(table, name, source, strict=True, hint=" (the target is numeric)")
    present = ~np.isnan(values)
    _check_some_target(source, name, present)
    if kind == "bool":
        return values == 1.0, present
    if kind == "integer" and np.all(values[present] == np.round(values[present])):
        return np.where(present, values, 0).astype(np.int64), present
    return values, present


def _check_some_target(source, name, present):
    if not present.any():
        raise DataError(f"{source.path}: every value of the target column '{name}' is missing")


def target_kind(table, source, name, task):
    """The kind of labels a training table's target column holds (see ``target_values``).

    Text is a class label unless the task is regression or ``NUMERIC_SHARE`` of it are numbers.
    """
    kind = table.column(name).type
    if task != "regression" and (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        hint = " (the rest of the target is numeric: fix it or add it to --na-values)"
        if column_to_float(table, name, source, strict=False, hint=hint) is not None:
            return "number"
        _refuse_numbers_with_the_other_decimal_mark(table, name, source, "class labels",
                                                    "--task regression needs them read as numbers")
        return "text"
    if task != "regression" and pa.types.is_boolean(kind):
        return "bool"
    return "integer" if pa.types.is_integer(kind) else "number"


def infer_task(labels, kind, name, requested):
    """(task, reason): the requested task checked against the target, or the one inferred for 'auto'."""
    classes = np.unique(labels)
    if len(classes) < 2 and requested != "regression":
        raise DataError(f"the target column '{name}' has only one class ({classes[0]!r}): nothing to learn")
    if requested != "auto":
        if requested == "binary" and len(classes) > 2:
            raise DataError(f"--task binary, but the target column '{name}' has {len(classes)} classes")
        return requested, "as requested"
    shown = ", ".join(repr(c.item() if isinstance(c, np.generic) else c) for c in classes[:5])
    shown += ", ..." if len(classes) > 5 else ""
    why = f"inferred from the target '{name}'"
    if kind in ("text", "bool") or len(classes) == 2:
        return "binary" if len(classes) == 2 else "multiclass", f"{why}: {len(classes)} classes {shown}"
    if kind == "integer" and len(classes) <= _MAX_INTEGER_CLASSES:
        return "multiclass", f"{why}: {len(classes)} integer values {shown}; --task regression overrides"
    return "regression", f"{why}: numbers with {len(classes)} distinct values"


def weights_column(table, source, name):
    """Sample weights of the column ``name``, shape (n_rows,), float64; a missing one is an error."""
    w = column_to_float(table, name, source, strict=True, hint=" (the weight column)")
    if np.isnan(w).any():
        raise DataError(f"{source.where(int(np.flatnonzero(np.isnan(w))[0]), name)}: the weight is missing")
    return w


def query_ids(table, source, name):
    """The query of every row from the column ``name`` (--group), as integer codes in the order of
    the ids' values (rows of equal ids form one query); a missing id is an error naming its line."""
    column = table.column(name)
    if column.null_count:
        first = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
        raise DataError(f"{source.where(first, name)}: the query id is missing")
    return np.unique(column.to_numpy(zero_copy_only=False), return_inverse=True)[1].reshape(-1).astype(np.int64)


def drop_missing_target(source, present, arrays, console=None):
    """``arrays`` (ndarrays or None) restricted to the rows where the target is present, with a note."""
    if present.all():
        return arrays
    first = int(np.flatnonzero(~present)[0])
    tell(console, "note", f"{source.path}: dropped {int((~present).sum())} rows with a missing target "
                           f"(the first at line {source.line_of_row(first)})")
    return [None if a is None else a[present] for a in arrays]


def text_columns(schema):
    """Columns read as text for a trained schema: its categorical features and a text target."""
    return list(schema["categories"]) + ([schema["target"]] if schema["target_kind"] == "text" else [])


def read_labelled(path, schema, console=None, **reading):
    """Features, target and weights of a labelled data file, read with the schema of a trained model.

    Parameters
    ----------
    path : str
    schema : dict
        A model's metadata: ``features``, ``categories``, ``known``, ``target``, ``target_kind``
        ``weight`` (a weight column absent from the file gives no weights) and ``group`` (the query
        id column of a ranking model, which the file must have).
    console : object with ``note(str)`` and ``warn(str)``, or None (silent)
    **reading
        ``read_table``'s options: file_format and the CSV ones (delimiter, na_values, decimal, ...).

    Returns
    -------
    [X, y, sample_weight, qid] : rows with a target only; sample_weight is None without weights,
    qid (integer query ids) None but for a ranking model
    """
    table, source = read_table(path, string_columns=text_columns(schema), console=console,
                               features=schema["features"], **reading)
    require_columns(table, source, [schema["target"]], "target")
    labels, present = target_values(table, source, schema["target"], schema["target_kind"])
    X = features_matrix(table, source, schema, console)
    weight = schema["weight"]
    w = weights_column(table, source, weight) if weight and weight in table.column_names else None
    group = schema.get("group")
    if group:
        require_columns(table, source, [group], "query id (--group)")
    qid = query_ids(table, source, group) if group else None
    return drop_missing_target(source, present, [X, labels, w, qid], console)
