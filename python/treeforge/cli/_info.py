"""``treeforge info``: a model file described without its estimator, so without importing scikit-learn.

The file is checked as loading it checks it, its parameters aside: the content checksum, format and
versions, the estimator named one of those of ``--model``, every array of the model validated by the
core (``Model.from_arrays``), the fitted attributes ``info`` reads against the model, and the command
line's metadata. Importances come from ``ensemble._importances``, as the estimators compute them;
``--importance shap`` alone loads the estimator (and scikit-learn) to explain the rows of ``--data``.
"""

import types

import numpy as np

from .. import _core
from ..ensemble._importances import forest_importances, gain_importances, split_totals, weighted_tree_importances
from ..ensemble._model_io import read_model_file
from ._console import CLIError
from ._csv import check_input_file
from ._estimators import MODELS, RANKER, cli_metadata

# --model -> the feature importances of its estimators' models, as their feature_importances_ gives them.
_IMPORTANCES = {
    "gbdt": lambda model, fitted: gain_importances(model),
    "rf": lambda model, fitted: forest_importances(model),
    "adaboost": lambda model, fitted: weighted_tree_importances(model, fitted.estimator_weights_),
}
# Estimator class name -> its --model.
_MODEL_OF_CLASS = {name: model for model, (_, *classes) in MODELS.items() for name in classes} | {RANKER[1]: "gbdt"}
# The fitted attributes info reads; a file's others are not looked at.
_READ_ATTRIBUTES = ("n_features_in_", "feature_names_in_", "classes_", "n_iter_", "is_categorical_", "_categories",
                    "estimator_weights_")


def _checked_attributes(fitted, model):
    """The fitted attributes ``info`` reads, as attributes of a namespace; ValueError where they do not fit
    the model (as loading the estimator would refuse them)."""
    view = types.SimpleNamespace(**{name: fitted[name] for name in _READ_ATTRIBUTES if name in fitted})
    if getattr(view, "n_features_in_", None) != model.n_features:
        raise ValueError(f"n_features_in_={getattr(view, 'n_features_in_', None)!r} but the model has "
                         f"{model.n_features} features.")
    names = getattr(view, "feature_names_in_", None)
    if names is not None and (not isinstance(names, np.ndarray) or names.shape != (model.n_features,)):
        raise ValueError("feature_names_in_ does not have n_features_in_ entries.")
    for name in ("is_categorical_", "_categories"):
        value = getattr(view, name, None)
        if value is not None and len(value) != model.n_features:
            raise ValueError(f"{name} does not have n_features_in_ entries.")
    if hasattr(view, "estimator_weights_"):
        weights = view.estimator_weights_
        if not isinstance(weights, np.ndarray) or weights.ndim != 1 or weights.dtype.kind != "f" \
                or len(weights) < model.n_trees:
            raise ValueError("estimator_weights_ does not match the model's trees.")
    return view


def read_model_description(path):
    """(estimator class name, --model, core Model, fitted attributes read, metadata of the command line)
    of a model file, checked (see the module's docstring); CLIError or ValueError naming the file."""
    check_input_file(path)
    parts = read_model_file(path)
    if parts.estimator not in _MODEL_OF_CLASS:
        raise ValueError(f"Invalid treeforge model file {path!r}: unknown estimator {parts.estimator!r}; "
                         f"expected one of {sorted(_MODEL_OF_CLASS)}")
    try:
        model = _core.Model.from_arrays(parts.model)
        fitted = _checked_attributes(parts.fitted, model)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"Invalid treeforge model file {path!r}: {exc}") from exc
    return parts.estimator, _MODEL_OF_CLASS[parts.estimator], model, fitted, cli_metadata(path, parts.metadata, fitted)


def model_size(n_iter, arrays):
    """["N iterations", "N trees", "N leaves"] of a model's arrays (``Model.to_arrays()``) and its
    number of boosting iterations (None for a forest or AdaBoost)."""
    size = [] if n_iter is None else [f"{n_iter} iterations"]
    if "tree_offsets" in arrays and "left" in arrays:
        size += [f"{len(arrays['tree_offsets']) - 1} trees", f"{int(np.sum(np.asarray(arrays['left']) < 0))} leaves"]
    return size


