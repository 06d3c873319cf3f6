"""Plots of fitted estimators: learning curves and feature importances (matplotlib, imported on first use)."""

import math

import numpy as np

from ._files import atomic_write

_CURVE_ROWS = 20_000  # rows scored per iteration for the --plot learning curve


def _learning_curve(estimator, task, X, y):
    """Log loss or RMSE after each iteration, or None for a model without staged predictions."""
    from sklearn import metrics

    if task == "regression":
        staged = getattr(estimator, "staged_predict", None)
        return None if staged is None else [math.sqrt(metrics.mean_squared_error(y, out)) for out in staged(X)]
    staged = getattr(estimator, "staged_predict_proba", None)
    return None if staged is None else [metrics.log_loss(y, out, labels=estimator.classes_) for out in staged(X)]


def plot_training(path, estimator, task, sets, feature_names):
    """Write a PNG: learning curves of the (X, y) pairs in ``sets`` and the top 20 feature importances.

    Parameters
    ----------
    path : str
        The PNG file, written atomically (through a temporary file beside it).
    estimator : fitted treeforge estimator
        Its ``staged_predict`` (regression) or ``staged_predict_proba`` draws the curves; an estimator
        without them gets importances only.
    task : {"regression", "binary", "multiclass"}
        RMSE is drawn for regression, log loss otherwise.
    sets : dict of str to (X, y)
        Curve label to data: X of shape (n_samples, n_features), y of shape (n_samples,); at most
        20,000 rows of each (drawn with a fixed seed) are scored.
    feature_names : list of str
        The bar labels, one per feature.
    """
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
    try:  # like the model file: never a half-written image
        atomic_write(path, lambda handle: figure.savefig(handle, dpi=110, format="png"))
    finally:
        plt.close(figure)
