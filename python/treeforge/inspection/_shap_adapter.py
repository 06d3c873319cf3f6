"""``to_shap``: a fitted treeforge estimator in the ``shap`` package's own tree format.

``shap.TreeExplainer`` does not recognise treeforge's classes (it answers "Model type not yet
supported"); it does take a dict ``{"trees": [...], "base_offset": ...}`` whose trees are node arrays
(children, the child missing values go to, features, thresholds, per-node values and sample
weights). This module writes that dict from ``export._ensemble.Ensemble``, the one reader of a fit's
trees, so that ``shap``'s explainer and plots work on treeforge models without shap importing
treeforge or treeforge patching shap.

Both route ``x <= threshold`` left and NaN the default way, so thresholds are copied as they are.
Two things are made to agree with treeforge's TreeSHAP (``cpp/model/shap.cpp``) exactly:

- a node's value is the cover-weighted mean of its children's (shap reads the root's as the tree's
  expected value), with treeforge's shares: a child's cover over its parent's, one half each under a
  parent of no cover;
- the sample weights handed to shap are those shares multiplied down from the root, so that shap's
  ratio of a child's weight to its parent's is treeforge's share even where covers do not add up.
"""

import numpy as np

from ..export._ensemble import Ensemble

# A share of zero is handed to shap as this, since shap divides a grandchild's weight by its parent's
# (treeforge then splits the parent's nothing one half each): the values it weighs change by as little.
_NO_COVER_SHARE = 1e-30


def to_shap(estimator):
    """The trees of a fitted treeforge estimator as a model ``shap.TreeExplainer`` accepts.

    ``shap.TreeExplainer(to_shap(estimator)).shap_values(X)`` then gives the values of
    ``treeforge.inspection.shap_values(estimator, X)`` (to rounding) in the same layout, and its
    ``expected_value`` the same expected value: SHAP values of the raw score (log-odds for boosting
    classifiers, the probabilities of forest classifiers, AdaBoost SAMME's ``decision_function``).
    shap does not recognise treeforge's estimators themselves; this adapter is the way in.

    Parameters
    ----------
    estimator : fitted treeforge estimator
        Gradient boosting, random forests, or AdaBoost with its default trees.

    Returns
    -------
    model : dict
        shap's custom tree-model format: ``"trees"`` (one dict of node arrays per tree),
        ``"base_offset"`` (the base score: a float, or one per output), ``"input_dtype"`` and
        ``"internal_dtype"`` (float64, so shap compares the thresholds exactly as treeforge does).
        X given to the explainer must be numeric, in the estimator's feature order (a DataFrame's
        values are read by position); NaN is missing.

    Raises
    ------
    ValueError
        For a model shap's format cannot express: splits on categorical features (shap's trees test
        thresholds on the values given, not treeforge's category sets), AdaBoost.R2's weighted median
        (no sum of trees), a user's estimators inside AdaBoost, or AdaBoost fitted on a single class.
    """
    ensemble = Ensemble(estimator)
    _check_expressible(ensemble)
    leaf_values = _leaf_values(ensemble)
    trees = [_tree_dict(ensemble, tree, leaf_values) for tree in range(ensemble.n_trees)]
    base = _output_values(ensemble, ensemble.base_score[None, :])[0] * _scale(ensemble)
    return {"trees": trees, "base_offset": float(base[0]) if len(base) == 1 else base,
            "input_dtype": np.float64, "internal_dtype": np.float64, "tree_output": "raw_value"}


def _check_expressible(ensemble):
    name = ensemble.estimator_name
    if ensemble.aggregation not in ("sum", "mean"):
        raise ValueError(f"{name} predicts the weighted median of its trees (AdaBoost.R2), which no SHAP value "
                         "adds up to; shap's tree format sums trees.")
    if ensemble.objective == "adaboost_samme" and len(ensemble.fitted["classes_"]) < 2:
        raise ValueError(f"{name} fitted on a single class predicts it for every row; there is nothing to explain.")
    split_on = np.unique(ensemble.feature[ensemble.feature >= 0])
    categorical = [int(f) for f in split_on if ensemble.is_categorical(int(f))]
    if categorical:
        labels = ", ".join(repr(ensemble.feature_label(f)) for f in categorical)
        raise ValueError(f"{name} splits on categorical features ({labels}), by sets of categories that shap's "
                         "tree format (thresholds on the values given) cannot express; use "
                         "treeforge.inspection.shap_values, which gives the same values for such models.")


