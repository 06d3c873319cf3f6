"""Evaluation sets of a boosting fit (``fit(eval_set=...)``): checked, handed to the core as one
validation matrix, scored per set and metric after every iteration into ``evals_result_``.

The sets are concatenated into the Booster's validation data, so that the core keeps their
running margins: each new tree is walked once per row, never the whole model again (the cost of
an iteration does not grow with the iterations before it). With early stopping the last set's
first metric decides (LightGBM's rule), by the estimator's ``n_iter_no_change`` and ``tol``.
"""

from typing import NamedTuple, Optional

import numpy as np
from scipy import sparse

from ._base import as_core_rows, validate_predict_data, validate_sample_weight
from ._boosting_progress import DataPart, no_recent_improvement
from ._boosting_start import check_init_score
from ._eval_metrics import metric_value, resolve_metrics


class EvalSets(NamedTuple):
    """The evaluation sets as one validation part and where each set's rows lie in it."""

    names: list
    bounds: list  # (start, stop) of each set's rows in `valid`
    labels: list  # each set's targets as given (what callable metrics get)
    valid: DataPart  # every set's rows, in order; offsets only where the core takes them
    python_offset: Optional[np.ndarray]  # (n_rows, n_outputs) added to the core's margins, or None
    metrics: list
    groups: list  # each set's query groups (group_begin) for metrics that need them, or None


def _listed(value, name, n_sets):
    """``value`` as a list of one entry per set (None: all None); ValueError naming ``name``."""
    if value is None:
        return [None] * n_sets
    if not isinstance(value, (list, tuple)) or len(value) != n_sets:
        raise ValueError(f"{name} must be a list of one entry per eval_set entry ({n_sets}), got {value!r:.80}.")
    return list(value)


def _names(eval_names, n_sets):
    names = [f"valid_{i}" for i in range(n_sets)] if eval_names is None else _listed(eval_names, "eval_names", n_sets)
    if not all(isinstance(name, str) for name in names) or len(set(names)) != n_sets:
        raise ValueError(f"eval_names must be distinct strings, got {names!r}.")
    return names


def prepare_eval_sets(estimator, options, validation, train_has_offset):
    """The ``EvalSets`` of the fit's ``eval_set`` keywords, or None without ``eval_set``."""
    eval_set = options.eval_set
    if eval_set is None:
        for name in ("eval_names", "eval_sample_weight", "eval_init_score"):
            if getattr(options, name) is not None:
                raise ValueError(f"{name} is given without eval_set.")
        return None
    if not isinstance(eval_set, (list, tuple)) or not eval_set or not all(
            isinstance(pair, (list, tuple)) and len(pair) == 2 for pair in eval_set):
        raise ValueError("eval_set must be a non-empty list of (X, y) pairs.")
    if any(part is not None for part in validation):
        raise ValueError("X_val/y_val and eval_set cannot be combined: pass the validation set as the last "
                         "entry of eval_set, which decides early stopping.")
    # The ranker's scoring names a metric, which eval_metric defaults to.
    scoring_metric = estimator._scoring_metric_name() if hasattr(estimator, "_scoring_metric_name") else None
    if estimator.do_early_stopping_ and scoring_metric is None and estimator.scoring not in ("loss", None):
        raise ValueError(f"With eval_set, early stopping follows eval_metric, not scoring={estimator.scoring!r}: "
                         "pass the scorer's metric as a callable eval_metric.")
    n_sets = len(eval_set)
    names = _names(options.eval_names, n_sets)
    weights = _listed(options.eval_sample_weight, "eval_sample_weight", n_sets)
    scores = _listed(options.eval_init_score, "eval_init_score", n_sets)
    parts, labels = [], []
    for i, ((X, y), weight, score) in enumerate(zip(eval_set, weights, scores)):
        part = _checked_set(estimator, i, X, y, weight, score)
        parts.append(part)
        labels.append(part.labels)
    metrics = resolve_metrics(estimator, scoring_metric if options.eval_metric is None else options.eval_metric)
    groups = getattr(estimator, "_eval_groups", None) or [None] * n_sets
    return _joined(names, parts, labels, metrics, estimator.n_trees_per_iteration_, train_has_offset)._replace(
        groups=groups)


def _checked_set(estimator, i, X, y, weight, score):
    """The i-th evaluation set as a ``DataPart``; its errors prefixed by where they are."""
    try:
        X = validate_predict_data(estimator, X)
        labels = np.asarray(y)
        if labels.ndim != 1 or labels.shape[0] != X.shape[0]:
            raise ValueError(f"y has shape {labels.shape}; X has {X.shape[0]} rows, y needs one target per row.")
        y_core = estimator._encode_y_val(labels)
        if not np.all(np.isfinite(y_core)):
            raise ValueError("y contains NaN or infinity.")
        weight = validate_sample_weight(weight, X)
    except ValueError as exc:
        raise ValueError(f"eval_set[{i}]: {exc}") from None
    offset = check_init_score(score, X.shape[0], estimator.n_trees_per_iteration_, f"eval_init_score[{i}]")
    return DataPart(X, y_core, labels, weight, offset=offset)


