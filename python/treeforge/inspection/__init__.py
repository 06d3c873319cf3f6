"""Explaining fitted treeforge models.

- :func:`shap_values`: exact SHAP values of every feature for every sample (TreeSHAP in the C++
  core), laid out as the ``shap`` package lays out its ``TreeExplainer``'s values.
- :func:`to_shap`: the model in ``shap``'s own tree format, for ``shap.TreeExplainer`` (which does not
  recognise treeforge's estimators) and so for shap's plots.

Importing this package imports no plotting library and not ``shap``.
"""

import numpy as np

from ._shap_adapter import to_shap

__all__ = ["shap_values", "to_shap"]


def shap_values(estimator, X, interactions=False):
    """Exact SHAP values of a fitted treeforge estimator, and its expected value.

    Path-dependent TreeSHAP (Lundberg, Erion & Lee, 2018), computed by the C++ core on every
    thread of ``estimator.n_jobs`` with the GIL released: a feature left out of a coalition is
    integrated out along each tree's splits, weighted by the training cover. The values are those
    of ``estimator.predict_contributions(X)`` without its last column, in the units of the raw score
    (log-odds for boosting classifiers; see ``predict_contributions`` for each estimator), so that
    ``values.sum(axis=1) + expected_value`` equals that score.

    Parameters
    ----------
    estimator : fitted treeforge estimator
        Gradient boosting, random forests, or AdaBoost with its default trees (AdaBoost.R2's
        weighted median is refused with a ValueError).
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        Checked and encoded as ``estimator.predict`` checks it (names, number of features,
        categories by value).
    interactions : bool, default=False
        Return SHAP interaction values instead (Lundberg et al., 2020, as XGBoost's
        ``pred_interactions``): entry [i, j] off the diagonal is half the change in feature j's
        value when feature i is held at the sample's value rather than integrated out (symmetric);
        the diagonal holds each feature's value minus its interactions, so each row of the
        matrix sums to the feature's SHAP value.

    Returns
    -------
    values : ndarray of shape (n_samples, n_features), float64
        Or (n_samples, n_features, n_outputs) where the score has several columns (multiclass
        boosting and AdaBoost, forest classifiers: one per class, binary ones included), the outputs
        last as ``shap.TreeExplainer(...).shap_values`` gives them since shap 0.45. With
        ``interactions``: (n_samples, n_features, n_features), or (n_samples, n_features,
        n_features, n_outputs), as ``shap_interaction_values``.
    expected_value : float, or ndarray of shape (n_outputs,)
        The base score plus each tree's cover-weighted mean leaf value (forests: their mean).
    """
    if not hasattr(estimator, "_shap_values"):
        raise TypeError(f"{type(estimator).__name__} is not a treeforge estimator; shap_values explains treeforge's.")
    values = estimator._shap_values(X, interactions=interactions)  # (n, outputs, F + 1[, F + 1])
    expected = values[0, :, -1, -1] if interactions else values[0, :, -1]
    values = values[:, :, :-1, :-1] if interactions else values[:, :, :-1]
    if values.shape[1] == 1:
        return values[:, 0], float(expected[0])
    return np.ascontiguousarray(np.moveaxis(values, 1, -1)), expected.copy()
