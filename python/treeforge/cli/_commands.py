"""The ``treeforge`` command: train, predict, eval and info on CSV files (arguments, progress, checkpoints, saving).

CSV reading and the column rules live in ``_tabular``; the estimators do all the training. Model
files keep the feature names, target, task, categories and ignored columns in their metadata, so
``predict`` and ``eval`` match columns by name. Errors are one line on stderr with exit code 1
(130 after Ctrl-C); ``TREEFORGE_TRACEBACK=1`` shows the traceback instead.
"""

import argparse
import csv
import hashlib
import importlib
import importlib.util
import io
import json
import math
import os
import sys
import time

import numpy as np

from .. import __version__
from . import _tabular as tabular

# --model -> (module of treeforge, classifier, regressor); a module is imported on first use.
MODELS = {
    "gbdt": ("ensemble._gradient_boosting", "HistGradientBoostingClassifier", "HistGradientBoostingRegressor"),
    "rf": ("ensemble._forest", "RandomForestClassifier", "RandomForestRegressor"),
    "adaboost": ("ensemble._weight_boosting", "AdaBoostClassifier", "AdaBoostRegressor"),
}
TASKS = ("auto", "regression", "binary", "multiclass")
DEMO_MODEL_PATH = "treeforge-demo-model.json"
_METADATA_VERSION = 1
_CURVE_ROWS = 20_000  # rows scored per iteration for the --plot learning curve
_REDRAW_SECONDS = 0.1  # the progress bar is redrawn at most this often
# Options a checkpoint stores; `train --resume` restores them (DATA and --valid may be given anew).
_RESUMED_OPTIONS = ("data", "target", "model", "task", "valid", "valid_fraction", "ignore", "weight",
                    "categorical", "params", "seed", "delimiter", "na_values")


class CLIError(Exception):
    """A problem the user can fix: printed as one line on stderr, then exit with ``exit_code``."""

    def __init__(self, message, exit_code=1):
        super().__init__(message)
        self.exit_code = exit_code


