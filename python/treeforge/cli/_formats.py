"""Data files of the command line by format: CSV (``_csv.py``), Parquet and LibSVM/SVMlight, each read
into a pyarrow Table with a source that names places in the file for error messages.

The format comes from ``--format`` or the file's extension (``.parquet``/``.pq``, ``.svm``/``.libsvm``/
``.svmlight``; anything else is CSV). A LibSVM file's label is the column ``label`` and its features
``f0``, ``f1``, ... (indices as scikit-learn's reader numbers them, from 0); a feature absent from a
row is 0, not missing, as XGBoost and LightGBM read these files. Query ids for ranking become the
column ``qid`` (``--group qid``): the rows' ``qid:`` fields, else, as LightGBM reads them, the query
sizes of a file beside the data named like it plus ``.query`` (one size per line, in row order).
The features stay sparse (``LibSVMFile.matrix``, CSR) from the reader to the estimator: only the
label, the query ids and the features given to ``--categorical`` become columns of the table.
"""

import os
from types import MappingProxyType

from ._csv import DataError, check_input_file, read_csv, release_reading_memory, shown, use_system_allocator

FORMATS = ("csv", "parquet", "libsvm")
_EXTENSIONS = {".parquet": "parquet", ".pq": "parquet", ".svm": "libsvm", ".libsvm": "libsvm",
               ".svmlight": "libsvm"}
LIBSVM_TARGET = "label"
LIBSVM_QUERY = "qid"


class TableFile:
    """A Parquet or LibSVM file: errors name its path and a data row (these files have no lines to count)."""

    decimal, has_header = ".", True
    sparse_columns = MappingProxyType({})  # features held outside the table, by name (LibSVMFile)

    def __init__(self, path):
        self.path = path

    def line_of_row(self, row_idx):
        return None

    def where(self, row_idx, column=None):
        return f"{self.path} data row {row_idx + 1}" + (f", column {shown(column)}" if column is not None else "")


class LibSVMFile(TableFile):
    """A LibSVM file whose features (``sparse_columns``: f0, f1, ... and their column) are those of ``matrix``, a CSR
    matrix of float64: an absent feature is 0, an explicit NaN missing."""

    def __init__(self, path, matrix):
        super().__init__(path)
        self.matrix = matrix
        self.sparse_columns = {f"f{j}": j for j in range(matrix.shape[1])}


def format_of(path, requested=None):
    """The format of ``path``: ``requested`` (``--format``) or its extension's (CSV by default)."""
    if requested is not None:
        return requested
    stem, extension = os.path.splitext(path.lower())
    if extension == ".gz":
        extension = os.path.splitext(stem)[1]
    return _EXTENSIONS.get(extension, "csv")


def read_table(path, string_columns=(), *, file_format=None, console=None, features=None, **csv_options):
    """(pyarrow Table, source) of a data file of any format; ``csv_options`` are ``read_csv``'s, which
    other formats refuse by name when given (they hold types, names and no delimiter of their own).
    ``features``: a model's feature names, so that a LibSVM file whose rows never reach its last
    features still has their (zero) columns."""
    use_system_allocator()
    kind = format_of(path, file_format)
    if kind == "csv":
        return read_csv(path, string_columns=string_columns, console=console, **csv_options)
    _refuse_csv_options(path, kind, csv_options)
    check_input_file(path)
    if kind == "parquet":
        table, source = _read_parquet(path), TableFile(path)
    else:
        table, source = _read_libsvm(path, _libsvm_width(features), string_columns)
    release_reading_memory()
    if table.num_rows == 0:
        raise DataError(f"{path} has no data rows")
    return _as_text(table, string_columns), source


def _refuse_csv_options(path, kind, options):
    given = {"delimiter": options.get("delimiter") is not None, "decimal": options.get("decimal") is not None,
             "no-header": options.get("header") is False or options.get("column_names") is not None,
             "na-values": bool(options.get("na_values"))}
    for name, is_given in given.items():
        if is_given:
            raise DataError(f"--{name} applies to CSV files; {path} is read as {kind} (--format {kind})")