def _feature_kind(fitted, meta, idx):
    """What ``info`` says of a feature: categorical (split on sets of its values) only if the model says so."""
    is_categorical = getattr(fitted, "is_categorical_", None)
    name = meta["features"][idx]
    if is_categorical is not None and is_categorical[idx]:
        n_values = len(meta["categories"].get(name) or fitted._categories[idx])
        return f"  categorical, {n_values} values"
    if name in meta["categories"]:  # a model trained before native categorical splits
        return f"  text as ordinal codes (split as numbers), {len(meta['categories'][name])} values"
    return ""


def _displayed(name):
    """A column name as ``info`` lists it: a blank one (an index column kept) as ``(no name)``."""
    return str(name) if str(name).strip() else "(no name)"


def check_data_option(args):
    """CLIError (exit code 2, a misused option) unless --data comes with --importance shap and only with it."""
    if getattr(args, "importance", "gain") == "shap" and not getattr(args, "data", None):
        raise CLIError("--importance shap averages SHAP values over rows: give them with --data FILE", exit_code=2)
    if getattr(args, "data", None) and args.importance != "shap":
        raise CLIError("--data is read only by --importance shap", exit_code=2)


def _shap_importances(args, console):
    """(mean |SHAP value| per feature, rows) over the rows of --data, read as predict reads them; this
    needs the estimator, so it alone of info's work imports scikit-learn."""
    from . import _tabular as tabular
    from ._commands import reading_options
    from ._estimators import load_model_file

    check_input_file(args.data)
    estimator, meta = load_model_file(args.model)
    table, source = tabular.read_table(args.data, string_columns=list(meta["categories"]), console=console,
                                       features=meta["features"], **reading_options(args))
    X = tabular.features_matrix(table, source, meta, console)
    try:
        return np.asarray(estimator.get_feature_importance("shap", X=X)), X.shape[0]
    except ValueError as exc:  # AdaBoost.R2's weighted median, a user's estimators
        raise CLIError(f"--importance shap: {exc}") from None


def cmd_info(args, console):
    """``treeforge info``: model kind, task, size and the features by importance."""
    check_data_option(args)
    class_name, model_kind, model, fitted, meta = read_model_description(args.model)
    lines = [f"model: {class_name}" + (f" (--model {meta['model']})" if meta.get("model") else ""),
             f"task: {meta['task']}" + (f", target '{meta['target']}'" if meta["target"] else "")]
    if hasattr(fitted, "classes_"):
        lines.append("classes: " + ", ".join(str(label) for label in fitted.classes_))
    lines.append(", ".join(model_size(getattr(fitted, "n_iter_", None), model.to_arrays())) or "size: unknown")
    if meta.get("rows"):
        n_valid = meta["rows"]["valid"]
        lines.append(f"trained on {meta['rows']['train']} rows" + (f", validated on {n_valid}" if n_valid else ""))
    kind = getattr(args, "importance", "gain")
    if kind == "shap":
        importances, n_rows = _shap_importances(args, console)
        lines.append(f"features ({len(meta['features'])}, by mean |SHAP value| over {n_rows} rows of {args.data}):")
    else:
        importances = _IMPORTANCES[model_kind](model, fitted) if kind == "gain" else split_totals(model, kind)
        lines.append(f"features ({len(meta['features'])}, by {'importance' if kind == 'gain' else kind}):")
    names = [_displayed(name) for name in meta["features"]]
    width = max(len(name) for name in names)
    shown = {"gain": "{:.4f}", "split": "{:.0f}", "cover": "{:.6g}", "shap": "{:.6g}"}[kind]
    for idx in np.argsort(-np.asarray(importances), kind="stable"):
        lines.append(f"  {names[idx]:<{width}}  {shown.format(importances[idx])}{_feature_kind(fitted, meta, idx)}")
    for key, label in (("ignored", "ignored columns"), ("index_columns", "index columns left out"),
                       ("weight", "weight column")):
        if meta.get(key):
            value = meta[key] if isinstance(meta[key], list) else [meta[key]]
            lines.append(f"{label}: {', '.join(_displayed(name) for name in value)}")
    print("\n".join(lines))
    return 0
