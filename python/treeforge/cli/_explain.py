"""``treeforge explain``: each row's SHAP values (or SHAP interaction values) of a model's raw score,
written as CSV through ``treeforge.inspection.shap_values``; the data are read as predict reads them."""

import numpy as np

from . import _tabular as tabular
from ._commands import (
    check_input_files,
    check_outputs_writable,
    reading_options,
    refuse_overwriting_inputs,
    round_significant,
    write_csv_columns,
)
from ._console import CLIError
from ._estimators import load_model_file

EXPECTED = "expected_value"


def value_columns(names, values, expected):
    """{name: values}: a column per feature, then the expected value. ``values`` of shape (n, F), or
    (n, F, F) of interactions, whose columns are 'FEATURE_I x FEATURE_J' row by row."""
    n_rows = len(values)
    if values.ndim == 2:
        columns = {str(name): values[:, j] for j, name in enumerate(names)}
    else:
        columns = {f"{first} x {second}": values[:, i, j]
                   for i, first in enumerate(names) for j, second in enumerate(names)}
    columns[EXPECTED] = np.full(n_rows, float(expected))
    return columns


def explanation_columns(estimator, X, names, interactions):
    """{name: values} of every row: ``value_columns`` of the one output, or of each output, prefixed
    'CLASS:'; CLIError for a model without additive scores (AdaBoost.R2)."""
    from ..inspection import shap_values

    try:
        values, expected = shap_values(estimator, X, interactions=interactions)
    except (AttributeError, ValueError) as exc:
        raise CLIError(f"explain: {exc}") from None
    if np.ndim(expected) == 0:
        return value_columns(names, values, expected)
    columns = {}
    for k, label in enumerate(estimator.classes_):
        output = value_columns(names, values[..., k], expected[k])
        columns.update({f"{label}:{name}": column for name, column in output.items()})
    return columns


def cmd_explain(args, console):
    """``treeforge explain``: SHAP values (or interaction values) for every row of a data file."""
    out = None if args.out in (None, "-") else args.out  # None: standard output
    refuse_overwriting_inputs({"MODEL.json": args.model, "DATA.csv": args.data}, {"--out": out})
    check_input_files([args.model, args.data])
    check_outputs_writable([out])  # before reading the model and the data, not after explaining them
    estimator, meta = load_model_file(args.model)
    table, source = tabular.read_table(args.data, string_columns=list(meta["categories"]), console=console,
                                       features=meta["features"], **reading_options(args))
    X = tabular.features_matrix(table, source, meta, console)
    columns = explanation_columns(estimator, X, meta["features"], args.interactions)
    if args.precision:
        columns = {name: round_significant(values, args.precision) for name, values in columns.items()}
    write_csv_columns(columns, out, [])  # numbers only: no value needs quotes
    if out:
        console.note(f"{'SHAP interaction values' if args.interactions else 'SHAP values'} of {X.shape[0]} rows "
                     f"written to {out}")
    return 0
