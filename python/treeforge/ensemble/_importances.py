"""Feature importances of a core ``Model``, one rule per family (NumPy only): the estimators' ``feature_importances_``
and the command line's ``info``, which reads model files without the estimators, both compute them here."""

import numpy as np


def gain_importances(model):
    """Gradient boosting: (n_features,) float64, each feature's total split gain over all trees,
    normalised to sum 1; all zeros when the model has no split."""
    gain = np.asarray(model.feature_importances(), dtype=np.float64)
    total = gain.sum()
    return gain / total if total > 0 else np.zeros_like(gain)


def forest_importances(model):
    """Random forests (scikit-learn's definition): (n_features,) float64, each tree's impurity decrease
    per feature normalised per tree, averaged over the trees with a split, normalised again; all zeros
    when no tree has a split."""
    per_tree = model.tree_feature_importances()
    has_split = per_tree.sum(axis=1) > 0
    if not np.any(has_split):
        return np.zeros(model.n_features, dtype=np.float64)
    mean = per_tree[has_split].mean(axis=0)
    return mean / mean.sum()


def weighted_tree_importances(model, estimator_weights):
    """AdaBoost of the core's trees (scikit-learn's definition): (n_features,) float64,
    ``sum_m alpha_m * importances_m / sum_m alpha_m`` over ``estimator_weights`` (n_estimators,), of
    which the first ``model.n_trees`` weigh the trees."""
    per_tree = model.tree_feature_importances()
    return estimator_weights[:per_tree.shape[0]] @ per_tree / estimator_weights.sum()
