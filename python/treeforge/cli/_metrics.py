"""The metrics ``train`` and ``eval`` print, in NumPy: scikit-learn's values, operation for operation, without
its input checks (label binarizing, target-type inference over every row), which cost seconds on a
million rows. ``tests/test_cli_metrics.py`` holds them equal to ``sklearn.metrics``.

Every metric is O(n) but AUC, which sorts the scores once per class. ``y`` is the class index of
each row (0..K-1) for classification, and ``weight`` None or (n,) float64 of non-negative weights.
"""

import math

import numpy as np

from ._console import CLIError

_trapezoid = getattr(np, "trapezoid", None) or np.trapz  # NumPy < 2 names it trapz


def _average(values, weight):
    """The mean, or the weighted mean sum(w * v) / sum(w), as scikit-learn's ``_average``."""
    if weight is None:
        return float(np.mean(values))
    return float(np.sum(values * weight) / np.sum(weight))


def regression_metrics(y, pred, weight=None):
    """{rmse, mae, r2} of float64 targets and predictions, (n,) each."""
    y, pred = np.asarray(y, dtype=np.float64), np.asarray(pred, dtype=np.float64)
    squared = (y - pred) ** 2
    result = {"rmse": math.sqrt(_average(squared, weight)), "mae": _average(np.abs(pred - y), weight)}
    if len(y) < 2:  # scikit-learn: R2 is not defined, NaN with a warning
        result["r2"] = math.nan
        return result
    scale = 1.0 if weight is None else weight
    numerator = np.sum(scale * squared)
    denominator = np.sum(scale * (y - _average(y, weight)) ** 2)
    if numerator == 0:  # perfect predictions (force_finite: also with a constant target)
        result["r2"] = 1.0
    else:
        result["r2"] = float(1 - numerator / denominator) if denominator != 0 else 0.0
    return result


def binary_auc(is_positive, score, weight=None):
    """Area under the ROC curve (n,) booleans and scores, as ``roc_auc_score`` computes it: rows of zero
    weight left out, scores sorted descending (ties in row order), one point per distinct score,
    collinear points dropped, the trapezoidal rule."""
    if weight is not None:
        kept = weight != 0
        is_positive, score, weight = is_positive[kept], score[kept], weight[kept]
    order = np.argsort(-score, kind="stable")
    score, positive = score[order], is_positive[order].astype(np.float64)
    ends = np.r_[np.flatnonzero(np.diff(score)), len(score) - 1]  # the last row of each distinct score
    if weight is None:
        tps = np.cumsum(positive)[ends]
        fps = 1 + ends.astype(np.float64) - tps
    else:
        weight = weight[order]
        tps = np.cumsum(positive * weight)[ends]
        fps = np.cumsum((1 - positive) * weight)[ends]
    if tps[-1] <= 0 or fps[-1] <= 0:  # every weighted row of one class: scikit-learn's NaN, with a warning
        return math.nan
    if len(fps) > 2:
        corners = np.flatnonzero(np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True])
        fps, tps = fps[corners], tps[corners]
    fps, tps = np.r_[0.0, fps], np.r_[0.0, tps]
    return float(_trapezoid(tps / tps[-1], fps / fps[-1]))


def classification_metrics(y, proba, weight=None):
    """{accuracy, log_loss[, auc]} of class indices y (n,) and probabilities proba (n, K): AUC (one
    class against the rest, averaged over the classes, for K > 2) only when every class occurs."""
    n_classes = proba.shape[1]
    accuracy = _average((np.argmax(proba, axis=1) == y).astype(np.float64), weight)
    eps = np.finfo(proba.dtype).eps
    row_loss = -np.log(np.clip(proba[np.arange(len(y)), y], eps, 1 - eps))
    result = {"accuracy": accuracy, "log_loss": _average(row_loss, weight)}
    if len(np.unique(y)) == n_classes:
        if n_classes == 2:
            result["auc"] = binary_auc(y == 1, proba[:, 1], weight)
        else:
            result["auc"] = float(np.mean([binary_auc(y == k, proba[:, k], weight) for k in range(n_classes)]))
    return result


def ranking_metrics(scores, y, qid, weight=None):
    """{ndcg@1, ndcg@5, ndcg@10, map} of scores against relevance labels y over the queries of
    ``qid`` (the ranker's: gains 2^label - 1, tied scores averaged; MAP over every position)."""
    from .. import _core
    from ..ensemble._ranking import check_relevance, in_query_order, query_groups

    queries = query_groups(len(y), None, qid)
    scores, y, weight = in_query_order(queries.order, np.asarray(scores, dtype=np.float64), y, weight)
    scores, y = np.ascontiguousarray(scores), check_relevance(y)
    values = {f"ndcg@{k}": _core.ranking_metric("ndcg", k, y, scores, queries.begin, weight) for k in (1, 5, 10)}
    return values | {"map": _core.ranking_metric("map", 0, y, scores, queries.begin, weight)}


def compute_metrics(task, estimator, X, y, sample_weight=None, qid=None):
    """{name: value}: RMSE, MAE and R2 for regression; accuracy, log loss and AUC for classification
    (AUC left out when some class is absent from ``y``); NDCG@1/5/10 and MAP for ranking, over the
    queries of ``qid``. ``y``: the labels as read; CLIError for a label the model was not trained on."""
    if task == "ranking":
        try:
            return ranking_metrics(estimator.predict(X), y, qid, sample_weight)
        except ValueError as exc:
            raise CLIError(f"the target: {exc}") from None
    if task == "regression":
        return regression_metrics(y, estimator.predict(X), sample_weight)
    classes = estimator.classes_
    unknown = ~np.isin(y, classes)
    if unknown.any():
        example = y[unknown][0]
        example = example.item() if isinstance(example, np.generic) else example  # 1, not np.int64(1)
        raise CLIError(f"the target holds labels the model was not trained on, e.g. {example!r}")
    codes = np.searchsorted(classes, y)  # classes_ are sorted
    return classification_metrics(codes, estimator.predict_proba(X), sample_weight)
