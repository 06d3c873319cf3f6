"""The metrics ``fit(eval_metric=...)`` computes on each evaluation set after every iteration.

A metric reads the set's raw scores (margins, shape (n_rows, n_outputs), offsets included), its
targets as the core sees them (class indices for classifiers) and its weights; it returns a float.
Built in, by name (LightGBM's names and scikit-learn's aliases):

=========================  ==========================================================  ==========
name                       value                                                       better
=========================  ==========================================================  ==========
'loss'                     the training loss, as the core computes it (half squared     lower
                           error, log loss, half Poisson deviance up to a constant...)
'l2', 'mse'                mean squared error of ``predict``                            lower
'rmse'                     its square root                                              lower
'l1', 'mae'                mean absolute error of ``predict``                           lower
'logloss'                  log loss of ``predict_proba`` (classifiers)                  lower
'error'                    share of rows whose predicted class is wrong (classifiers)   lower
'auc'                      area under the ROC curve (binary classifiers)                higher
=========================  ==========================================================  ==========

Every mean is weighted by the set's sample weights. A callable ``metric(y_true, y_pred,
sample_weight)`` gets the set's targets as given (class labels for classifiers), what ``predict``
returns for a regressor (``predict_proba``, shape (n_rows, n_classes), for a classifier; the raw
score for a custom loss) and the weights (None without); it returns a float (lower is better,
named by the function's ``__name__``) or a tuple ``(name, value, is_higher_better)`` as
LightGBM's custom metrics do.
"""

from typing import Callable, NamedTuple

import numpy as np

from .. import _core

# Losses per row of the core's objectives: (y, margin, parameter) -> loss, as cpp/objectives/*.cpp.
_ROW_LOSSES = {
    "squared_error": lambda y, m, p: 0.5 * (m - y) ** 2,
    "absolute_error": lambda y, m, p: np.abs(y - m),
    "quantile": lambda y, m, p: np.where(y >= m, p * (y - m), (1.0 - p) * (m - y)),
    "huber": lambda y, m, p: np.where(np.abs(m - y) <= p, 0.5 * (m - y) ** 2, p * (np.abs(m - y) - 0.5 * p)),
    "poisson": lambda y, m, p: np.exp(m) - y * m,
    "gamma": lambda y, m, p: m + y * np.exp(-m),
    "tweedie": lambda y, m, p: (np.exp(m) - y * m if p == 1.0 else
                                np.exp((2.0 - p) * m) / (2.0 - p) - y * np.exp((1.0 - p) * m) / (1.0 - p)),
    "binary_logloss": lambda y, m, p: np.maximum(m, 0.0) + np.log1p(np.exp(-np.abs(m))) - y * m,
}


class Metric(NamedTuple):
    """A metric ready to score a set: ``score(estimator, y, labels, margin, weight)``, and the set's
    query groups last when ``needs_groups`` (the ranker's); ``name`` as recorded."""

    name: str
    score: Callable
    higher_is_better: bool
    needs_groups: bool = False


def objective_loss(objective, y, margin, weight):
    """The weighted mean loss of the core's ``objective`` at ``margin`` (n_rows, n_outputs)."""
    if objective == "multiclass_softmax":
        top = margin.max(axis=1, keepdims=True)
        log_sum = top[:, 0] + np.log(np.exp(margin - top).sum(axis=1))
        losses = log_sum - margin[np.arange(margin.shape[0]), y.astype(np.intp)]
    else:
        name, _, parameter = objective.partition(":")
        if name not in _ROW_LOSSES:
            raise ValueError(f"eval_metric 'loss' is not available for the objective {objective!r}; "
                             "name another metric or pass a callable.")
        losses = _ROW_LOSSES[name](y, margin[:, 0], float(parameter) if parameter else None)
    return float(np.average(losses, weights=weight))


def _regression(value_of):
    def score(estimator, y, labels, margin, weight):
        prediction = _core.apply_link(estimator._objective(), margin).reshape(-1)
        return value_of(y, prediction, weight)
    return score


def _classification(value_of):
    def score(estimator, y, labels, margin, weight):
        return value_of(y.astype(np.intp), estimator._margin_to_proba(margin), weight)
    return score


def _log_loss(y, proba, weight):
    picked = np.clip(proba[np.arange(y.shape[0]), y], np.finfo(np.float64).tiny, None)
    return float(np.average(-np.log(picked), weights=weight))


def _auc(y, proba, weight):
    from sklearn.metrics import roc_auc_score

    if proba.shape[1] != 2:
        raise ValueError("eval_metric 'auc' needs a binary classifier; use 'logloss' or 'error' for several classes.")
    return float(roc_auc_score(y, proba[:, 1], sample_weight=weight))


