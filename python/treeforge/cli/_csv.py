"""CSV files for the command line: what is sniffed (delimiter, decimal mark), pyarrow's reading, and every
reading failure as a one-line ``DataError`` naming the file and line.

- Files are read by pyarrow's multithreaded reader: a header row, quoted fields, the delimiter
  given or sniffed among ``, ; TAB |``, gzip input detected from its first bytes;
  ``MISSING_MARKERS`` (and any extra markers given) are missing values.
- Numbers have a decimal point, or a decimal comma when asked (``decimal=","``) or when a
  ``;``-separated file writes them so: its first 64 KiB hold numbers with a decimal comma and none
  with a decimal point (a note says so).
"""

import csv
import difflib
import gzip
import io
import re
import zlib
from collections import Counter
from types import MappingProxyType

from .._files import check_regular_file

MISSING_MARKERS = ("", "NA", "N/A", "n/a", "NaN", "nan", "NAN", "null", "NULL", "Null", "None", "#N/A")
_SNIFF_BYTES = 1 << 16
_BLOCK_BYTES = 1 << 20  # pyarrow's block: a record must fit in about two of them
# A field holding a number written with a decimal comma ("1,5", "-0,25", "3,0e-2"), and with a point.
COMMA_NUMBER = r"^[+-]?(\d+,\d*|,\d+)([eE][+-]?\d+)?$"
POINT_NUMBER = r"^[+-]?(\d+\.\d*|\.\d+)([eE][+-]?\d+)?$"


class DataError(ValueError):
    """A problem in a data file or column choice, as one line naming the file, line and column."""


def did_you_mean(name, choices):
    """``"; did you mean 'x'?"`` for the closest of ``choices``, or an empty string."""
    choices = [str(c) for c in choices]
    match = [c for c in choices if c.lower() == str(name).lower()] or difflib.get_close_matches(str(name), choices, n=1)
    return f"; did you mean '{match[0]}'?" if match else ""


def tell(console, kind, message):
    """Pass a note or warning to ``console`` (an object with ``note``/``warn``); None is silent."""
    if console is not None:
        getattr(console, kind)(message)


def is_unnamed(name):
    """Whether a header field names nothing: blank, or pandas' ``Unnamed: N`` for a blank field read back."""
    return not str(name).strip() or re.fullmatch(r"Unnamed: \d+", str(name)) is not None


def shown(name):
    """A column name as messages show it: ``'x'``, or ``(no name)`` for a blank header field."""
    return f"'{name}'" if str(name).strip() else "(no name)"


# --------------------------------------------------------------------------------------------
# CSV files
# --------------------------------------------------------------------------------------------


def check_input_file(path):
    """DataError naming ``path`` unless it is a regular file; looked up without opening it (opening a
    FIFO blocks, /dev/zero never ends, a directory or a socket cannot be read as a file)."""
    try:
        check_regular_file(path)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except ValueError as exc:
        raise DataError(str(exc)) from None
    except OSError as exc:
        raise DataError(f"cannot open {path}: {exc.strerror}") from None


