"""The ``treeforge`` sub-commands predict and eval, and what the commands share: the checks of inputs and
outputs, the reading options, the metrics (train lives in ``_train``, info in ``_info``)."""

import csv
import io
import os
import sys

import numpy as np

from .._files import atomic_write, check_writable
from . import _tabular as tabular
from ._console import CLIError
from ._estimators import load_model_file
from ._metrics import compute_metrics


def reading_options(args):
    """The options of ``read_table`` that the command line's reading options give."""
    return {"delimiter": args.delimiter, "na_values": args.na_values, "decimal": args.decimal,
            "header": not args.no_header, "column_names": args.columns, "file_format": args.format}


def format_metrics(values):
    return "  ".join(f"{name} {value:.4f}" for name, value in values.items())


def same_file(first, second):
    """Whether two paths name the same file: resolved paths (symbolic links, relative paths) or, where
    both exist, the same device and inode (hard links)."""
    if os.path.realpath(first) == os.path.realpath(second):
        return True
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


def check_input_files(paths):
    """DataError naming the first of ``paths`` (None skipped) that is not a regular file, before any is
    read: a FIFO given as --valid would block only after DATA was read whole."""
    for path in paths:
        if path is not None:
            tabular.check_input_file(path)


def check_outputs_writable(paths):
    """CLIError naming the first of ``paths`` (None and empty ones skipped) that cannot be written (its
    directory missing or not writable, or the path a directory): checked before any input is read, so
    that a command fails at once rather than after its work."""
    for path in paths:
        if not path:
            continue
        if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise CLIError(f"cannot write {path}: its directory does not exist")
        try:
            check_writable(path)
        except OSError as exc:
            raise CLIError(f"cannot write {path}: {exc.strerror}") from None


def refuse_overwriting_inputs(inputs, outputs):
    """CLIError if a path of ``outputs`` ({option: path or None}) is the same file as one of ``inputs``."""
    for out_option, out in outputs.items():
        for in_option, source in inputs.items():
            if out and source and same_file(out, source):
                raise CLIError(f"{out_option} {out} is the same file as {in_option} {source}: "
                               "it would be overwritten; choose another output path")


PROBABILITY_DIGITS = 6  # significant digits of probabilities unless --precision says otherwise
_FAST_DIGITS = 9  # up to this many digits are rounded with array operations, exactly as Python formats
_NEVER = 1 << 40  # a shift that no array operation takes


def round_significant(values, digits):
    """Float ``values`` (ndarray) rounded to ``digits`` (1 to 15) significant digits: each the double
    nearest to its rounded decimal, which the CSV writer's shortest round-trip form then prints with
    at most ``digits`` digits. NaN, infinities and zeros are kept."""
    values = np.asarray(values, dtype=np.float64)
    rounded = values.copy()
    is_finite = np.isfinite(values) & (values != 0)
    shift = np.zeros(values.shape, dtype=np.int64)  # decimals kept: negative rounds to tens, hundreds, ...
    shift[is_finite] = digits - 1 - np.floor(np.log10(np.abs(values[is_finite]))).astype(np.int64)
    # Powers of ten up to 1e22 are exact doubles: an integer below 1e9 divided (multiplied) by one is
    # the double nearest to the decimal, and the scaled value is off by far less than the half digit
    # that decides the rounding. For more digits, or tiny and huge values, Python formats each value.
    if digits > _FAST_DIGITS:
        shift[:] = _NEVER
    scaled_up = is_finite & (shift >= 0) & (shift <= 22)
    scale = 10.0 ** shift[scaled_up]
    rounded[scaled_up] = np.round(values[scaled_up] * scale) / scale
    scaled_down = is_finite & (shift < 0) & (shift >= -22)
    scale = 10.0 ** -shift[scaled_down]
    rounded[scaled_down] = np.round(values[scaled_down] / scale) * scale
    others = is_finite & ~scaled_up & ~scaled_down
    rounded[others] = [float(f"{value:.{digits}g}") for value in values[others]]
    return rounded