_MSE = _regression(lambda y, p, w: float(np.average((p - y) ** 2, weights=w)))
_MAE = _regression(lambda y, p, w: float(np.average(np.abs(p - y), weights=w)))
# name -> (score, higher is better, 'regression' / 'classification' / None for both)
_NAMED = {
    "l2": (_MSE, False, "regression"),
    "mse": (_MSE, False, "regression"),
    "rmse": (_regression(lambda y, p, w: float(np.sqrt(np.average((p - y) ** 2, weights=w)))), False, "regression"),
    "l1": (_MAE, False, "regression"),
    "mae": (_MAE, False, "regression"),
    "logloss": (_classification(_log_loss), False, "classification"),
    "error": (_classification(lambda y, p, w: float(np.average(np.argmax(p, axis=1) != y, weights=w))), False,
              "classification"),
    "auc": (_classification(_auc), True, "classification"),
}
METRIC_NAMES = ("loss", *_NAMED)


def _loss(estimator, y, labels, margin, weight):
    return objective_loss(estimator._objective(), y, margin, weight)


def resolve_metrics(estimator, eval_metric):
    """The ``Metric``s of ``eval_metric`` (None: 'loss'; a name, a callable or a list of them)."""
    if eval_metric is None:
        eval_metric = ["loss"]
    elif isinstance(eval_metric, str) or callable(eval_metric):
        eval_metric = [eval_metric]
    elif not isinstance(eval_metric, (list, tuple)) or not eval_metric:
        raise TypeError(f"eval_metric must be a metric name, a callable or a non-empty list of them, "
                        f"got {eval_metric!r}.")
    kind = "classification" if hasattr(estimator, "classes_") else "regression"
    metrics = [_resolve_one(estimator, metric, kind) for metric in eval_metric]
    names = [metric.name for metric in metrics]
    if len(set(names)) != len(names):
        raise ValueError(f"eval_metric names a metric twice: {names}.")
    return metrics


def _resolve_one(estimator, metric, kind):
    if hasattr(estimator, "_own_metric"):  # the ranker's metrics read query groups
        return estimator._own_metric(metric)
    if callable(metric):
        return Metric(getattr(metric, "__name__", type(metric).__name__), _user_metric(metric), False)
    if not isinstance(metric, str):
        raise TypeError(f"eval_metric entries must be metric names or callables, got {metric!r}.")
    if metric == "loss":
        if callable(getattr(estimator, "loss", None)):
            raise ValueError("eval_metric 'loss' is not available with a callable loss: pass a callable eval_metric "
                             "(or a named metric).")
        return Metric("loss", _loss, False)
    if metric not in _NAMED:
        raise ValueError(f"Unknown eval_metric {metric!r}; the names are {list(METRIC_NAMES)}, or pass a callable.")
    score, higher_is_better, applies_to = _NAMED[metric]
    if applies_to != kind:
        raise ValueError(f"eval_metric {metric!r} is a {applies_to} metric; {type(estimator).__name__} "
                         f"offers {[m for m, entry in _NAMED.items() if entry[2] == kind] + ['loss']}.")
    return Metric(metric, score, higher_is_better)


def _user_metric(function):
    """A user's ``metric(y_true, y_pred, sample_weight)`` as a score of margins; its value is
    checked to be a finite real number (its tuple's name and direction are read by the caller)."""
    def score(estimator, y, labels, margin, weight):
        return function(labels, metric_prediction(estimator, margin), weight)
    return score


def metric_prediction(estimator, margin):
    """What a callable metric gets as ``y_pred``: ``predict_proba`` of a classifier, ``predict`` of a
    regressor, the raw score (n_rows,) or (n_rows, n_outputs) under a custom loss (no link known)."""
    if callable(getattr(estimator, "loss", None)):
        return margin[:, 0] if margin.shape[1] == 1 else margin
    if hasattr(estimator, "_margin_to_proba"):
        return estimator._margin_to_proba(margin)
    return _core.apply_link(estimator._objective(), margin).reshape(-1)


def metric_value(metric, value):
    """(name, float value, higher_is_better) of what a metric returned; TypeError/ValueError naming it."""
    name, higher_is_better = metric.name, metric.higher_is_better
    if isinstance(value, tuple):
        if len(value) != 3:
            raise TypeError(f"eval_metric {name!r} returned a tuple of {len(value)} items; a custom metric returns "
                            "a float or (name, value, is_higher_better).")
        name, value, higher_is_better = str(value[0]), value[1], bool(value[2])
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"eval_metric {name!r} returned {type(value).__name__}, not a number.") from None
    if np.isnan(value):
        raise ValueError(f"eval_metric {name!r} returned NaN.")
    return name, value, higher_is_better
