"""Feature importances of a core ``Model``, one rule per family (NumPy only): the estimators' ``feature_importances_``
and the command line's ``info``, which reads model files without the estimators, both compute them here; and
the totals by kind of ``get_feature_importance`` (split counts and covers, as XGBoost and LightGBM report them,
and the mean absolute SHAP value over given rows)."""

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


IMPORTANCE_TYPES = ("gain", "split", "cover", "shap")


def split_totals(model, importance_type):
    """(n_features,) float64 over every split of every tree: 'split', how many split on each
    feature; 'cover', the summed cover of those splits (hessians for boosting, weights for forests)."""
    arrays = model.to_arrays()
    feature = np.asarray(arrays["feature"])
    splits = feature >= 0
    weights = None if importance_type == "split" else np.asarray(arrays["cover"], dtype=np.float64)[splits]
    return np.bincount(feature[splits], weights=weights, minlength=model.n_features).astype(np.float64)


def mean_abs_shap(contributions):
    """(n_features,) float64: the mean over rows of each feature's absolute SHAP value, summed over the
    outputs, from contributions of shape (n_samples, n_outputs, n_features + 1) (the expected value last,
    left out)."""
    return np.abs(contributions[:, :, :-1]).mean(axis=0).sum(axis=0)


def importances_of_kind(estimator, importance_type, X=None):
    """The estimators' ``get_feature_importance``: ValueError for an unknown kind, for 'shap' without
    the rows ``X`` to explain, or for split totals or SHAP values of a model that holds a user's
    estimators instead of treeforge's trees."""
    if importance_type not in IMPORTANCE_TYPES:
        raise ValueError(f"importance_type must be one of {', '.join(map(repr, IMPORTANCE_TYPES))}, "
                         f"got {importance_type!r}.")
    if importance_type == "shap":
        if X is None:
            raise ValueError("importance_type='shap' is the mean |SHAP value| over rows: pass the rows to explain "
                             "as X (e.g. the training or validation data).")
        return mean_abs_shap(estimator._shap_values(X))
    if X is not None:
        raise ValueError(f"X is read only by importance_type='shap'; {importance_type!r} is read off the trees.")
    if importance_type == "gain":
        return estimator.feature_importances_
    if getattr(estimator, "_model", None) is None:
        raise ValueError(f"importance_type={importance_type!r} reads treeforge's own trees; this model holds "
                         "a user's estimators (only 'gain', their feature_importances_, applies).")
    return split_totals(estimator._model, importance_type)