def write_csv_columns(columns, out, labels):
    """Write {name: ndarray} as CSV to ``out`` (atomically) or to stdout when ``out`` is None.

    Text is quoted only when one of the class ``labels`` needs it (pyarrow would quote all text).
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(columns)  # pyarrow < 19 quotes every name
    needs_quotes = any(set(',"\r\n') & set(str(label)) for label in labels)
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed" if needs_quotes else "none")

    def write(handle):
        handle.write(header.getvalue().encode())
        pacsv.write_csv(pa.table({name: pa.array(values) for name, values in columns.items()}), handle, options)
        handle.flush()

    if out is None:
        return write(sys.stdout.buffer)
    atomic_write(out, write)


def cmd_predict(args, console):
    """``treeforge predict``: predictions (and class probabilities, contributions), or raw scores (--raw) or
    leaves (--leaf), for every row of a CSV file."""
    if args.proba and (args.raw or args.leaf):
        raise CLIError(f"--proba adds probabilities to predictions, which --{'raw' if args.raw else 'leaf'} writes "
                       "instead of; give one of them", exit_code=2)
    out = None if args.out in (None, "-") else args.out  # None: standard output
    refuse_overwriting_inputs({"MODEL.json": args.model, "DATA.csv": args.data}, {"--out": out})
    check_input_files([args.model, args.data])
    check_outputs_writable([out])  # before reading the model and the data, not after predicting
    estimator, meta = load_model_file(args.model)
    if args.proba and meta["task"] == "regression":
        raise CLIError("--proba needs a classification model; this one does regression")
    table, source = tabular.read_table(args.data, string_columns=list(meta["categories"]), console=console,
                                       features=meta["features"], **reading_options(args))
    X = tabular.features_matrix(table, source, meta, console)
    if args.raw:
        columns = _raw_columns(estimator, X, args.precision)
    elif args.leaf:
        columns = _leaf_columns(estimator, X)
    else:
        columns = _prediction_columns(args, estimator, X, meta)
    write_csv_columns(columns, out, getattr(estimator, "classes_", []))
    if out:
        console.note(f"{X.shape[0]} {'rows of leaves' if args.leaf else 'predictions'} written to {out}")
    return 0


def _prediction_columns(args, estimator, X, meta):
    """{name: values}: the prediction, then with --proba each class's probability, with --contrib the
    contributions."""
    columns = {"prediction": estimator.predict(X)}
    if args.precision and meta["task"] == "regression":
        columns["prediction"] = round_significant(columns["prediction"], args.precision)
    if args.proba:
        digits = args.precision or PROBABILITY_DIGITS
        for label, proba in zip(estimator.classes_, estimator.predict_proba(X).T):
            columns[f"proba_{label}"] = round_significant(proba, digits)
    if args.contrib:
        columns.update(_contribution_columns(estimator, X, meta["features"], args.precision or PROBABILITY_DIGITS))
    return columns


def _raw_columns(estimator, X, digits):
    """{raw or raw_CLASS: values} of the raw score, the one --contrib's contributions add up to:
    ``decision_function`` of classifiers that have one, else the core's margin (boosting regressors:
    before the inverse link; forests: the mean of their trees, per class for classifiers)."""
    if hasattr(estimator, "decision_function"):
        raw = estimator.decision_function(X)
    elif getattr(estimator, "_model", None) is None or estimator._model.objective == "adaboost_r2":
        raise CLIError(f"--raw: {type(estimator).__name__} predicts the weighted median of its trees; it has no raw "
                       "score beside its prediction")
    else:
        raw = estimator._raw_margin(X)
    raw = np.asarray(raw, dtype=np.float64)
    if raw.ndim == 2 and raw.shape[1] == 1:
        raw = raw[:, 0]
    rounded = (lambda values: round_significant(values, digits)) if digits else (lambda values: values)
    if raw.ndim == 1:
        return {"raw": rounded(raw)}
    return {f"raw_{label}": rounded(raw[:, k]) for k, label in enumerate(estimator.classes_)}


def _leaf_columns(estimator, X):
    """{leaf_T: values}: the leaf (node index within tree T, as in trees_to_dataframe) each row reaches
    in every tree, trees in the model's order (boosting: iteration by iteration, each class's tree)."""
    apply = getattr(estimator, "apply", None)
    if apply is None:
        raise CLIError(f"--leaf: {type(estimator).__name__} does not tell the leaves of its trees (it has no "
                       "apply); gradient boosting and random forest models do")
    leaves = np.asarray(apply(X)).reshape(X.shape[0], -1)
    return {f"leaf_{tree}": leaves[:, tree] for tree in range(leaves.shape[1])}


def _contribution_columns(estimator, X, features, digits):
    """{name: values} of predict_contributions: each feature's SHAP value, then the expected value;
    a multiclass model's per class (the model's outputs), named by class."""
    try:
        values = estimator.predict_contributions(X)
    except (AttributeError, ValueError) as exc:  # AdaBoost.R2's weighted median has no additive form
        raise CLIError(f"--contrib: {exc}") from None
    names = [*features, "expected"]
    if values.ndim == 2:
        return {f"contrib_{name}": round_significant(values[:, j], digits) for j, name in enumerate(names)}
    return {f"contrib_{label}_{name}": round_significant(values[:, k, j], digits)
            for k, label in enumerate(estimator.classes_) for j, name in enumerate(names)}


def cmd_eval(args, console):
    """``treeforge eval``: the task's metrics of a model on a labelled CSV file."""
    check_input_files([args.model, args.data])
    estimator, meta = load_model_file(args.model)
    if meta["target"] is None:
        raise CLIError(f"{args.model} does not name its target column (it was not written by treeforge train)")
    X, y, w, qid = tabular.read_labelled(args.data, meta, console, **reading_options(args))
    values = compute_metrics(meta["task"], estimator, X, y, w, qid)
    queries = f" in {len(np.unique(qid))} queries" if qid is not None else ""
    print(f"{meta['task']} on {len(y)} rows{queries}{' (weighted)' if w is not None else ''}: {format_metrics(values)}")
    return 0