def _read_parquet(path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
        raise DataError(f"{path} is not a readable Parquet file: {exc}") from None
    # Category columns (pandas' category, Arrow dictionaries) as their values: the CSV path's text.
    for i, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            column = table.column(i).cast(field.type.value_type)
            table = table.set_column(i, field.name, column)
    return table


def _libsvm_width(features):
    """The LibSVM features a model's file must be read with (the last one's index + 1) when its features
    are all LibSVM's (f0, f1, ..., some maybe left out by --ignore), else None."""
    import re

    if features and all(re.fullmatch(r"f(0|[1-9][0-9]*)", name) for name in features):
        return max(int(name[1:]) for name in features) + 1
    return None


def _read_libsvm(path, n_features, string_columns):
    """(table, LibSVMFile): the label (and ``qid``) as columns, the features a CSR matrix; those of
    ``string_columns`` (``--categorical``) also as columns of the table, which makes their categories."""
    import numpy as np
    import pyarrow as pa
    from ._estimators import join_background_imports

    join_background_imports()
    from sklearn.datasets import load_svmlight_file

    try:
        X, y, qid = load_svmlight_file(path, n_features=n_features, dtype=np.float64, query_id=True,
                                       zero_based=True)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(_bad_line(path, n_features) or f"{path} is not a LibSVM/SVMlight file: {exc}") from None
    qid = qid if qid.any() else _query_file_ids(path, len(y))
    source = LibSVMFile(path, X)
    is_whole = np.all(np.isfinite(y)) and np.all(y == np.round(y)) and np.all(np.abs(y) < 2.0**53)
    labels = pa.array(y.astype(np.int64) if is_whole else y)  # whole labels as integers, as a CSV file's
    columns = {LIBSVM_TARGET: labels} | ({} if qid is None else {LIBSVM_QUERY: pa.array(qid)})
    for name in string_columns:
        if name in source.sparse_columns:
            values = X[:, source.sparse_columns[name]].toarray().reshape(-1)
            columns[name] = pa.array(values, from_pandas=True)  # NaN: a missing category
    return pa.table(columns), source


def _bad_line(path, n_features):
    """Where a LibSVM file that scikit-learn's reader refused goes wrong: 'PATH line N: why' at the first
    line that is not a label and index:value pairs (with an index below ``n_features``, if given), else
    ''. Runs only once reading has failed."""
    import gzip

    opener = gzip.open if os.fspath(path).endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                why = _line_fault(line.split("#", 1)[0].split(), n_features)
                if why:
                    return f"{path} line {number}: {why}"
    except (OSError, UnicodeDecodeError, EOFError):
        pass
    return ""


def _line_fault(fields, n_features):
    """What is wrong with the fields of a LibSVM line, or '' (a blank line is right)."""
    for at, field in enumerate(fields):
        index, colon, value = field.rpartition(":") if at else ("", ":", field)
        try:
            float(value)
            feature = int(index) if at and index != "qid" else None
        except ValueError:
            return f"{field!r} is not {'a label' if at == 0 else 'index:value'} (not a LibSVM/SVMlight file)"
        if not colon or (feature is not None and feature < 0):
            return f"{field!r} is not index:value (not a LibSVM/SVMlight file)"
        if feature is not None and n_features is not None and feature >= n_features:
            return f"feature index {feature}, but the model has features f0 to f{n_features - 1}"
    return ""


def _query_file_ids(path, n_rows):
    """A query id per row from the query sizes in ``path``.query (LightGBM's companion file), or None
    without one; DataError naming the file when its sizes are not positive integers summing to n_rows."""
    import numpy as np

    query_path = os.fspath(path) + ".query"
    if not os.path.isfile(query_path):
        return None
    try:
        sizes = np.loadtxt(query_path, dtype=np.int64, ndmin=1)
    except ValueError as exc:
        raise DataError(f"{query_path}: query sizes must be one whole number per line ({exc})") from None
    if np.any(sizes < 1) or sizes.sum() != n_rows:
        raise DataError(f"{query_path}: the query sizes must be >= 1 and sum to the {n_rows} rows of {path}, "
                        f"got a sum of {sizes.sum()}")
    return np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)


def _as_text(table, string_columns):
    """The table with ``string_columns`` (categorical features) as text, as the CSV reader gives them."""
    import pyarrow as pa

    for name in string_columns:
        if name in table.column_names and not pa.types.is_string(table.schema.field(name).type):
            i = table.column_names.index(name)
            table = table.set_column(i, name, table.column(i).cast(pa.string()))
    return table
