"""``treeforge train``: the training options checked, the data read and split, early stopping planned and
said, the fit with progress and checkpoints, the model saved and the run summarised."""

import importlib.util
import math
import os
import time

import numpy as np

from ..datasets import DEMO_MODEL_PATH, DEMO_TARGET, demo_path
from ..plotting import plot_training
from . import _tabular as tabular
from ._checkpoints import apply_checkpoint, interruption_error, make_checkpointer
from ._commands import (
    check_input_files,
    check_outputs_writable,
    format_metrics,
    reading_options,
    refuse_overwriting_inputs,
)
from ._console import CLIError, Progress, duration
from ._csv import release_reading_memory
from ._estimators import (
    check_param_names,
    check_ranking_options,
    collect_params,
    estimator_class,
    import_in_background,
    join_background_imports,
    make_estimator,
    set_categorical_features,
)
from ._info import model_size
from ._metrics import compute_metrics

_METADATA_VERSION = 1
_ROW_BLOCK = 65536  # rows moved at a time when the held-out rows are taken out of the training data


def _check_train_args(args):
    """Fill the --demo defaults and reject inconsistent training options before reading any data."""
    if args.demo:
        args.data, args.target = demo_path(), DEMO_TARGET
        if args.valid is None and args.valid_fraction is None:
            args.valid_fraction = 0.2
        args.out = args.out or DEMO_MODEL_PATH
    if args.out == "-":
        raise CLIError("--out -: train writes its model to a file, not to standard output; name the file")
    if args.data is None or args.target is None:
        raise CLIError("train needs DATA.csv and --target COLUMN (or --demo, or --resume CHECKPOINT)")
    if args.valid and args.valid_fraction is not None:
        raise CLIError("--valid and --valid-fraction exclude each other")
    if args.valid_fraction is not None and not args.resume and not 0 < args.valid_fraction < 1:
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


def _held_out_rows(args, labels, task, qid=None):
    """Sorted indices of the rows --valid-fraction holds out (stratified for classification; whole
    queries for ranking)."""
    join_background_imports()
    from sklearn.model_selection import GroupShuffleSplit, train_test_split

    rows, seed = np.arange(len(labels)), args.params.get("random_state")
    if task == "ranking":
        split = GroupShuffleSplit(n_splits=1, test_size=args.valid_fraction, random_state=seed)
        return np.sort(next(split.split(rows, groups=qid))[1])
    if task != "regression":
        try:
            return stratified_held_out_rows(labels, args.valid_fraction, seed)
        except ValueError:  # a class too rare to stratify
            pass
    return np.sort(train_test_split(rows, test_size=args.valid_fraction, random_state=seed)[1])


def _classes_of(labels):
    """(class index of each row, rows of each class): ``np.unique``'s, in O(n) for integer and bool labels."""
    if labels.dtype == bool or (labels.dtype.kind in "iu" and len(labels)
                                and int(labels.max()) - int(labels.min()) <= 2 * len(labels)):
        shifted = labels.astype(np.uint8) if labels.dtype == bool else labels - labels.min()
        counts = np.bincount(shifted)
        present = counts > 0
        return (np.cumsum(present) - 1)[shifted], counts[present]
    return np.unique(labels, return_inverse=True, return_counts=True)[1:]


def stratified_held_out_rows(labels, fraction, seed):
    """The rows ``train_test_split(rows, test_size=fraction, random_state=seed, stratify=labels)[1]``
    holds out, sorted: scikit-learn's ``StratifiedShuffleSplit`` (each class's rows in file order,
    shuffled by one permutation of the seeded generator, the first ``n_i`` of them trained on and the
    next ``t_i`` held out, ``n_i`` and ``t_i`` drawn by the same generator as it draws them) in O(n)
    NumPy, without its lists of every row: the same rows, tested against it. ValueError where it
    raises one (a class of one row; fewer rows held out or trained on than classes)."""
    join_background_imports()
    from sklearn.utils import check_random_state

    n_rows = len(labels)
    n_test = math.ceil(fraction * n_rows)
    n_train = n_rows - n_test
    y_indices, class_counts = _classes_of(labels)
    n_classes = len(class_counts)
    if class_counts.min() < 2 or n_train < n_classes or n_test < n_classes:
        raise ValueError("too few rows of a class to stratify")
    if n_classes <= 16:
        class_rows = [np.flatnonzero(y_indices == i) for i in range(n_classes)]
    else:
        class_rows = np.split(np.argsort(y_indices, kind="stable"), np.cumsum(class_counts)[:-1])
    rng = check_random_state(seed)
    n_i = _approximate_mode(class_counts, n_train, rng)
    t_i = _approximate_mode(class_counts - n_i, n_test, rng)
    held_out = [class_rows[i][rng.permutation(class_counts[i])[n_i[i]:n_i[i] + t_i[i]]] for i in range(n_classes)]
    return np.sort(np.concatenate(held_out))