class CsvFile:
    """A CSV file on disk (plain or gzip) with its delimiter and decimal mark; finds the line of a row
    for errors.

    Parameters
    ----------
    path : str
    delimiter : str or None
        None sniffs it from the first 64 KiB.
    decimal : {'.', ','} or None
        None: ',' when the delimiter is ';' and the first 64 KiB hold numbers with a decimal comma
        and none with a decimal point (``decimal_detected`` is then true), else '.'.
    header : bool
        Whether the first record names the columns; without one they are named ``column_0``,
        ``column_1``, ... in ``column_names``, or by ``column_names`` given (which imply no header).
    column_names : list of str or None
    """

    # Also for a CsvFile made without __init__ (tests): a file with a header and decimal points.
    decimal, decimal_detected, has_header, column_names = ".", False, True, None
    sparse_columns = MappingProxyType({})  # every column is in the table (formats.LibSVMFile's features are not)

    def __init__(self, path, delimiter=None, decimal=None, header=True, column_names=None):
        self.path = path
        check_input_file(path)
        try:
            with open(path, "rb") as handle:
                self.is_gzip = handle.read(2) == b"\x1f\x8b"
        except FileNotFoundError:
            raise DataError(f"{path}: no such file") from None
        except OSError as exc:
            raise DataError(f"cannot open {path}: {exc.strerror}") from None
        self._sample = None
        if delimiter is None:
            try:
                delimiter = csv.Sniffer().sniff(self.sample(), delimiters=",;\t|").delimiter
            except csv.Error:
                delimiter = ","
        self.delimiter = delimiter
        self.has_header = header and column_names is None
        if not self.has_header:
            self.column_names = self._names_of_columns(column_names)
        if decimal is None and delimiter == ";" and self._writes_decimal_commas():
            decimal, self.decimal_detected = ",", True
        self.decimal = decimal or "."

    def sample(self):
        """The first 64 KiB of text, cut after the last whole line (read once)."""
        if self._sample is None:
            try:
                with self._text() as handle:
                    sample = handle.read(_SNIFF_BYTES)
            except (OSError, EOFError, zlib.error) as exc:  # gzip: corrupt, truncated
                raise DataError(f"cannot read {self.path}: corrupt or truncated gzip data ({exc})") from None
            self._sample = sample[: sample.rfind("\n") + 1] or sample
        return self._sample

    def _first_record(self):
        """(line number, fields) of the first non-empty record of the sample, or (None, None)."""
        reader = csv.reader(io.StringIO(self.sample()), delimiter=self.delimiter)
        try:
            return next(((reader.line_num, fields) for fields in reader if fields), (None, None))
        except csv.Error:  # pyarrow will say what is wrong with the file
            return None, None

    def _names_of_columns(self, names):
        """The column names of a file without a header: ``names`` checked against its first record."""
        line, fields = self._first_record()
        if fields is None:
            raise DataError(f"{self.path} is empty")
        if names is None:
            return [f"column_{i}" for i in range(len(fields))]
        if len(names) != len(fields):
            raise DataError(f"--columns names {len(names)} columns, but {self.path} line {line} has "
                            f"{len(fields)} fields")
        if [field.strip() for field in fields] == list(names):
            raise DataError(f"{self.path} line {line} is a header naming the columns as --columns does: "
                            "--columns is for a file without one (leave it out)")
        return list(names)

    def _writes_decimal_commas(self):
        """Whether the data rows of the sample write numbers with a decimal comma, never with a point."""
        try:
            records = list(csv.reader(io.StringIO(self.sample()), delimiter=self.delimiter))[int(self.has_header):]
        except csv.Error:  # pyarrow will say what is wrong with the file
            return False
        fields = [field.strip() for record in records for field in record]
        return any(re.match(COMMA_NUMBER, field) for field in fields) and \
            not any(re.match(POINT_NUMBER, field) for field in fields)

    def _text(self):
        raw = gzip.open(self.path, "rb") if self.is_gzip else open(self.path, "rb")
        return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")

    def _records(self):
        """Yield (line number where the record ends, fields) of the non-empty records, header first."""
        with self._text() as handle:
            reader = csv.reader(handle, delimiter=self.delimiter)
            try:
                for fields in reader:
                    if fields:
                        yield reader.line_num, fields
            except (csv.Error, OSError, EOFError, zlib.error):  # Python's parser (or gzip) gave up
                return  # where pyarrow did not: the line stays unknown

    def first_line_where(self, is_bad):
        """Number of the first physical line (bytes, end of line included) for which ``is_bad`` is
        true, or None (also when the file cannot be read to the end)."""
        raw = gzip.open(self.path, "rb") if self.is_gzip else open(self.path, "rb")
        try:
            with raw:
                for number, line in enumerate(raw, start=1):
                    if is_bad(line):
                        return number
        except (OSError, EOFError, zlib.error):
            pass
        return None

    def line_of_row(self, row_idx):
        """Line number of data row ``row_idx`` (0-based, blank lines skipped as pyarrow does)."""
        for i, (line, _) in enumerate(self._records()):
            if i == row_idx + int(self.has_header):
                return line
        return None

    def first_ragged_line(self, n_fields):
        """Line number of the first record that does not have ``n_fields`` fields, or None."""
        return next((line for line, fields in self._records() if len(fields) != n_fields), None)

    def where(self, row_idx, column=None):
        """``"PATH line N, column 'C'"`` for an error message about a data row (and column)."""
        line = self.line_of_row(row_idx)
        place = f"{self.path} line {line}" if line is not None else f"{self.path} data row {row_idx + 1}"
        return place + (f", column {shown(column)}" if column is not None else "")


def read_csv(path, delimiter=None, na_values=(), string_columns=(), *, decimal=None, header=True,
             column_names=None, console=None):
    """Read a CSV file into a pyarrow Table, turning every reading problem into a one-line DataError.

    Parameters
    ----------
    path : str
    delimiter : str or None
        None sniffs it.
    na_values : sequence of str
        Missing-value markers added to ``MISSING_MARKERS``.
    string_columns : sequence of str
        Columns read as text whatever they look like (categorical features).
    decimal : {'.', ','} or None
        The decimal mark of numbers; None detects it (see ``CsvFile``), with a note.
    header, column_names
        Whether the first record is a header, and the names of the columns of a file without one
        (see ``CsvFile``).
    console : object with ``note(str)``, or None (silent)

    Returns
    -------
    table : pyarrow.Table
        One column per header field, at least one row.
    source : CsvFile
    """
    import pyarrow as pa  # here, not at the top: the commands that read no CSV file start without it
    import pyarrow.csv as pacsv

    use_system_allocator()
    source = CsvFile(path, delimiter, decimal, header, column_names)
    if source.decimal_detected:
        tell(console, "note", f"{path}: numbers read with a decimal comma (1,5 is 1.5), as this ';'-separated "
                              "file writes them (--decimal . reads a comma as text)")
    try:
        table = _read_table(source, na_values, string_columns)
    except (pa.ArrowInvalid, OSError, EOFError, zlib.error) as exc:
        raise _reading_error(source, exc) from None
    release_reading_memory()  # the parser's buffers: freed, but kept by pyarrow's allocator
    names = table.column_names
    duplicated = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicated:
        raise DataError(f"{path}: column {shown(duplicated[0])} appears more than once in the header")
    if table.num_rows == 0:
        raise DataError(f"{path} has a header but no data rows" if source.has_header else f"{path} has no data rows")
    if any(pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type) for field in table.schema):
        raise _not_utf8_error(source)  # pyarrow reads a column that is not UTF-8 as bytes
    return table, source


