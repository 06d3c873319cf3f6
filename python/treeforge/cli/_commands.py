"""The ``treeforge`` sub-commands: train (read, fit with progress and checkpoints, save), predict, eval and info."""

import csv
import importlib.util
import io
import math
import os
import sys
import time

import numpy as np

from .._files import atomic_write, check_writable
from ..plotting import plot_training
from . import _tabular as tabular
from ._checkpoints import apply_checkpoint, interruption_error, make_checkpointer
from ._console import CLIError, Progress
from ._estimators import (
    check_param_names,
    collect_params,
    estimator_class,
    load_model_file,
    make_estimator,
    set_categorical_features,
)

DEMO_MODEL_PATH = "treeforge-demo-model.json"
_METADATA_VERSION = 1


def compute_metrics(task, estimator, X, y, sample_weight=None):
    """{name: value}: RMSE, MAE and R2 for regression; accuracy, log loss and AUC for classification.

    AUC is left out when some class is absent from ``y``.
    """
    from sklearn import metrics

    if task == "regression":
        pred = estimator.predict(X)
        return {"rmse": math.sqrt(metrics.mean_squared_error(y, pred, sample_weight=sample_weight)),
                "mae": metrics.mean_absolute_error(y, pred, sample_weight=sample_weight),
                "r2": metrics.r2_score(y, pred, sample_weight=sample_weight)}
    classes = estimator.classes_
    unknown = ~np.isin(y, classes)
    if unknown.any():
        raise CLIError(f"the target holds labels the model was not trained on, e.g. {y[unknown][0]!r}")
    proba = estimator.predict_proba(X)
    predicted = classes[np.argmax(proba, axis=1)]
    result = {"accuracy": metrics.accuracy_score(y, predicted, sample_weight=sample_weight),
              "log_loss": metrics.log_loss(y, proba, labels=classes, sample_weight=sample_weight)}
    if len(np.unique(y)) == len(classes):
        if len(classes) == 2:
            result["auc"] = metrics.roc_auc_score(y == classes[1], proba[:, 1], sample_weight=sample_weight)
        else:
            result["auc"] = metrics.roc_auc_score(y, proba, multi_class="ovr", labels=classes,
                                                  sample_weight=sample_weight)
    return result


def reading_options(args):
    """The options of ``read_csv`` that the command line's reading options give."""
    return {"delimiter": args.delimiter, "na_values": args.na_values, "decimal": args.decimal}


def _format_metrics(values):
    return "  ".join(f"{name} {value:.4f}" for name, value in values.items())


def _check_train_args(args):
    """Fill the --demo defaults and reject inconsistent training options before reading any data."""
    if args.demo:
        from ..datasets import DEMO_TARGET, demo_path

        args.data, args.target = demo_path(), DEMO_TARGET
        if args.valid is None and args.valid_fraction is None:
            args.valid_fraction = 0.2
        args.out = args.out or DEMO_MODEL_PATH
    if args.data is None or args.target is None:
        raise CLIError("train needs DATA.csv and --target COLUMN (or --demo, or --resume CHECKPOINT)")
    if args.valid and args.valid_fraction is not None:
        raise CLIError("--valid and --valid-fraction exclude each other")
    if args.valid_fraction is not None and not 0 < args.valid_fraction < 1:
        raise CLIError(f"--valid-fraction must be between 0 and 1, got {args.valid_fraction}")
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        raise CLIError("--plot needs matplotlib: pip install 'treeforge[plot]'")
    if args.checkpoint_every and args.model != "gbdt":
        raise CLIError(f"--checkpoint-every needs --model gbdt: --model {args.model} trains in one call")
    args.out = args.out or "model.json"
    args.checkpoint = args.checkpoint or os.path.splitext(args.out)[0] + ".checkpoint.json"
    writes_checkpoint = args.checkpoint_every or args.resume
    inputs = {"DATA": args.data, "--valid": args.valid, "--config": args.config}
    outputs = {"--out": args.out, "--plot": args.plot, "--checkpoint": args.checkpoint if writes_checkpoint else None}
    refuse_overwriting_inputs(inputs | {"--resume": args.resume}, {"--out": args.out, "--plot": args.plot})
    refuse_overwriting_inputs(inputs, outputs)
    check_input_files(inputs.values())
    check_outputs_writable(outputs.values())


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


def _held_out_rows(args, labels, task):
    """Sorted indices of the rows --valid-fraction holds out (stratified for classification)."""
    from sklearn.model_selection import train_test_split

    rows, seed = np.arange(len(labels)), args.params.get("random_state")
    try:
        held_out = train_test_split(rows, test_size=args.valid_fraction, random_state=seed,
                                    stratify=None if task == "regression" else labels)[1]
    except ValueError:  # a class too rare to stratify
        held_out = train_test_split(rows, test_size=args.valid_fraction, random_state=seed)[1]
    return np.sort(held_out)


