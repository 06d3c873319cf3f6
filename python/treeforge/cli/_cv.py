"""``treeforge cv``: K-fold cross-validation of a model on a CSV file, read as ``train`` reads it; each
fold's model is scored with the metrics train prints for held-out rows, and the table gives each
fold's values, their mean and their standard deviation. No model is written."""

import sys
import time

import numpy as np

from ._commands import check_input_files
from ._console import CLIError, duration
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
from ._metrics import compute_metrics
from ._train import early_stopping_mode, read_training_data

# A misused option, like argparse's own errors: the exit code of `--folds 1`.
_USAGE_EXIT_CODE = 2


def _check_cv_args(args):
    """Reject what cannot run before reading any data."""
    if args.target is None:
        raise CLIError("cv needs --target COLUMN, the column to predict", exit_code=_USAGE_EXIT_CODE)
    check_input_files([args.data, args.config])


def _too_many_folds(n_folds, count, what):
    hint = f"use --folds {count} or fewer" if count >= 2 else "too few rows to cross-validate"
    return CLIError(f"--folds {n_folds} is more than {what}: {hint}", exit_code=_USAGE_EXIT_CODE)


def fold_rows(labels, task, n_folds, seed, path, qid=None):
    """[(training rows, test rows)] of each fold, as index arrays: scikit-learn's StratifiedKFold for
    classification (every class in every fold), KFold for regression, GroupKFold over whole queries
    for ranking, all shuffled with ``seed``. CLIError (exit code 2) when there are more folds than
    rows (queries), or than rows of the rarest class."""
    join_background_imports()
    from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold

    n_rows = len(labels)
    if n_folds > n_rows:
        raise _too_many_folds(n_folds, n_rows, f"the {n_rows} rows of {path}")
    if task == "ranking":
        n_queries = len(np.unique(qid))
        if n_folds > n_queries:
            raise _too_many_folds(n_folds, n_queries, f"the {n_queries} queries of {path}")
        splitter = GroupKFold(n_folds, shuffle=True, random_state=seed)
        return list(splitter.split(np.zeros((n_rows, 1)), labels, groups=qid))
    if task == "regression":
        splitter = KFold(n_folds, shuffle=True, random_state=seed)
    else:
        classes, counts = np.unique(labels, return_counts=True)
        rarest = int(np.argmin(counts))
        if counts[rarest] < n_folds:
            label = classes[rarest].item() if isinstance(classes[rarest], np.generic) else classes[rarest]
            raise _too_many_folds(n_folds, int(counts[rarest]), f"the {counts[rarest]} rows of the rarest class "
                                  f"({label!r}), and stratified folds hold every class in every fold")
        splitter = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros((n_rows, 1)), labels))


def _plan_early_stopping(estimator, mode, n_train_rows, console):
    """Set whether every fold's boosting stops early (the same for all folds), and say so when it does.
    The estimator holds out ``validation_fraction`` of each fold's training rows itself: the fold's
    test rows are never seen by its fit."""
    from ..ensemble._gradient_boosting import _AUTO_EARLY_STOPPING_MIN_SAMPLES as threshold

    is_on = mode == "on" or (mode == "auto" and n_train_rows > threshold)
    estimator.set_params(early_stopping=is_on)
    if not is_on:
        return
    why = f" (more than {threshold} training rows per fold)" if mode == "auto" else ""
    metric = f"the loss ({estimator.loss})" if estimator.scoring == "loss" else f"the {estimator.scoring} score"
    rows = "on its training rows (validation_fraction=None)" if estimator.validation_fraction is None else \
        f"on validation_fraction={estimator.validation_fraction} of its training rows (held out)"
    console.note(f"early stopping is on{why}: each fold's fit scores {metric} {rows} after each iteration and "
                 f"stops after {estimator.n_iter_no_change} iterations without improvement "
                 "(--early-stopping off trains every iteration)")


