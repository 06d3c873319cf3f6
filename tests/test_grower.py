"""Tree grower, through one boosting iteration (squared error, learning rate 1): valid structure,
node values, counts, covers and gains recomputed from the rows reaching each node, the root split
equals the exhaustive search, grow policies, and margins updated from the partition."""

import numpy as np
import pytest
from _reference import (
    as_float32_values,
    best_split,
    canonical_tree,
    expansion_order,
    leaf_of_codes,
    leaf_weight,
    node_depths,
    node_rows,
    runner_up_gap,
    split_candidates,
    split_gain,
    tree_slice,
)
from _strategies import KERNEL_SETTINGS, bin_matrix, feature_matrices, regression_problem, train_booster
from hypothesis import given
from hypothesis import strategies as st


def first_gradients(arrays, y, sample_weight=None):
    """(grad, hess) of squared error at the base score, rounded as the core stores them."""
    grad = as_float32_values(arrays["base_score"][0] - np.asarray(y, dtype=np.float64))
    if sample_weight is None:
        return grad, np.ones_like(grad)
    return as_float32_values(grad * sample_weight), as_float32_values(sample_weight)


def one_tree(X, y, sample_weight=None, **params):
    """(booster, model, arrays) after one squared-error iteration with learning rate 1."""
    booster = train_booster(X, y, 1, sample_weight, objective="squared_error", learning_rate=1.0, **params)
    model = booster.model()
    return booster, model, model.to_arrays()


def assert_valid_structure(arrays, max_leaf_nodes=0, max_depth=0):
    lo, hi = tree_slice(arrays, 0)
    feature, left, right = arrays["feature"][lo:hi], arrays["left"][lo:hi], arrays["right"][lo:hi]
    is_leaf = feature < 0
    nodes = np.arange(hi - lo)
    assert np.all(left[is_leaf] == -1) and np.all(right[is_leaf] == -1)
    assert np.all(left[~is_leaf] > nodes[~is_leaf]) and np.all(right[~is_leaf] > nodes[~is_leaf])
    children = np.concatenate([left[~is_leaf], right[~is_leaf]])
    np.testing.assert_array_equal(np.sort(children), np.arange(1, hi - lo))  # one parent each, root has none
    assert is_leaf.sum() == (~is_leaf).sum() + 1
    assert max_leaf_nodes == 0 or is_leaf.sum() <= max_leaf_nodes
    assert max_depth == 0 or node_depths(arrays, 0).max() <= max_depth


def assert_node_statistics(arrays, X, grad, hess, l2=0.0, l1=0.0, min_samples_leaf=1, min_child_weight=0.0,
                           min_split_gain=0.0):
    """count, cover, value and gain of every node equal what its rows give, and splits are admissible."""
    lo, hi = tree_slice(arrays, 0)
    rows = node_rows(arrays, 0, X)
    sums = [(grad[r].sum(), hess[r].sum(), len(r)) for r in rows]
    atol = 1e-9 * (np.abs(grad).sum() + 1)
    for node, (g, h, n) in enumerate(sums):
        k = lo + node
        assert arrays["count"][k] == n, f"node {node}"
        assert arrays["cover"][k] == pytest.approx(h, rel=1e-9, abs=atol), f"node {node}"
        assert arrays["value"][k] == pytest.approx(leaf_weight(g, h, l2, l1), rel=1e-9, abs=atol), f"node {node}"
        if arrays["feature"][k] < 0:
            assert arrays["gain"][k] == 0.0
            continue
        (gl, hl, nl), (gr, hr, nr) = sums[arrays["left"][k]], sums[arrays["right"][k]]
        assert min(nl, nr) >= min_samples_leaf and min(hl, hr) >= min_child_weight * (1 - 1e-12)
        assert arrays["gain"][k] > min_split_gain and arrays["gain"][k] > 0
        assert arrays["gain"][k] == pytest.approx(split_gain(gl, hl, gr, hr, l2, l1), rel=1e-7, abs=atol)


@st.composite
def grower_params(draw):
    return {
        "max_leaf_nodes": draw(st.sampled_from([0, 2, 3, 5, 8, 16])),
        "max_depth": draw(st.sampled_from([0, 1, 2, 3, 5])),
        "min_samples_leaf": draw(st.integers(1, 15)),
        "min_child_weight": draw(st.sampled_from([0.0, 1e-3, 0.5, 3.0])),
        "l2_regularization": draw(st.sampled_from([0.0, 0.3, 2.0])),
        "l1_regularization": draw(st.sampled_from([0.0, 0.2, 1.0])),
        "min_split_gain": draw(st.sampled_from([0.0, 0.05, 1.0])),
        "grow_policy": draw(st.sampled_from(["lossguide", "depthwise"])),
    }