def _split(args, meta, data, task, console, stored_rows):
    """(train [X, y, w], validation [X, y, w] or None, held-out row indices or None)."""
    if args.valid:
        return data, tabular.read_labelled(args.valid, meta, console, **reading_options(args)), None
    if args.valid_fraction is None:
        return data, None, None
    rows = _held_out_rows(args, data[1], task) if stored_rows is None else np.asarray(stored_rows)
    is_held_out = np.zeros(len(data[1]), dtype=bool)
    is_held_out[rows] = True
    pick = lambda mask: [None if a is None else np.ascontiguousarray(a[mask]) for a in data]  # noqa: E731
    return pick(~is_held_out), pick(is_held_out), rows


def _read_training_data(args, resumed, console):
    """(meta, [X, y, w], task, reason): the training table read and checked; the estimator not yet made."""
    if resumed:
        meta = resumed[1]
        table, source = tabular.read_csv(args.data, string_columns=tabular.text_columns(meta), console=console,
                                         **reading_options(args))
        tabular.require_columns(table, source, [meta["target"]], "target")
    else:
        table, source = tabular.read_csv(args.data, string_columns=args.categorical, console=console,
                                         **reading_options(args))
        schema = tabular.infer_schema(table, source, args.target, args.ignore, args.weight, args.categorical, console,
                                      keep_index=args.keep_index_column)
        meta = {"version": _METADATA_VERSION, "model": args.model, "target": args.target,
                "target_kind": tabular.target_kind(table, source, args.target, args.task), **schema,
                "ignored": list(args.ignore), "weight": args.weight}
    labels, present = tabular.target_values(table, source, meta["target"], meta["target_kind"])
    X = tabular.features_matrix(table, source, meta, console)
    w = tabular.weights_column(table, source, meta["weight"]) if meta["weight"] else None
    data = tabular.drop_missing_target(source, present, [X, labels, w], console)
    if resumed:
        return meta, data, meta["task"], "from the checkpoint"
    task, reason = tabular.infer_task(data[1], meta["target_kind"], meta["target"], args.task)
    return meta, data, task, reason


def cmd_train(args, console):
    """``treeforge train``: read the data, fit with progress and checkpoints, save the model atomically."""
    from ..ensemble._model_io import save_model

    resumed = apply_checkpoint(args) if args.resume else None
    _check_train_args(args)
    if not resumed:
        args.params = collect_params(args)
        check_param_names(args.model, args.params)
    tic = time.perf_counter()
    meta, data, task, reason = _read_training_data(args, resumed, console)
    console.result(f"task: {task} ({reason})")
    meta["task"] = task
    if resumed:
        estimator, stored = resumed[0], meta.pop("checkpoint")
        estimator.set_params(**{key: args.params[key] for key in ("max_iter", "n_jobs") if key in args.params})
    else:
        estimator, stored = make_estimator(estimator_class(args.model, task), args.params), {}
        set_categorical_features(estimator, meta, args.params)
    train, valid, held_out = _split(args, meta, data, task, console, stored.get("valid_rows"))
    del data
    meta["rows"] = {"train": len(train[1]), "valid": 0 if valid is None else len(valid[1])}

    fit_kwargs = {}
    is_boosting = args.model == "gbdt"
    if valid is not None and is_boosting:
        if "early_stopping" not in args.params:
            estimator.set_params(early_stopping=True)
            console.note("the validation set scores each iteration and stops training early "
                         "(--param early_stopping=false to train every iteration)")
        if estimator.early_stopping is not False:
            fit_kwargs.update(X_val=valid[0], y_val=valid[1], sample_weight_val=valid[2])
    progress, checkpointer = Progress(console, getattr(estimator, "scoring", "loss")), None
    if is_boosting:
        if args.checkpoint_every or resumed:
            checkpointer = make_checkpointer(args, meta, train, valid, held_out, stored)
        fit_kwargs["callback"] = lambda step: (progress(step), checkpointer and checkpointer(step))
    if resumed:
        estimator.set_params(warm_start=True)
    console.note(f"training {type(estimator).__name__} on {len(train[1])} rows and {len(meta['features'])} "
                 f"features ({len(meta['categories'])} categorical)")
    try:
        estimator.fit(train[0], train[1], sample_weight=train[2], **fit_kwargs)
    except KeyboardInterrupt:
        raise interruption_error(args, progress, checkpointer) from None
    finally:
        progress.close()
    if resumed:
        estimator.set_params(warm_start=stored["options"]["params"].get("warm_start", False))
    save_model(estimator, args.out, metadata={"cli": meta})

    size = ", ".join(_model_size(estimator))
    console.result(f"trained {type(estimator).__name__} ({size}) in {time.perf_counter() - tic:.1f} s")
    held, label = (valid, "validation") if valid is not None else (train, "training data")
    console.result(f"{label}: {_format_metrics(compute_metrics(task, estimator, *held))}")
    if args.plot:
        sets = {"train": tuple(train[:2])} | ({"validation": tuple(valid[:2])} if valid is not None else {})
        plot_training(args.plot, estimator, task, sets, meta["features"])
        console.result(f"plot saved to {args.plot}")
    console.result(f"model saved to {args.out}")
    return 0


