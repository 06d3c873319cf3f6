"""Minimal cost-complexity pruning of the forests' trees (ccp_alpha) against scikit-learn's
weakest-link algorithm run by hand on the unpruned tree, with node impurities measured on the
training rows: the same nodes are kept and the pruned leaves hold the exact means or class shares."""

import numpy as np
import pytest
from _reference import node_rows, tree_slice
from sklearn.datasets import make_classification, make_friedman1

import treeforge


def node_risks(arrays, X, y, classifier):
    """R(t) = impurity(t) * n_t / n of every node, and the value it would hold as a leaf."""
    rows = node_rows(arrays, 0, X)
    risks, values = [], []
    for r in rows:
        if classifier:
            share = np.bincount(y[r], minlength=2) / len(r)
            risks.append(len(r) * (1 - np.sum(share ** 2)) / len(y))
            values.append(share)
        else:
            risks.append(np.sum((y[r] - y[r].mean()) ** 2) / len(y))
            values.append([y[r].mean()])
    return np.array(risks), np.array(values)


def weakest_link_prune(arrays, risks, alpha):
    """scikit-learn's loop: prune the internal node of least effective alpha while it is <= alpha.
    Returns the set of kept nodes and the set of pruned internal nodes (now leaves)."""
    lo, hi = tree_slice(arrays, 0)
    left, right = arrays["left"][lo:hi], arrays["right"][lo:hi]
    is_leaf = arrays["feature"][lo:hi] < 0
    pruned = set()

    def subtree(node):
        if is_leaf[node] or node in pruned:
            return [node]
        return subtree(left[node]) + subtree(right[node])

    def kept():
        out, stack = [], [0]
        while stack:
            node = stack.pop()
            out.append(node)
            if not is_leaf[node] and node not in pruned:
                stack += [left[node], right[node]]
        return set(out)

    while True:
        candidates = [n for n in kept() if not is_leaf[n] and n not in pruned]
        if not candidates:
            break
        effective = {n: (risks[n] - sum(risks[m] for m in subtree(n))) / (len(subtree(n)) - 1) for n in candidates}
        node = min(effective, key=lambda n: (effective[n], n))
        if effective[node] > alpha:
            break
        pruned.add(node)
    return kept(), pruned


@pytest.mark.parametrize("classifier", [False, True])
@pytest.mark.parametrize("alpha", [0.004, 0.01, 0.05])
def test_pruned_tree_is_scikit_learns_weakest_link_subtree(classifier, alpha):
    if classifier:
        X, y = make_classification(400, n_features=6, flip_y=0.2, random_state=1)
        Forest = treeforge.RandomForestClassifier
    else:
        X, y = make_friedman1(400, noise=1.0, random_state=1)
        alpha *= 10  # the risks are squared errors of targets about 10 wide
        Forest = treeforge.RandomForestRegressor
    params = dict(n_estimators=1, bootstrap=False, max_features=None, random_state=0)
    full = Forest(**params).fit(X, y)._model.to_arrays()
    pruned = Forest(ccp_alpha=alpha, **params).fit(X, y)._model.to_arrays()
    risks, values = node_risks(full, X, y, classifier)
    kept, made_leaves = weakest_link_prune(full, risks, alpha)
    assert made_leaves, "alpha too small to prune anything: the test would prove nothing"
    order = sorted(kept)
    expected_feature = [-1 if n in made_leaves else full["feature"][n] for n in order]
    np.testing.assert_array_equal(pruned["feature"], expected_feature)
    internal = np.array([n not in made_leaves and full["feature"][n] >= 0 for n in order])
    np.testing.assert_array_equal(pruned["threshold"][internal], full["threshold"][np.array(order)[internal]])
    k = pruned["leaf_dim"] if "leaf_dim" in pruned else values.shape[1]
    leaves = pruned["feature"] < 0
    got = np.asarray(pruned["value"]).reshape(-1, k)[leaves]
    np.testing.assert_allclose(got, values[np.array(order)[leaves]], rtol=1e-9, atol=1e-12)


def test_ccp_alpha_zero_changes_nothing_and_a_large_one_leaves_a_stump():
    X, y = make_friedman1(300, noise=1.0, random_state=2)
    plain = treeforge.RandomForestRegressor(n_estimators=3, random_state=0).fit(X, y)
    zero = treeforge.RandomForestRegressor(n_estimators=3, random_state=0, ccp_alpha=0.0).fit(X, y)
    np.testing.assert_array_equal(plain.predict(X), zero.predict(X))
    huge = treeforge.RandomForestRegressor(n_estimators=3, random_state=0, ccp_alpha=1e9).fit(X, y)
    assert all(tree.get_n_leaves() == 1 for tree in huge.estimators_)