def _fit_and_score(estimator, task, data, rows):
    """(the fitted model, {metric: value}) of one fold: a fresh copy of ``estimator`` fitted on the
    training rows, scored on the test rows."""
    join_background_imports()
    from sklearn.base import clone

    (train_rows, test_rows), (X, y, w, qid) = rows, data
    model = clone(estimator)  # a fresh fit: warm_start=True would otherwise go on from the last fold
    fit_kwargs = {"record_train_score": False} if hasattr(model, "n_iter_no_change") else {}
    if qid is not None:
        fit_kwargs["qid"] = qid[train_rows]
    model.fit(X[train_rows], y[train_rows], sample_weight=None if w is None else w[train_rows], **fit_kwargs)
    return model, compute_metrics(task, model, X[test_rows], y[test_rows], None if w is None else w[test_rows],
                                  None if qid is None else qid[test_rows])


def _fold_line(k, n_folds, model, values, elapsed):
    """'fold 2/5  57/100 iterations  elapsed 1.3 s  accuracy 0.8367  ...': one fold's progress."""
    iterations = f"{model.n_iter_}/{model.max_iter} iterations  " if hasattr(model, "n_iter_") else ""
    metrics = "  ".join(f"{name} {value:.4f}" for name, value in values.items())
    return f"fold {k}/{n_folds}  {iterations}elapsed {duration(elapsed)}  {metrics}"


def format_table(test_sizes, scores):
    """The result table: one line per fold (its test rows and metrics), then the mean and the standard
    deviation (ddof=0) of each metric over the folds; a metric a fold lacks is NaN there."""
    names = list(dict.fromkeys(name for values in scores for name in values))
    table = np.array([[values.get(name, np.nan) for name in names] for values in scores], dtype=np.float64)
    rows = [[str(k), str(size), *(f"{v:.4f}" for v in line)]
            for k, (size, line) in enumerate(zip(test_sizes, table), start=1)]
    rows.append(["mean", "", *(f"{v:.4f}" for v in table.mean(axis=0))])
    rows.append(["std", "", *(f"{v:.4f}" for v in table.std(axis=0))])
    header = ["fold", "rows", *names]
    widths = [max(len(line[j]) for line in [header, *rows]) for j in range(len(header))]
    return "\n".join("  ".join([line[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in
                                                             zip(line[1:], widths[1:])]).rstrip()
                     for line in [header, *rows])


def cmd_cv(args, console):
    """``treeforge cv``: read the data as train does, fit one model per fold, print the table."""
    _check_cv_args(args)
    check_ranking_options(args)
    args.params = collect_params(args)
    check_param_names(args.model, args.params, args.task)
    mode = early_stopping_mode(args)
    import_in_background(args.model, args.task)  # scikit-learn's import overlaps the reading
    meta, data, task, reason = read_training_data(args, None, console)
    console.result(f"task: {task} ({reason})")
    folds = fold_rows(data[1], task, args.folds, args.params["random_state"], args.data, data[3])
    estimator = make_estimator(estimator_class(args.model, task), args.params)
    set_categorical_features(estimator, meta, args.params)
    fewest, most = min(len(rows) for rows, _ in folds), max(len(rows) for rows, _ in folds)
    if args.model == "gbdt":
        _plan_early_stopping(estimator, mode, fewest, console)
    name = type(estimator).__name__
    rows = fewest if fewest == most else f"{fewest}-{most}"
    console.note(f"training {args.folds} {name} models, one per fold, each on {rows} rows and "
                 f"{len(meta['features'])} features ({len(meta['categories'])} categorical), binning first ...")
    tic, scores = time.perf_counter(), []
    for k, rows in enumerate(folds, start=1):
        model, values = _fit_and_score(estimator, task, data, rows)
        scores.append(values)
        if not console.quiet:
            print(_fold_line(k, args.folds, model, values, time.perf_counter() - tic), file=sys.stderr, flush=True)
    kind = {"regression": "shuffled", "ranking": "whole queries, shuffled"}.get(task, "stratified")
    weighted = ", weighted" if data[2] is not None else ""
    print(f"{args.folds}-fold cross-validation of {name} on {len(data[1])} rows ({kind} folds, "
          f"seed {args.params['random_state']}{weighted}):")
    print(format_table([len(test_rows) for _, test_rows in folds], scores), flush=True)
    return 0