def _approximate_mode(class_counts, n_draws, rng):
    """``sklearn.utils.extmath._approximate_mode`` (private there): the rows of each class in ``n_draws``,
    proportional to ``class_counts``, the remainders' ties broken by ``rng``."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (inds,) = np.where(remainder == value)
            add_now = min(len(inds), need_to_add)
            floored[rng.choice(inds, size=add_now, replace=False)] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    return floored.astype(int)


def _rows_kept_in_place(array, is_kept):
    """``array[is_kept]`` without a second copy of ``array``: the rows kept are moved up over the
    others, in order, block by block (a row never moves down, so no block overwrites rows still to be
    read), and the leading rows are returned as a view. ``array`` must not be used afterwards."""
    if not isinstance(array, np.ndarray) or not array.flags.writeable:  # sparse; a view of pyarrow's memory
        return array[is_kept]
    kept = np.flatnonzero(is_kept)
    for start in range(0, len(kept), _ROW_BLOCK):
        rows = kept[start:start + _ROW_BLOCK]
        array[start:start + len(rows)] = array[rows]
    return array[:len(kept)]


def _split(args, meta, data, task, console, stored_rows):
    """(train [X, y, w, qid], validation [X, y, w, qid] or None, held-out row indices or None).

    The arrays of ``data`` are reused: the training rows are those of ``data`` moved up in place.
    """
    if args.valid:
        console.note(f"reading {args.valid} ...")
        return data, tabular.read_labelled(args.valid, meta, console, **reading_options(args)), None
    if args.valid_fraction is None:
        return data, None, None
    rows = _held_out_rows(args, data[1], task, data[3]) if stored_rows is None else np.asarray(stored_rows)
    is_held_out = np.zeros(len(data[1]), dtype=bool)
    is_held_out[rows] = True
    valid = [None if a is None else a[is_held_out] for a in data]  # copied out before the move below
    return [None if a is None else _rows_kept_in_place(a, ~is_held_out) for a in data], valid, rows


def read_training_data(args, resumed, console):
    """(meta, [X, y, w, qid], task, reason): the training table read and checked; the estimator not yet made
    (train, cv). Said as a phase: a large file takes seconds to read and encode."""
    tic = time.perf_counter()
    console.note(f"reading {args.data} ...")
    if resumed:
        meta = resumed[1]
        table, source = tabular.read_table(args.data, string_columns=tabular.text_columns(meta), console=console,
                                           features=meta["features"], **reading_options(args))
        tabular.require_columns(table, source, [meta["target"]], "target")
    else:
        table, source = tabular.read_table(args.data, string_columns=args.categorical, console=console,
                                           **reading_options(args))
        schema = tabular.infer_schema(table, source, args.target, args.ignore, args.weight, args.categorical, console,
                                      keep_index=args.keep_index_column, group=args.group)
        meta = {"version": _METADATA_VERSION, "model": args.model, "target": args.target,
                "target_kind": tabular.target_kind(table, source, args.target, args.task), **schema,
                "ignored": list(args.ignore), "weight": args.weight, "group": args.group}
    labels, present = tabular.target_values(table, source, meta["target"], meta["target_kind"])
    w = tabular.weights_column(table, source, meta["weight"]) if meta["weight"] else None
    qid = tabular.query_ids(table, source, meta["group"]) if meta.get("group") else None
    tables = [table]
    del table
    X = tabular.features_matrix(tables, source, meta, console)
    data = tabular.drop_missing_target(source, present, [X, labels, w, qid], console)
    del X, labels, w, qid
    release_reading_memory()  # the table's memory, kept by pyarrow's allocator, goes back before the fit
    console.note(f"read {len(data[1])} rows in {duration(time.perf_counter() - tic)}")
    if resumed:
        return meta, data, meta["task"], "from the checkpoint"
    task, reason = tabular.infer_task(data[1], meta["target_kind"], meta["target"], args.task)
    return meta, data, task, reason


def early_stopping_mode(args):
    """'on', 'off' or 'auto': --early-stopping, else --param early_stopping (not both), else 'auto'.

    Forests and AdaBoost grow every tree they are asked for: 'on' is refused for them, and the
    others change nothing.
    """
    if args.early_stopping and "early_stopping" in args.params:
        raise CLIError("--early-stopping and --param early_stopping are both given: keep one")
    if args.model != "gbdt":
        if args.early_stopping == "on":
            raise CLIError(f"--early-stopping on needs --model gbdt: --model {args.model} grows every tree "
                           "it is asked for")
        return "off"
    if args.early_stopping:
        return args.early_stopping
    value = args.params.get("early_stopping", "auto")
    return "auto" if value == "auto" else "on" if value else "off"


def _plan_early_stopping(args, estimator, mode, n_rows):
    """Whether a new boosting run stops early, set on the estimator, and why ('' when asked for).

    Without a validation set (--valid, --valid-fraction), 'on' and 'auto' above the estimators'
    threshold hold out ``validation_fraction`` of the rows here (``args.valid_fraction``), so that the
    rows trained on, the held-out ones and their metrics are known; with one, 'auto' is 'on'.
    """
    from ..ensemble._gradient_boosting import _AUTO_EARLY_STOPPING_MIN_SAMPLES as threshold

    has_validation = bool(args.valid) or args.valid_fraction is not None
    is_large = n_rows > threshold
    is_on = mode == "on" or (mode == "auto" and (has_validation or is_large))
    if is_on and not has_validation:
        args.valid_fraction = estimator.validation_fraction  # None: the training loss is scored
    estimator.set_params(early_stopping=is_on)
    if mode != "auto" or not is_on:
        return ""
    return " (a validation set is given)" if has_validation else f" (more than {threshold} rows)"


def _say_early_stopping(console, args, estimator, why, valid, n_rows):
    """The note of a new boosting run: whether it stops early, on which rows and which metric, and why."""
    if not estimator.early_stopping:
        if valid is not None:
            console.note(f"early stopping is off: all {estimator.max_iter} iterations are trained, and the "
                         f"{len(valid[1])} validation rows give the final metrics only")
        return
    metric = f"the loss ({estimator.loss})" if estimator.scoring == "loss" else f"the {estimator.scoring} score"
    if valid is None:
        rows = "the training rows (validation_fraction=None: none held out)"
    elif args.valid:
        rows = f"the {len(valid[1])} rows of {args.valid}"
    else:
        rows = f"{len(valid[1])} held-out rows (of {n_rows})"
    console.note(f"early stopping is on{why}: {rows} score {metric} after each iteration, and training stops "
                 f"after {estimator.n_iter_no_change} iterations without improvement "
                 "(--early-stopping off trains every iteration)")


def _early_stopping_result(estimator):
    """'early stopping: stopped at N of M; best B (...)', or None when the run did not stop early."""
    if not getattr(estimator, "do_early_stopping_", False):
        return None
    has_validation = len(estimator.validation_score_) > 0
    scores = estimator.validation_score_ if has_validation else estimator.train_score_
    best = int(np.argmax(scores))
    is_loss = estimator.scoring == "loss"
    value = f"{'validation' if has_validation else 'training'} {'loss' if is_loss else estimator.scoring} " \
            f"{-scores[best] if is_loss else scores[best]:.5g}"
    if estimator.n_iter_ < estimator.max_iter:
        return f"early stopping: stopped at iteration {estimator.n_iter_} of {estimator.max_iter}; best {best} ({value})"
    return f"early stopping: ran all {estimator.max_iter} iterations; best {best} ({value})"


def _summarise(console, args, estimator, meta, train, valid, seconds):
    """The results of a run: the model, the rows trained on, early stopping, the metrics, the files.
    Under --quiet nothing is shown, and nothing is computed but the plot."""
    if not console.quiet:
        held_out = f", {len(valid[1])} held out" if valid is not None and not args.valid else ""
        size = model_size(getattr(estimator, "n_iter_", None), estimator._model_to_arrays())
        console.result(f"trained {type(estimator).__name__} ({', '.join(size)}) on {len(train[1])} "
                       f"rows{held_out} in {seconds:.1f} s")
        stopping = _early_stopping_result(estimator)
        if stopping:
            console.result(stopping)
        held, label = (valid, "validation") if valid is not None else (train, "training data (not held out)")
        console.result(f"{label}: {format_metrics(compute_metrics(meta['task'], estimator, *held))}")
    if args.plot:
        sets = {"train": tuple(train[:2])} | ({"validation": tuple(valid[:2])} if valid is not None else {})
        plot_training(args.plot, estimator, meta["task"], sets, meta["features"])
        console.result(f"plot saved to {args.plot}")
    console.result(f"model saved to {args.out}")


def cmd_train(args, console):
    """``treeforge train``: read the data, fit with progress and checkpoints, save the model atomically."""
    from ..ensemble._model_io import save_model

    resumed = apply_checkpoint(args) if args.resume else None
    _check_train_args(args)
    if not resumed:
        check_ranking_options(args)
        args.params = collect_params(args)
        check_param_names(args.model, args.params, args.task)
    mode, why = (None if resumed else early_stopping_mode(args)), ""
    if not resumed:
        import_in_background(args.model, args.task)  # scikit-learn's import overlaps the reading
    tic = time.perf_counter()
    meta, data, task, reason = read_training_data(args, resumed, console)
    console.result(f"task: {task} ({reason})")
    meta["task"] = task
    is_boosting, n_rows = args.model == "gbdt", len(data[1])
    if resumed:
        estimator, stored = resumed[0], meta.pop("checkpoint")
        estimator.set_params(**{key: args.params[key] for key in ("max_iter", "n_jobs") if key in args.params})
    else:
        estimator, stored = make_estimator(estimator_class(args.model, task), args.params), {}
        set_categorical_features(estimator, meta, args.params)
        if is_boosting:
            why = _plan_early_stopping(args, estimator, mode, n_rows)
    train, valid, held_out = _split(args, meta, data, task, console, stored.get("valid_rows"))
    del data
    meta["rows"] = {"train": len(train[1]), "valid": 0 if valid is None else len(valid[1])}
    if is_boosting and not resumed:
        _say_early_stopping(console, args, estimator, why, valid, n_rows)

    fit_kwargs, progress, checkpointer = {}, Progress(console, getattr(estimator, "scoring", "loss")), None
    if is_boosting:
        if valid is not None and estimator.early_stopping is not False:
            fit_kwargs.update(X_val=valid[0], y_val=valid[1], sample_weight_val=valid[2])
        if task == "ranking":
            fit_kwargs.update(qid=train[3], **({"qid_val": valid[3]} if "X_val" in fit_kwargs else {}))
        if args.checkpoint_every or resumed:
            checkpointer = make_checkpointer(args, meta, train, valid, held_out, stored)
        fit_kwargs["callback"] = lambda step: (progress(step), checkpointer and checkpointer(step))
        # The training loss of each iteration is shown only when it decides early stopping (no
        # validation set), and the estimator then records it anyway: otherwise a pass over every
        # training row per iteration for nothing.
        fit_kwargs["record_train_score"] = False
    if resumed:
        estimator.set_params(warm_start=True)
    # The estimator bins the data before its first iteration and says nothing meanwhile: this line
    # is what a user sees for those seconds.
    console.note(f"training {type(estimator).__name__} on {len(train[1])} rows and {len(meta['features'])} "
                 f"features ({len(meta['categories'])} categorical), binning first ...")
    try:
        estimator.fit(train[0], train[1], sample_weight=train[2], **fit_kwargs)
    except KeyboardInterrupt:
        raise interruption_error(args, progress, checkpointer) from None
    finally:
        progress.close()
    if resumed:
        estimator.set_params(warm_start=stored["options"]["params"].get("warm_start", False))
    save_model(estimator, args.out, metadata={"cli": meta})
    _summarise(console, args, estimator, meta, train, valid, time.perf_counter() - tic)
    return 0