def _stacked(matrices):
    """The rows of every matrix, one after the other: dense when every one is, else sparse CSR."""
    if len(matrices) == 1:
        return matrices[0] if sparse.issparse(matrices[0]) else np.ascontiguousarray(matrices[0])
    dtype = np.float32 if all(X.dtype == np.float32 for X in matrices) else np.float64
    if any(sparse.issparse(X) for X in matrices):
        return as_core_rows(sparse.vstack(matrices, format="csr", dtype=dtype))
    return np.concatenate([X.astype(dtype, copy=False) for X in matrices])


def _joined(names, parts, labels, metrics, n_outputs, train_has_offset):
    """One validation part of every set's rows: weights of 1 and offsets of 0 where a set has none."""
    bounds, start = [], 0
    for part in parts:
        bounds.append((start, start + part.n_samples))
        start += part.n_samples
    X = _stacked([part.X for part in parts])
    y = np.concatenate([part.y for part in parts])
    weight = None
    if any(part.weight is not None for part in parts):
        weight = np.concatenate([np.ones(part.n_samples) if part.weight is None else part.weight for part in parts])
    offset = None
    if train_has_offset or any(part.offset is not None for part in parts):
        offset = np.concatenate([np.zeros((part.n_samples, n_outputs)) if part.offset is None else part.offset
                                 for part in parts])
    # The core takes validation offsets only beside training ones; the others are added here.
    valid = DataPart(X, y, y, weight, offset=offset if train_has_offset else None)
    return EvalSets(names, bounds, labels, valid, None if train_has_offset else offset, metrics, [None] * len(parts))


class EvalRecorder:
    """Scores every set with every metric after each iteration into ``evals_result_``; with early
    stopping, the last set's first metric goes to ``validation_score_`` (as a score: negated when
    lower is better) and decides, and ``train_score_`` gets the negated training loss when
    ``record_train_score`` asks."""

    def __init__(self, estimator, booster, sets, decides, record_train_score):
        self.estimator, self.booster, self.sets = estimator, booster, sets
        self.decides = decides
        self.records_train = decides and record_train_score and not callable(getattr(estimator, "loss", None)) and not (
            len(estimator.validation_score_) > len(estimator.train_score_) == 0)
        estimator.evals_result_ = {name: {} for name in sets.names}
        estimator._eval_directions = {}  # metric name -> higher is better, for callbacks
        self.deciding = None  # (name, higher_is_better) of the deciding metric, once scored

    def start(self):
        """The scores of the model before this fit's first iteration (early stopping's reference)."""
        self._score(record=False)

    def record(self):
        """Score the current model; True when training should stop."""
        return self._score(record=True)

    def _score(self, record):
        margin = self.booster.valid_margin()
        if self.sets.python_offset is not None:
            margin = margin + self.sets.python_offset
        valid = self.sets.valid
        last = len(self.sets.names) - 1
        for s, (name, (start, stop), labels) in enumerate(zip(self.sets.names, self.sets.bounds, self.sets.labels)):
            if not record and not (self.decides and s == last):
                continue
            weight = None if valid.weight is None else valid.weight[start:stop]
            for m, metric in enumerate(self.sets.metrics):
                if not record and m > 0:
                    break
                groups = (self.sets.groups[s],) if metric.needs_groups else ()
                raw = metric.score(self.estimator, valid.y[start:stop], labels, margin[start:stop], weight, *groups)
                metric_name, value, higher_is_better = metric_value(metric, raw)
                if record:
                    self.estimator.evals_result_[name].setdefault(metric_name, []).append(value)
                    self.estimator._eval_directions[metric_name] = higher_is_better
                if s == last and m == 0:
                    self.deciding = (metric_name, higher_is_better)
                    deciding_value = value if higher_is_better else -value
        if not self.decides:
            return False
        if self.records_train:
            self.estimator.train_score_.append(-self.booster.train_loss())
        scores = self.estimator.validation_score_
        scores.append(deciding_value)
        return no_recent_improvement(scores, self.estimator.n_iter_no_change, self.estimator.tol)

    def best_iteration(self, first_iteration):
        """Iterations in the model at the deciding metric's best value on the last set (the first of ties)."""
        if self.deciding is None:
            return None
        name, higher_is_better = self.deciding
        values = np.asarray(self.estimator.evals_result_[self.sets.names[-1]].get(name, []))
        if values.size == 0:
            return None
        best = np.argmax(values) if higher_is_better else np.argmin(values)
        return first_iteration + int(best) + 1


def best_iteration(recorder, validation_score, first_iteration, is_warm):
    """``best_iteration_``: from the evaluation sets' deciding metric, else the iteration of the best
    ``validation_score_`` (its last entry is the model's last iteration); None without validation."""
    if isinstance(recorder, EvalRecorder):
        return recorder.best_iteration(first_iteration)
    if recorder is None or not recorder.has_validation or validation_score.size == 0:
        return None
    last_iteration = recorder.booster.n_iter
    return last_iteration - (validation_score.size - 1) + int(np.argmax(validation_score))