class Console:
    """Where messages go: results on stdout, notes and progress on stderr; ``quiet`` keeps warnings only."""

    def __init__(self, quiet=False):
        self.quiet = quiet

    def result(self, message):
        if not self.quiet:
            print(message, flush=True)

    def note(self, message):
        if not self.quiet:
            print(f"note: {message}", file=sys.stderr, flush=True)

    @staticmethod
    def warn(message):
        print(f"warning: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Estimators and parameters
# --------------------------------------------------------------------------------------------


def _import_estimator_module(module_name):
    """The module ``treeforge.<module_name>``, or None if this installation does not have it."""
    try:
        return importlib.import_module(f"treeforge.{module_name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"treeforge.{module_name}":
            raise
        return None


def estimator_class(model, task):
    """The estimator class of ``--model`` for a task; CLIError if treeforge does not have it."""
    module_name, classifier, regressor = MODELS[model]
    name = regressor if task == "regression" else classifier
    cls = getattr(_import_estimator_module(module_name), name, None)
    if cls is None:
        raise CLIError(f"--model {model} needs treeforge.{name}, which this installation of treeforge does not have")
    return cls


def parse_value(text):
    """A ``--param`` value: bool, None, int, float, a JSON list or object, else the string itself."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    if text.strip()[:1] in ("[", "{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass
    return text


def read_config(path):
    """Estimator parameters from a TOML file of top-level ``key = value`` pairs."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise CLIError("reading --config needs Python 3.11 or the tomli package") from None
    try:
        with open(path, "rb") as handle:
            config = tomllib.load(handle)
    except FileNotFoundError:
        raise CLIError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise CLIError(f"{path} is not valid TOML: {exc}") from None
    tables = [key for key, value in config.items() if isinstance(value, dict)]
    if tables:
        raise CLIError(f"{path}: parameters are top-level keys, found the table [{tables[0]}]")
    return config


def collect_params(args):
    """Estimator parameters: the --config file, then --param KEY=VALUE, then --seed and --threads."""
    params = read_config(args.config) if args.config else {}
    for item in args.params or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CLIError(f"--param expects KEY=VALUE, got '{item}'")
        params[key.strip()] = parse_value(value)
    if args.seed is not None:
        params["random_state"] = args.seed
    params.setdefault("random_state", 0)
    if args.threads is not None:
        params["n_jobs"] = args.threads
    return params


def _reject_unknown_params(params, names, owner):
    """CLIError for the first parameter not in ``names``, suggesting the nearest valid one."""
    for key in params:
        if key not in names:
            raise CLIError(f"unknown parameter '{key}' for {owner}" + tabular.did_you_mean(key, sorted(names)))


def _check_param_names(model, params):
    """Reject a parameter that neither estimator of ``--model`` has, before any data is read."""
    names = {name for task in ("binary", "regression") for name in estimator_class(model, task)().get_params()}
    _reject_unknown_params(params, names, f"--model {model}")


def make_estimator(cls, params):
    """An estimator of class ``cls`` with ``params``, checked by scikit-learn's constraints."""
    estimator = cls()
    _reject_unknown_params(params, estimator.get_params(deep=False), cls.__name__)
    estimator.set_params(**params)
    estimator._validate_params()  # scikit-learn's constraints: a bad value fails before training
    return estimator


# --------------------------------------------------------------------------------------------
# Progress and checkpoints
# --------------------------------------------------------------------------------------------


def _clock(seconds):
    hours, minutes, seconds = int(seconds) // 3600, int(seconds) // 60 % 60, int(seconds) % 60
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class Progress:
    """Training progress on stderr: a bar redrawn in place on a terminal, a line per tenth otherwise.

    Called with a ``BoostingProgress`` after every iteration; ``scoring`` names the metric shown
    (the estimator's ``scoring``: scores of 'loss' are negated losses).
    """

    def __init__(self, console, scoring, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = not console.quiet
        self.is_terminal = self.stream.isatty()
        self.metric = "loss" if scoring == "loss" else str(scoring)
        self.start_time = self.start_iter = self.last_iter = None
        self.drawn, self.drawn_at = False, -math.inf

    def __call__(self, progress):
        self.last_iter = done = progress.n_iter
        if not self.enabled:
            return
        now = time.perf_counter()
        if self.start_time is None:
            self.start_time, self.start_iter = now, done - 1
        total, elapsed = progress.max_iter, now - self.start_time
        remaining = elapsed / max(done - self.start_iter, 1) * (total - done)
        text = f"{done}/{total}  elapsed {_clock(elapsed)}  remaining {_clock(remaining)}"
        for label, scores in (("valid", progress.validation_score), ("train", progress.train_score)):
            if len(scores):
                text += f"  {label} {self.metric} {-scores[-1] if self.metric == 'loss' else scores[-1]:.5g}"
                break
        if self.is_terminal:
            if not progress.is_last and now - self.drawn_at < _REDRAW_SECONDS:
                return
            filled = int(30 * done / total)
            self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {text}\033[K")
            self.drawn, self.drawn_at = True, now
        elif progress.is_last or done % max(1, math.ceil(total / 10)) == 0:
            self.stream.write(f"iteration {text}\n")
        self.stream.flush()

    def close(self):
        """End the redrawn line, if any."""
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False


class Checkpointer:
    """Saves ``progress.snapshot()`` with ``metadata`` to ``path`` every ``every`` iterations, atomically.

    No checkpoint is written after the last iteration: the model file is written instead.
    """

    def __init__(self, path, every, metadata):
        self.path, self.every, self.metadata = path, every, metadata
        self.last_iter = None
        self._file_before = self._file_identity()

    def _file_identity(self):
        try:
            status = os.stat(self.path)
        except OSError:
            return None
        return status.st_ino, status.st_mtime_ns

    def has_written(self):
        """Whether this run wrote the checkpoint file (Ctrl-C may land between the rename and ``last_iter``)."""
        return self.last_iter is not None or self._file_identity() not in (None, self._file_before)

    def __call__(self, progress):
        if self.every and progress.n_iter % self.every == 0 and not progress.is_last:
            from ..ensemble._model_io import save_model

            save_model(progress.snapshot(), self.path, metadata=self.metadata)
            self.last_iter = progress.n_iter


def _fingerprint(*arrays):
    """SHA-256 of the arrays' contents: a checkpoint continues only on the data it was trained on."""
    digest = hashlib.sha256()
    for array in arrays:
        if array is None:
            digest.update(b"none")
        elif array.dtype == object:
            digest.update("\x1f".join(map(str, array)).encode())
        else:
            digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# Model files, metrics and plots
# --------------------------------------------------------------------------------------------


def load_model_file(path):
    """(estimator, metadata of the command line) of a model file.

    The metadata is rebuilt from the estimator for a file saved from Python (every feature numeric).
    """
    from ..ensemble._model_io import load_model_with_metadata

    for module_name, _, _ in MODELS.values():  # model files may name any estimator that exists
        _import_estimator_module(module_name)
    if not os.path.isfile(path):
        raise CLIError(f"{path}: no such file" if not os.path.exists(path) else f"{path} is not a file")
    estimator, metadata = load_model_with_metadata(path)
    meta = metadata.get("cli")
    if meta is None:
        names = getattr(estimator, "feature_names_in_", None)
        if names is None:
            raise CLIError(f"{path} has no feature names: it was fitted on an array, not a table")
        classes = getattr(estimator, "classes_", None)
        meta = {"features": [str(name) for name in names], "categories": {}, "known": [], "target": None,
                "weight": None, "ignored": [], "model": None,
                "target_kind": "text" if classes is not None and classes.dtype == object else "number",
                "task": "regression" if classes is None else "binary" if len(classes) == 2 else "multiclass"}
    return estimator, meta


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


def _format_metrics(values):
    return "  ".join(f"{name} {value:.4f}" for name, value in values.items())


def _learning_curve(estimator, task, X, y):
    """Log loss or RMSE after each iteration, or None for a model without staged predictions."""
    from sklearn import metrics

    if task == "regression":
        staged = getattr(estimator, "staged_predict", None)
        return None if staged is None else [math.sqrt(metrics.mean_squared_error(y, out)) for out in staged(X)]
    staged = getattr(estimator, "staged_predict_proba", None)
    return None if staged is None else [metrics.log_loss(y, out, labels=estimator.classes_) for out in staged(X)]


def plot_training(path, estimator, task, sets, feature_names):
    """Write a PNG: learning curves of the (X, y) pairs in ``sets`` and the top 20 feature importances."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (curve_axes, bar_axes) = plt.subplots(1, 2, figsize=(12, 4.8), constrained_layout=True)
    for label, (X, y) in sets.items():
        if len(y) > _CURVE_ROWS:
            rows = np.random.default_rng(0).choice(len(y), _CURVE_ROWS, replace=False)
            X, y = X[rows], y[rows]
        curve = _learning_curve(estimator, task, X, y)
        if curve is not None:
            curve_axes.plot(np.arange(1, len(curve) + 1), curve, label=label)
    curve_axes.set(xlabel="iteration", ylabel="RMSE" if task == "regression" else "log loss", title="learning curve")
    if curve_axes.lines:
        curve_axes.legend()
    importances = np.asarray(getattr(estimator, "feature_importances_", np.zeros(len(feature_names))))
    top = np.argsort(importances)[::-1][:20][::-1]
    bar_axes.barh([feature_names[i] for i in top], importances[top])
    bar_axes.set(xlabel="share of split gain", title="feature importances")
    temp_path = f"{path}.{os.getpid()}.tmp.png"
    try:
        figure.savefig(temp_path, dpi=110)
        os.replace(temp_path, path)  # like the model file: never a half-written image
    finally:
        plt.close(figure)
        if os.path.exists(temp_path):
            os.unlink(temp_path)


# --------------------------------------------------------------------------------------------
# train
# --------------------------------------------------------------------------------------------


def _apply_checkpoint(args):
    """Load ``--resume`` and put the training options it stores into ``args``; returns (estimator, meta)."""
    estimator, meta = load_model_file(args.resume)
    if "checkpoint" not in meta:
        raise CLIError(f"{args.resume} is a model file, not a checkpoint written by --checkpoint-every")
    for option in ("target", "valid_fraction", "ignore", "weight", "categorical", "seed", "delimiter",
                   "na_values", "config", "demo"):
        if getattr(args, option) not in (None, False, []):
            raise CLIError(f"--{option.replace('_', '-')} cannot be changed when resuming: the checkpoint keeps it")
    changed = [item.partition("=")[0] for item in args.params or () if item.partition("=")[0] != "max_iter"]
    if changed:
        raise CLIError(f"--param {changed[0]} cannot be changed when resuming (max_iter can)")
    stored = meta["checkpoint"]["options"]
    max_iter = [parse_value(item.partition("=")[2]) for item in args.params or ()]
    for option in _RESUMED_OPTIONS:
        if not (option in ("data", "valid") and getattr(args, option)):
            setattr(args, option, stored[option])
    if max_iter:
        args.params = {**args.params, "max_iter": max_iter[-1]}
    if args.threads is not None:
        args.params = {**args.params, "n_jobs": args.threads}
    args.out = args.out or stored["out"]
    args.checkpoint = args.checkpoint or args.resume
    return estimator, meta


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
    for path in [args.out, args.plot] + ([args.checkpoint] if args.checkpoint_every else []):
        if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise CLIError(f"cannot write {path}: its directory does not exist")


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
        return data, tabular.read_labelled(args.valid, meta, args.delimiter, args.na_values, console), None
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
        table, source = tabular.read_csv(args.data, args.delimiter, args.na_values, tabular.text_columns(meta))
        tabular.require_columns(table, source, [meta["target"]], "target")
    else:
        table, source = tabular.read_csv(args.data, args.delimiter, args.na_values, args.categorical)
        schema = tabular.infer_schema(table, source, args.target, args.ignore, args.weight, args.categorical, console)
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


def _make_checkpointer(args, meta, train, valid, held_out, stored):
    """The run's Checkpointer, its metadata holding all that a resumed run needs; a resumed run's
    data must be the checkpoint's (same fingerprint)."""
    fingerprint = _fingerprint(*train, *(valid or (None,) * 3))
    if stored and fingerprint != stored["fingerprint"]:
        raise CLIError(f"the data differ from the data the checkpoint {args.resume} was trained on")
    options = {option: getattr(args, option) for option in _RESUMED_OPTIONS}
    options.update(task=meta["task"], out=os.path.abspath(args.out), data=os.path.abspath(args.data),
                   valid=args.valid and os.path.abspath(args.valid))
    checkpoint = {"options": options, "fingerprint": fingerprint, "valid_rows": held_out}
    return Checkpointer(args.checkpoint, args.checkpoint_every, {"cli": {**meta, "checkpoint": checkpoint}})


def _interrupted(args, progress, checkpointer):
    """The CLIError (exit code 130) after Ctrl-C: nothing written, and how to resume."""
    done = f" after {progress.last_iter} iterations" if progress.last_iter else ""
    if checkpointer is not None and (checkpointer.has_written() or args.resume):
        return CLIError(f"interrupted{done}: no model written; the checkpoint {checkpointer.path} is valid, "
                        f"continue with: treeforge train --resume {checkpointer.path}", exit_code=130)
    hint = " (--checkpoint-every N makes training resumable)" if args.model == "gbdt" else ""
    return CLIError(f"interrupted{done}: no model written{hint}", exit_code=130)


def cmd_train(args, console):
    """``treeforge train``: read the data, fit with progress and checkpoints, save the model atomically."""
    from ..ensemble._model_io import save_model

    resumed = _apply_checkpoint(args) if args.resume else None
    _check_train_args(args)
    if not resumed:
        args.params = collect_params(args)
        _check_param_names(args.model, args.params)
    tic = time.perf_counter()
    meta, data, task, reason = _read_training_data(args, resumed, console)
    console.result(f"task: {task} ({reason})")
    meta["task"] = task
    if resumed:
        estimator, stored = resumed[0], meta.pop("checkpoint")
        estimator.set_params(**{key: args.params[key] for key in ("max_iter", "n_jobs") if key in args.params})
    else:
        estimator, stored = make_estimator(estimator_class(args.model, task), args.params), {}
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
            checkpointer = _make_checkpointer(args, meta, train, valid, held_out, stored)
        fit_kwargs["callback"] = lambda step: (progress(step), checkpointer and checkpointer(step))
    if resumed:
        estimator.set_params(warm_start=True)
    console.note(f"training {type(estimator).__name__} on {len(train[1])} rows and {len(meta['features'])} "
                 f"features ({len(meta['categories'])} categorical)")
    try:
        estimator.fit(train[0], train[1], sample_weight=train[2], **fit_kwargs)
    except KeyboardInterrupt:
        raise _interrupted(args, progress, checkpointer) from None
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


# --------------------------------------------------------------------------------------------
# predict, eval, info
# --------------------------------------------------------------------------------------------


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
    temp_path = f"{out}.{os.getpid()}.tmp"
    try:
        with open(temp_path, "wb") as handle:
            write(handle)
        os.replace(temp_path, out)
    finally:
        if os.path.exists(temp_path):
            os.unlink(temp_path)


def cmd_predict(args, console):
    """``treeforge predict``: predictions (and class probabilities) for every row of a CSV file."""
    estimator, meta = load_model_file(args.model)
    if args.proba and meta["task"] == "regression":
        raise CLIError("--proba needs a classification model; this one does regression")
    table, source = tabular.read_csv(args.data, args.delimiter, args.na_values, list(meta["categories"]))
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
    estimator, meta = load_model_file(args.model)
    if meta["target"] is None:
        raise CLIError(f"{args.model} does not name its target column (it was not written by treeforge train)")
    X, y, w = tabular.read_labelled(args.data, meta, args.delimiter, args.na_values, console)
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
    width = max(len(name) for name in meta["features"])
    for idx in np.argsort(-importances, kind="stable"):
        name = meta["features"][idx]
        kind = f"  categorical, {len(meta['categories'][name])} values" if name in meta["categories"] else ""
        lines.append(f"  {name:<{width}}  {importances[idx]:.4f}{kind}")
    for key, label in (("ignored", "ignored columns"), ("weight", "weight column")):
        if meta.get(key):
            lines.append(f"{label}: {', '.join(meta[key]) if isinstance(meta[key], list) else meta[key]}")
    print("\n".join(lines))
    return 0


# --------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Appends each option's default to its help, unless the help already states it."""

    def _get_help_string(self, action):
        text = action.help or ""
        has_default = action.default not in (None, False, [], argparse.SUPPRESS)
        if "default" not in text and action.option_strings and has_default:
            text += " (default: %(default)s)"
        return text


def _delimiter(text):
    text = {"\\t": "\t", "tab": "\t"}.get(text, text)
    if len(text) != 1:
        raise argparse.ArgumentTypeError(f"a delimiter is one character (or 'tab'), got {text!r}")
    return text


def _add_reading_options(parser):
    parser.add_argument("--delimiter", type=_delimiter, metavar="CHAR",
                        help="field delimiter; 'tab' for tabs (default: sniffed among , ; tab |)")
    parser.add_argument("--na-values", nargs="+", action="extend", default=[], metavar="TOKEN",
                        help="extra missing-value markers, besides "
                             + ", ".join(repr(marker) for marker in tabular.MISSING_MARKERS))


def _add_model_command(commands, name, command, summary, description, data_help):
    """A sub-command taking MODEL.json and DATA.csv (predict, eval), with the reading options."""
    parser = commands.add_parser(name, help=summary, description=description, formatter_class=_HelpFormatter)
    parser.set_defaults(command=command)
    parser.add_argument("model", metavar="MODEL.json", help="model file written by treeforge train")
    parser.add_argument("data", metavar="DATA.csv", help=data_help)
    _add_reading_options(parser)
    parser.add_argument("--quiet", action="store_true", help="no notes")
    return parser


_TRAIN_EPILOG = """\
columns:
  A column of numbers is a numeric feature; a column of text is categorical (its values become
  codes stored in the model; at predict time an unseen value is missing, with a warning), unless
  90% of its values are numbers: then the others are an error naming their line and column (add
  the token to --na-values or pass --categorical COL). A text or boolean target holds class
  labels; rows with a missing target are dropped. --task auto infers regression, binary or
  multiclass from the target and says what it inferred.

examples:
  treeforge train --demo
  treeforge train data.csv --target price --ignore id --param max_iter=300 learning_rate=0.05
  treeforge train data.csv --target churned --valid-fraction 0.2 --checkpoint-every 50
  treeforge train --resume model.checkpoint.json
"""


def build_parser():
    """The ``treeforge`` argument parser, one sub-command per task."""
    parser = argparse.ArgumentParser(
        prog="treeforge", formatter_class=_HelpFormatter,
        description="Train tree ensembles on CSV files and use them: train, predict, eval, info.",
        epilog="Run 'treeforge COMMAND --help' for the options of a command.")
    parser.add_argument("--version", action="version", version=f"treeforge {__version__}")
    commands = parser.add_subparsers(dest="command_name", metavar="COMMAND", required=True)

    train = commands.add_parser("train", help="train a model on a CSV file", formatter_class=_HelpFormatter,
                                description="Train a model on a CSV file and save it.", epilog=_TRAIN_EPILOG)
    train.set_defaults(command=cmd_train)
    train.add_argument("data", nargs="?", metavar="DATA.csv", help="training data (CSV, optionally gzip-compressed)")
    train.add_argument("--target", metavar="COL", help="the column to predict (required)")
    train.add_argument("--model", choices=sorted(MODELS), default="gbdt",
                       help="gradient boosting, random forest or AdaBoost")
    train.add_argument("--task", choices=TASKS, default="auto", help="what the target is; auto infers it")
    train.add_argument("--valid", metavar="VALID.csv", help="validation data: scores each iteration, held-out metrics")
    train.add_argument("--valid-fraction", type=float, metavar="F",
                       help="hold out this fraction of DATA as validation data (default: none; 0.2 with --demo)")
    train.add_argument("--ignore", nargs="+", action="extend", default=[], metavar="COL",
                       help="columns that are not features (ids, leaks); also ignored by predict")
    train.add_argument("--weight", metavar="COL", help="column of sample weights (default: none)")
    train.add_argument("--categorical", nargs="+", action="extend", default=[], metavar="COL",
                       help="columns encoded as categories even if they hold numbers")
    train.add_argument("--param", nargs="+", action="extend", dest="params", metavar="KEY=VALUE",
                       help="estimator parameters, named as in the estimator (max_iter, learning_rate, ...)")
    train.add_argument("--config", metavar="FILE.toml", help="TOML file of parameters; --param overrides it")
    train.add_argument("--out", metavar="MODEL.json",
                       help=f"model file (default: model.json; {DEMO_MODEL_PATH} with --demo)")
    train.add_argument("--seed", type=int, metavar="N", help="random seed: same seed, same model (default: 0)")
    train.add_argument("--threads", type=int, metavar="N", help="threads (default: all cores); no effect on the model")
    _add_reading_options(train)
    train.add_argument("--checkpoint-every", type=int, default=0, metavar="N",
                       help="write a resumable checkpoint every N iterations (gbdt; default: 0, never)")
    train.add_argument("--checkpoint", metavar="PATH",
                       help="checkpoint file (default: MODEL.checkpoint.json beside --out)")
    train.add_argument("--resume", metavar="CHECKPOINT",
                       help="continue from a checkpoint to the requested iterations (--param max_iter=N to change)")
    train.add_argument("--plot", metavar="FILE.png", help="draw the learning curve and importances (needs matplotlib)")
    train.add_argument("--demo", action="store_true", help="train on the dataset shipped with treeforge")
    train.add_argument("--quiet", action="store_true", help="no progress bar and no notes")

    predict = _add_model_command(commands, "predict", cmd_predict, "predict with a model",
                                 "Predict every row of a CSV file; columns are matched by name.", "rows to predict")
    predict.add_argument("--out", metavar="PRED.csv", help="output CSV (default: standard output)")
    predict.add_argument("--proba", action="store_true", help="also write one probability column per class")
    _add_model_command(commands, "eval", cmd_eval, "metrics of a model on labelled data",
                       "RMSE, MAE and R2 (regression); accuracy, log loss and AUC (classification).",
                       "rows with the target column")

    info = commands.add_parser("info", help="describe a model file", formatter_class=_HelpFormatter,
                               description="Model kind, task, number of trees and leaves, features by importance.")
    info.set_defaults(command=cmd_info, quiet=False)
    info.add_argument("model", metavar="MODEL.json", help="model file")
    return parser


def main(argv=None):
    """Run the ``treeforge`` command; returns its exit code (0, 1 for an error, 130 after Ctrl-C)."""
    args = build_parser().parse_args(argv)
    console = Console(args.quiet)
    try:
        return args.command(args, console)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `treeforge predict ... | head`
        sys.stderr.close()
        return 1
    except (CLIError, tabular.DataError, ValueError, TypeError, OSError) as exc:
        if os.environ.get("TREEFORGE_TRACEBACK"):
            raise
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return getattr(exc, "exit_code", 1)