@KERNEL_SETTINGS
@given(X=feature_matrices(max_rows=150), seed=st.integers(0, 2**32 - 1), params=grower_params(),
       weighted=st.booleans())
def test_grown_tree_matches_node_statistics(X, seed, params, weighted):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=X.shape[0]) + np.nan_to_num(X[:, 0], posinf=3, neginf=-3)
    weight = rng.uniform(0.2, 3.0, size=X.shape[0]) if weighted else None
    booster, model, arrays = one_tree(X, y, weight, **params)
    assert model.n_trees == 1 and model.n_iter == 1
    assert_valid_structure(arrays, params["max_leaf_nodes"], params["max_depth"])
    grad, hess = first_gradients(arrays, y, weight)
    constraints = dict(l2=params["l2_regularization"], l1=params["l1_regularization"],
                       min_samples_leaf=params["min_samples_leaf"], min_child_weight=params["min_child_weight"],
                       min_split_gain=params["min_split_gain"])
    assert_node_statistics(arrays, X, grad, hess, **constraints)

    # predict_leaf (raw values) agrees with the node rows and with a walk on the training codes.
    leaves = model.predict_leaf(X)[:, 0]
    for node, rows in enumerate(node_rows(arrays, 0, X)):
        if arrays["feature"][node] < 0:
            np.testing.assert_array_equal(np.flatnonzero(leaves == node), rows)
    mapper, _, codes = bin_matrix(X)
    np.testing.assert_array_equal([leaf_of_codes(arrays, 0, c, mapper.n_bins) for c in codes], leaves)

    # The root split is the exhaustive search's best split when that one is unique.
    candidates = split_candidates(codes, mapper.n_bins, grad, hess, **constraints)
    best = best_split(candidates)
    if best is None:
        assert arrays["feature"][0] == -1
    elif runner_up_gap(candidates, best) > 1e-7 * (best.gain + 1):
        root = (arrays["feature"][0], arrays["bin"][0], bool(arrays["default_left"][0]))
        assert root == (best.feature, best.bin, best.default_left)


def test_step_function_is_recovered_by_one_split():
    rng = np.random.default_rng(0)
    x0 = rng.permutation(np.linspace(0, 1, 200))  # 200 distinct values: one bin each
    X = np.column_stack([x0, rng.normal(size=200)])
    y = np.where(x0 <= 0.3, -2.0, 5.0)
    booster, model, arrays = one_tree(X, y, max_leaf_nodes=2, min_samples_leaf=1)
    assert arrays["feature"][0] == 0
    assert x0[x0 <= 0.3].max() <= arrays["threshold"][0] < x0[x0 > 0.3].min()
    np.testing.assert_allclose(model.predict_margin(X)[:, 0], y, atol=1e-5)
    np.testing.assert_array_equal(arrays["count"][1:], [np.sum(x0 <= 0.3), np.sum(x0 > 0.3)])


def test_policies_agree_when_no_limit_binds():
    rng = np.random.default_rng(1)
    X, y = regression_problem(rng, 400, 4)
    trees = {}
    for policy in ("lossguide", "depthwise"):
        booster, model, arrays = one_tree(X, y, max_leaf_nodes=0, max_depth=0, min_samples_leaf=15,
                                          grow_policy=policy)
        assert_valid_structure(arrays)
        trees[policy] = (canonical_tree(arrays, 0), model.predict_margin(X))
    assert sum(1 for f in arrays["feature"] if f >= 0) > 5, "the test needs a tree with several splits"
    assert trees["lossguide"][0] == trees["depthwise"][0]
    np.testing.assert_array_equal(trees["lossguide"][1], trees["depthwise"][1])


