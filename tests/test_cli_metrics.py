"""The metrics ``train`` and ``eval`` print (``treeforge.cli._metrics``) are scikit-learn's, to the last bit
(issue #28 item 4: NumPy instead of ``sklearn.metrics``, whose input checks cost seconds on large files)."""

import math
import warnings

import numpy as np
import pytest
from sklearn import metrics

from treeforge.cli._console import CLIError
from treeforge.cli._metrics import binary_auc, classification_metrics, compute_metrics, regression_metrics


def _weights(rng, n, kind):
    if kind == "none":
        return None
    weight = rng.exponential(size=n)
    if kind == "zeros":
        weight[rng.random(n) < 0.2] = 0.0
    if kind == "integers":
        weight = rng.integers(1, 4, size=n).astype(np.float64)
    return weight


def _sklearn_regression(y, pred, weight):
    return {"rmse": math.sqrt(metrics.mean_squared_error(y, pred, sample_weight=weight)),
            "mae": metrics.mean_absolute_error(y, pred, sample_weight=weight),
            "r2": metrics.r2_score(y, pred, sample_weight=weight)}


def _sklearn_classification(labels, classes, proba, weight):
    result = {"accuracy": metrics.accuracy_score(labels, classes[np.argmax(proba, axis=1)], sample_weight=weight),
              "log_loss": metrics.log_loss(labels, proba, labels=classes, sample_weight=weight)}
    if len(np.unique(labels)) == len(classes):
        if len(classes) == 2:
            result["auc"] = metrics.roc_auc_score(labels == classes[1], proba[:, 1], sample_weight=weight)
        else:
            result["auc"] = metrics.roc_auc_score(labels, proba, multi_class="ovr", labels=classes,
                                                  sample_weight=weight)
    return result


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("weights", ["none", "positive", "zeros", "integers"])
def test_regression_metrics_are_scikit_learns(seed, weights):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 5000))
    y = np.round(rng.normal(size=n) * 10.0 ** rng.integers(-3, 4), int(rng.integers(0, 3)))
    pred = y + rng.normal(size=n) * rng.choice([1e-9, 0.1, 10.0])
    weight = _weights(rng, n, weights)
    assert regression_metrics(y, pred, weight) == _sklearn_regression(y, pred, weight)


@pytest.mark.parametrize("y, pred", [
    ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]),  # perfect: R2 1
    ([2.0, 2.0, 2.0], [2.0, 2.0, 2.0]),  # constant and perfect: 1
    ([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]),  # constant target, wrong: 0 (scikit-learn's force_finite)
])
def test_regression_edge_cases_are_scikit_learns(y, pred):
    y, pred = np.asarray(y), np.asarray(pred)
    assert regression_metrics(y, pred) == _sklearn_regression(y, pred, None)


def test_r2_of_one_row_is_nan_as_in_scikit_learn():
    assert math.isnan(regression_metrics(np.array([1.0]), np.array([2.0]))["r2"])


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("weights", ["none", "positive", "zeros", "integers"])
def test_classification_metrics_are_scikit_learns(seed, weights):
    rng = np.random.default_rng(seed)
    n, n_classes = int(rng.integers(10, 5000)), int(rng.choice([2, 2, 3, 5]))
    codes = rng.integers(0, n_classes, size=n)
    logits = np.round(rng.normal(size=(n, n_classes)) + np.eye(n_classes)[codes], int(rng.integers(0, 3)))  # ties
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    proba[: n // 20] = np.eye(n_classes)[0]  # probabilities of exactly 0 and 1 (clipped by log loss)
    weight = _weights(rng, n, weights)
    classes = np.array([f"class {k}" for k in range(n_classes)], dtype=object)
    assert classification_metrics(codes, proba, weight) == _sklearn_classification(classes[codes], classes, proba,
                                                                                   weight)


def test_auc_without_one_class_among_the_weighted_rows_is_nan():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division warning either
        assert math.isnan(binary_auc(np.array([True, False, True]), np.array([0.1, 0.2, 0.3]),
                                     np.array([1.0, 0.0, 2.0])))


class _Fitted:
    """The estimator interface compute_metrics reads."""

    def __init__(self, classes, proba):
        self.classes_, self._proba = classes, proba

    def predict_proba(self, X):
        return self._proba

    def predict(self, X):
        return self._proba[:, 0]


@pytest.mark.parametrize("classes", [np.array(["no", "yes"], dtype=object), np.array([False, True]),
                                     np.array([3, 7, 9])])
def test_compute_metrics_maps_labels_as_scikit_learn_reads_them(classes):
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(len(classes)), size=300)
    labels = classes[rng.integers(0, len(classes), size=300)]
    weight = rng.exponential(size=300)
    ours = compute_metrics("binary" if len(classes) == 2 else "multiclass", _Fitted(classes, proba), None,
                           labels, weight)
    assert ours == _sklearn_classification(labels, classes, proba, weight)
    regression = compute_metrics("regression", _Fitted(classes, proba), None, proba[:, 1], weight)
    assert regression == _sklearn_regression(proba[:, 1], proba[:, 0], weight)


def test_a_label_the_model_does_not_know_is_named():
    fitted = _Fitted(np.array(["no", "yes"], dtype=object), np.full((3, 2), 0.5))
    with pytest.raises(CLIError, match="not trained on, e.g. 'maybe'"):
        compute_metrics("binary", fitted, None, np.array(["no", "maybe", "yes"], dtype=object))
    with pytest.raises(CLIError, match="not trained on, e.g. 1"):  # another type: unknown, not a TypeError
        compute_metrics("binary", fitted, None, np.array([1, 2, 3]))