def _write_predictions(columns, out, labels):
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
    """``treeforge predict``: predictions (and class probabilities) for every row of a CSV file."""
    refuse_overwriting_inputs({"MODEL.json": args.model, "DATA.csv": args.data}, {"--out": args.out})
    check_input_files([args.model, args.data])
    check_outputs_writable([args.out])  # before reading the model and the data, not after predicting
    estimator, meta = load_model_file(args.model)
    if args.proba and meta["task"] == "regression":
        raise CLIError("--proba needs a classification model; this one does regression")
    table, source = tabular.read_csv(args.data, string_columns=list(meta["categories"]), console=console,
                                     **reading_options(args))
    X = tabular.features_matrix(table, source, meta, console)
    columns = {"prediction": estimator.predict(X)}
    if args.proba:
        for label, proba in zip(estimator.classes_, estimator.predict_proba(X).T):
            columns[f"proba_{label}"] = proba
    _write_predictions(columns, args.out, getattr(estimator, "classes_", []))
    if args.out:
        console.note(f"{len(X)} predictions written to {args.out}")
    return 0


def cmd_eval(args, console):
    """``treeforge eval``: the task's metrics of a model on a labelled CSV file."""
    check_input_files([args.model, args.data])
    estimator, meta = load_model_file(args.model)
    if meta["target"] is None:
        raise CLIError(f"{args.model} does not name its target column (it was not written by treeforge train)")
    X, y, w = tabular.read_labelled(args.data, meta, console, **reading_options(args))
    values = compute_metrics(meta["task"], estimator, X, y, w)
    print(f"{meta['task']} on {len(y)} rows{' (weighted)' if w is not None else ''}: {_format_metrics(values)}")
    return 0


def _model_size(estimator):
    """["N iterations", "N trees", "N leaves"], as far as the estimator tells."""
    size = [f"{estimator.n_iter_} iterations"] if hasattr(estimator, "n_iter_") else []
    arrays = estimator._model_to_arrays()
    if "tree_offsets" in arrays and "left" in arrays:
        size += [f"{len(arrays['tree_offsets']) - 1} trees", f"{int(np.sum(np.asarray(arrays['left']) < 0))} leaves"]
    return size


def _feature_kind(estimator, meta, idx):
    """What ``info`` says of a feature: categorical (split on sets of its values) only if the model says so."""
    is_categorical = getattr(estimator, "is_categorical_", None)
    name = meta["features"][idx]
    if is_categorical is not None and is_categorical[idx]:
        n_values = len(meta["categories"].get(name) or estimator._categories[idx])
        return f"  categorical, {n_values} values"
    if name in meta["categories"]:  # a model trained before native categorical splits
        return f"  text as ordinal codes (split as numbers), {len(meta['categories'][name])} values"
    return ""


def _displayed(name):
    """A column name as ``info`` lists it: a blank one (an index column kept) as ``(no name)``."""
    return str(name) if str(name).strip() else "(no name)"


def cmd_info(args, console):
    """``treeforge info``: model kind, task, size and the features by importance."""
    estimator, meta = load_model_file(args.model)
    lines = [f"model: {type(estimator).__name__}" + (f" (--model {meta['model']})" if meta.get("model") else ""),
             f"task: {meta['task']}" + (f", target '{meta['target']}'" if meta["target"] else "")]
    if hasattr(estimator, "classes_"):
        lines.append("classes: " + ", ".join(str(label) for label in estimator.classes_))
    lines.append(", ".join(_model_size(estimator)) or "size: unknown")
    if meta.get("rows"):
        n_valid = meta["rows"]["valid"]
        lines.append(f"trained on {meta['rows']['train']} rows" + (f", validated on {n_valid}" if n_valid else ""))
    importances = np.asarray(getattr(estimator, "feature_importances_", np.zeros(len(meta["features"]))))
    lines.append(f"features ({len(meta['features'])}, by importance):")
    names = [_displayed(name) for name in meta["features"]]
    width = max(len(name) for name in names)
    for idx in np.argsort(-importances, kind="stable"):
        lines.append(f"  {names[idx]:<{width}}  {importances[idx]:.4f}{_feature_kind(estimator, meta, idx)}")
    for key, label in (("ignored", "ignored columns"), ("index_columns", "index columns left out"),
                       ("weight", "weight column")):
        if meta.get(key):
            value = meta[key] if isinstance(meta[key], list) else [meta[key]]
            lines.append(f"{label}: {', '.join(_displayed(name) for name in value)}")
    print("\n".join(lines))
    return 0