@pytest.mark.parametrize("policy", ["lossguide", "depthwise"])
@pytest.mark.parametrize("max_leaf_nodes", [2, 3, 6, 11])
def test_leaf_limit_prunes_the_full_tree_in_policy_order(policy, max_leaf_nodes):
    rng = np.random.default_rng(2)
    X, y = regression_problem(rng, 400, 4)
    _, _, full = one_tree(X, y, max_leaf_nodes=0, min_samples_leaf=10, grow_policy=policy)
    _, _, limited = one_tree(X, y, max_leaf_nodes=max_leaf_nodes, min_samples_leaf=10, grow_policy=policy)
    assert_valid_structure(limited, max_leaf_nodes)
    expanded = expansion_order(full, 0, policy, max_leaf_nodes)
    assert len(expanded) == max_leaf_nodes - 1
    assert canonical_tree(limited, 0) == canonical_tree(full, 0, expanded=set(expanded))


@pytest.mark.parametrize("max_depth", [1, 2, 4])
def test_depth_limit_cuts_the_full_tree(max_depth):
    rng = np.random.default_rng(3)
    X, y = regression_problem(rng, 300, 3)
    _, _, full = one_tree(X, y, max_leaf_nodes=0, min_samples_leaf=5)
    _, _, limited = one_tree(X, y, max_leaf_nodes=0, max_depth=max_depth, min_samples_leaf=5)
    assert_valid_structure(limited, max_depth=max_depth)
    depth = node_depths(full, 0)
    shallow = {node for node in range(len(depth)) if depth[node] < max_depth}
    assert canonical_tree(limited, 0) == canonical_tree(full, 0, expanded=shallow)


@pytest.mark.parametrize("objective, n_outputs", [
    ("squared_error", 1), ("binary_logloss", 1), ("multiclass_softmax", 3), ("poisson", 1), ("gamma", 1)])
@pytest.mark.parametrize("subsample", [1.0, 0.7])
@pytest.mark.parametrize("grow_policy", ["lossguide", "depthwise"])
def test_training_margin_equals_model_prediction(objective, n_outputs, subsample, grow_policy):
    rng = np.random.default_rng(4)
    X, y = regression_problem(rng, 300, 4, nan_fraction=0.15)
    if objective == "binary_logloss":
        y = (y > 0).astype(float)
    elif objective == "multiclass_softmax":
        y = np.digitize(y, [-0.5, 1.5]).astype(float)
    elif objective in ("poisson", "gamma"):
        y = np.exp(y / 2) + (objective == "gamma") * 0.1
    booster = train_booster(X, y, 3, objective=objective, n_outputs=n_outputs, learning_rate=0.3,
                            subsample=subsample, max_leaf_nodes=8, grow_policy=grow_policy)
    margin = booster.train_margin()
    assert margin.shape == (300, n_outputs)
    np.testing.assert_array_equal(margin, booster.model().predict_margin(X))


@pytest.mark.parametrize("n_rows", [3_000, 60_000])
@pytest.mark.parametrize("policy", [("lossguide", 31, 0), ("depthwise", 0, 6), ("depthwise", 40, 0)],
                         ids=["lossguide", "depthwise", "depthwise-leaf-limit"])
def test_tree_is_identical_for_any_thread_count(n_rows, policy):
    # 20 features x 255 bins: enough histogram slots for the parallel split search. With 60,000
    # rows the large nodes are summed by rows split across threads (partial histograms folded
    # together), the small ones by features: one thread does neither, and all must agree.
    # Depth-wise, a level's small nodes are expanded side by side, one per thread (except on the
    # level the leaf limit cuts short). Leaf-wise, small splits run side by side too, those of
    # leaves ranked after the one taken being set aside until their turn, and some never
    # entering the tree once the 31 leaves are reached.
    grow_policy, max_leaf_nodes, max_depth = policy
    rng = np.random.default_rng(5)
    X = rng.normal(size=(n_rows, 20))
    y = X[:, 0] - 2 * X[:, 3] + np.sin(3 * X[:, 5]) + rng.normal(size=n_rows)
    X[rng.random(X.shape) < 0.05] = np.nan
    X[:, 7] = np.round(X[:, 7])  # a feature of few bins
    arrays = [one_tree(X, y, max_leaf_nodes=max_leaf_nodes, max_depth=max_depth, min_samples_leaf=5,
                       grow_policy=grow_policy, n_threads=t)[2] for t in (1, 2, 3)]
    assert sum(f >= 0 for f in arrays[0]["feature"]) >= 30, "the test needs a tree of several levels"
    for other in arrays[1:]:
        for key, value in arrays[0].items():
            np.testing.assert_array_equal(np.asarray(other[key]), np.asarray(value), err_msg=key)