def _scale(ensemble):
    """What every value is multiplied by: 1 / trees for a mean (the core's n_iter: forests' trees)."""
    return 1.0 / ensemble.fitted["_model"].n_iter if ensemble.aggregation == "mean" else 1.0


def _output_values(ensemble, values):
    """(n, n_outputs) values of the raw score from (n, n_outputs) values of the margin: AdaBoost SAMME's
    votes over the estimators' total weight, for two classes the second class's minus the first's."""
    if ensemble.objective != "adaboost_samme":
        return values
    decision = values / float(np.sum(ensemble.fitted["estimator_weights_"]))
    return decision[:, 1:] - decision[:, :1] if decision.shape[1] == 2 else decision


def _leaf_values(ensemble):
    """(n_nodes, n_outputs) each node's values in the raw score's outputs (leaves' are the ones read):
    a tree of one value per leaf adds to its output column only."""
    values = np.zeros((ensemble.n_nodes, ensemble.n_outputs))
    for tree in range(ensemble.n_trees):
        begin, end = ensemble.tree_nodes(tree)
        output = ensemble.tree_output(tree)
        if output < 0:
            values[begin:end] = ensemble.value[begin:end]
        else:
            values[begin:end, output] = ensemble.value[begin:end, 0]
    return _output_values(ensemble, values) * _scale(ensemble)


def _tree_dict(ensemble, tree, leaf_values):
    """shap's node arrays of one tree (node indices local to the tree, children -1 at leaves)."""
    begin, end = ensemble.tree_nodes(tree)
    left, right = ensemble.left[begin:end], ensemble.right[begin:end]
    is_leaf = left < 0
    default = np.where(ensemble.default_left[begin:end], left, right)
    shares = _child_shares(ensemble.cover[begin:end], left, right)
    weights, values = _weights_and_values(left, right, shares, leaf_values[begin:end])
    return {"children_left": np.where(is_leaf, -1, left).astype(np.int32),
            "children_right": np.where(is_leaf, -1, right).astype(np.int32),
            "children_default": np.where(is_leaf, -1, default).astype(np.int32),
            "features": np.where(is_leaf, -2, ensemble.feature[begin:end]).astype(np.int32),
            "thresholds": np.where(is_leaf, 0.0, ensemble.threshold[begin:end]),
            "values": values, "node_sample_weight": weights}


def _child_shares(cover, left, right):
    """(n_nodes,) each node's share of its parent's cover as treeforge's TreeSHAP takes it (1 at the root)."""
    shares = np.ones(len(cover))
    for node in np.flatnonzero(left >= 0):
        for child in (left[node], right[node]):
            shares[child] = cover[child] / cover[node] if cover[node] > 0 else 0.5
    return shares


def _weights_and_values(left, right, shares, leaf_values):
    """(weights, values): per node the product of the shares from the root down (a share of zero as
    ``_NO_COVER_SHARE``), and the leaves' values with each split's the share-weighted sum of its
    children's. Parents precede their children in treeforge's node order; the loops rely on it."""
    splits = np.flatnonzero(left >= 0)
    if np.any(left[splits] <= splits) or np.any(right[splits] <= splits):
        raise RuntimeError("internal error: a child precedes its parent in a tree's node arrays")
    weights = np.ones(len(left))
    for node in splits:
        for child in (left[node], right[node]):
            weights[child] = weights[node] * max(shares[child], _NO_COVER_SHARE)
    values = leaf_values.copy()
    for node in splits[::-1]:
        values[node] = shares[left[node]] * values[left[node]] + shares[right[node]] * values[right[node]]
    return weights, values
