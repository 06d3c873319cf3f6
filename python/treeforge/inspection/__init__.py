"""Explaining fitted treeforge models.

- :func:`shap_values`: exact SHAP values of every feature for every sample (TreeSHAP in the C++
  core), laid out as the ``shap`` package lays out its ``TreeExplainer``'s values.

Importing this package imports no plotting library and not ``shap``.
"""

import numpy as np

__all__ = ["shap_values"]


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
        SHAP interaction values are not available yet: True raises NotImplementedError.

    Returns
    -------
    values : ndarray of shape (n_samples, n_features), float64
        Or (n_samples, n_features, n_outputs) where the score has several columns (multiclass
        boosting and AdaBoost, forest classifiers: one per class, binary ones included), the outputs
        last as ``shap.TreeExplainer(...).shap_values`` gives them since shap 0.45.
    expected_value : float, or ndarray of shape (n_outputs,)
        The base score plus each tree's cover-weighted mean leaf value (forests: their mean).
    """
    if interactions:
        raise NotImplementedError("SHAP interaction values are not implemented yet; use interactions=False.")
    contributions = estimator.predict_contributions(X)
    if contributions.ndim == 2:
        return contributions[:, :-1], float(contributions[0, -1]) if len(contributions) else float("nan")
    values = np.ascontiguousarray(np.moveaxis(contributions[:, :, :-1], 1, 2))
    return values, contributions[0, :, -1].copy()