def _read_table(source, na_values, string_columns):
    """The file as a pyarrow Table, each column of the type pyarrow infers from all its values.

    The types pyarrow infers from the sample are given for the whole file first: the reader then keeps
    no parsed block to convert again should a later value change a type, which halves the memory a
    read takes. A value that does not fit them fails that read (``ArrowInvalid``), and the file is
    read again with every type inferred. When the first read succeeds, its types are those inference
    gives: every value converted to them, and inference takes the first type in its order that
    converts all of a column's values, of which the sample's values are a part.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    forced = {name: pa.string() for name in string_columns}
    read_options = pacsv.ReadOptions(use_threads=True, column_names=source.column_names)
    parse_options = pacsv.ParseOptions(delimiter=source.delimiter)

    def read(source_file, column_types):
        convert = pacsv.ConvertOptions(
            null_values=list(MISSING_MARKERS) + list(na_values), strings_can_be_null=True,
            quoted_strings_can_be_null=True, column_types=column_types, decimal_point=source.decimal)
        return pacsv.read_csv(source_file, read_options=read_options, parse_options=parse_options,
                              convert_options=convert)

    try:
        sample = read(pa.py_buffer(source.sample().encode("utf-8")), forced)
        typed = {field.name: field.type for field in sample.schema if not pa.types.is_null(field.type)}
    except pa.ArrowInvalid:  # e.g. a quoted field cut at the end of the sample: types all inferred
        typed = {}
    for column_types in ([typed | forced] if typed else []) + [forced]:
        stream = pa.input_stream(source.path, compression="gzip" if source.is_gzip else None)
        try:
            return read(stream, column_types)
        except pa.ArrowInvalid:
            if column_types is forced:
                raise
        finally:
            stream.close()


def use_system_allocator():
    """Make pyarrow allocate from the C library's ``malloc``, which NumPy allocates from too: the memory
    of the columns freed while the feature matrix is built, and of pyarrow's temporaries, is then
    reused by NumPy's arrays, where pyarrow's own allocator (mimalloc) kept it for pyarrow alone
    (1,000,000 x 9 CSV: the reading's peak 266 MiB instead of 346, the run's 368 instead of 397)."""
    import pyarrow as pa

    if pa.default_memory_pool().backend_name != "system":
        pa.set_memory_pool(pa.system_memory_pool())


def release_reading_memory():
    """Hand back to the system the memory pyarrow's allocator keeps once the tables read and the arrays
    computed from them are freed (about three times a table while it is read and converted); the
    matrices allocated next by NumPy could not reuse it."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def _is_not_utf8(line):
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _not_utf8_error(source):
    line = source.first_line_where(_is_not_utf8)
    place = f"{source.path} line {line}" if line is not None else source.path
    return DataError(f"{place}: the text is not UTF-8 (save the file as UTF-8)")


def _reading_error(source, exc):
    """The DataError of a failure of pyarrow's reader (or of gzip under it), naming the file and line."""
    path, text = source.path, str(exc)
    if "Empty CSV file" in text:
        return DataError(f"{path} is empty")
    ragged = re.search(r"Expected (\d+) columns, got (\d+)", text)
    if ragged:
        line = source.first_ragged_line(int(ragged[1]))
        place = f"{path} line {line}" if line is not None else path
        return DataError(f"{place}: {ragged[2]} fields where the header has {ragged[1]}")
    if "straddling object" in text:
        line = source.first_line_where(lambda record: len(record) > _BLOCK_BYTES)
        place = f"{path} line {line}" if line is not None else path
        return DataError(f"{place}: a record longer than {_BLOCK_BYTES >> 20} MiB, which the reader cannot hold")
    if re.search(r"invalid utf-?8", text, re.IGNORECASE):
        return _not_utf8_error(source)
    is_gzip_error = isinstance(exc, (EOFError, zlib.error)) or re.search("gzip|zlib|inflate|compress", text, re.I)
    if source.is_gzip and is_gzip_error:
        return DataError(f"cannot read {path}: corrupt or truncated gzip data ({text.splitlines()[0]})")
    return DataError(f"cannot read {path}: {text.splitlines()[0] if text else type(exc).__name__}")


