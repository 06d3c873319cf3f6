"""Split finder: the best split equals an exhaustive search over every feature, threshold bin and
missing direction under the regularised gain and the constraints; ties and boundaries are exact."""

import numpy as np
import pytest
from _reference import best_split, runner_up_gap, split_candidates
from _strategies import KERNEL_SETTINGS, bin_matrix, feature_matrices, random_gradients, split_params, tree_config
from hypothesis import given
from hypothesis import strategies as st

from treeforge import _core

find = _core._testing.find_best_split


def assert_same_as_exhaustive(binned, mapper, codes, grad, hess, params):
    """The core's split has the oracle's best gain and is itself an admissible split of that gain;
    it is the oracle's split whenever every other row partition gains less by 1e-7 of the scale."""
    got = find(binned, grad, hess, tree_config(**params))
    candidates = split_candidates(codes, mapper.n_bins, grad, hess, **params)
    best = best_split(candidates)
    if best is None:
        assert got["feature"] == -1 and got["gain"] == 0.0, got
        return got, None
    assert got["feature"] >= 0, f"no split found, oracle has {best}"
    scale = best.gain + np.abs(grad).sum() ** 2 / (hess.sum() + params["l2"])
    close_to_best = dict(rel=1e-9, abs=1e-12 * scale)
    assert got["gain"] == pytest.approx(best.gain, **close_to_best)
    key = (got["feature"], got["bin"], got["default_left"])
    chosen = [c for c in candidates if (c.feature, c.bin, c.default_left) == key]
    assert len(chosen) == 1 and chosen[0].gain == pytest.approx(best.gain, **close_to_best), (got, best)
    assert (got["left_count"], got["right_count"]) == (chosen[0].left_count, chosen[0].right_count)
    if runner_up_gap(candidates, best) > 1e-7 * scale:
        assert chosen[0] == best
    return got, best


def nan_data(seed, n_rows=200, n_features=4, nan_fraction=0.2):
    """(X, grad, hess): normal features with NaN holes, the last column all NaN; continuous gradients."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_features))
    X[rng.random(X.shape) < nan_fraction] = np.nan
    X[:, -1] = np.nan
    grad, hess = random_gradients(rng, n_rows)
    return X, grad, hess


CONFIGS = [
    dict(l2=0.0, l1=0.0, min_samples_leaf=1, min_child_weight=0.0, min_split_gain=0.0),
    dict(l2=1.0, l1=0.0, min_samples_leaf=20, min_child_weight=1e-3, min_split_gain=0.0),
    dict(l2=0.5, l1=2.0, min_samples_leaf=5, min_child_weight=5.0, min_split_gain=0.1),
    dict(l2=10.0, l1=0.5, min_samples_leaf=60, min_child_weight=20.0, min_split_gain=0.0),
]


@pytest.mark.parametrize("params", CONFIGS)
@pytest.mark.parametrize("seed", range(4))
def test_best_split_equals_exhaustive_search(params, seed):
    X, grad, hess = nan_data(seed)
    mapper, binned, codes = bin_matrix(X, 64)
    got, best = assert_same_as_exhaustive(binned, mapper, codes, grad, hess, params)
    assert best is not None and runner_up_gap(split_candidates(codes, mapper.n_bins, grad, hess, **params), best) > 0
    assert (got["feature"], got["bin"], got["default_left"]) == (best.feature, best.bin, best.default_left)
    assert got["left_count"] + got["right_count"] == X.shape[0]


@KERNEL_SETTINGS
@given(X=feature_matrices(max_rows=100), seed=st.integers(0, 2**32 - 1), params=split_params(),
       max_bins=st.integers(2, 64))
def test_best_split_equals_exhaustive_search_hypothesis(X, seed, params, max_bins):
    rng = np.random.default_rng(seed)
    mapper, binned, codes = bin_matrix(X, max_bins)
    grad, hess = random_gradients(rng, X.shape[0])
    assert_same_as_exhaustive(binned, mapper, codes, grad, hess, params)


# Exact boundaries: 4 rows, codes 0 0 1 1, grad -1 -1 1 1, hess 1: G_L = -2, G_R = 2, H = 2 each,
# gain = 4/2 + 4/2 - 0 = 4, all exact in binary floating point and in the core's fixed point.
STEP_X = np.array([[0.0], [0.0], [1.0], [1.0]])
STEP_GRAD = np.array([-1.0, -1.0, 1.0, 1.0])
STEP_HESS = np.ones(4)


def step_split(**params):
    _, binned, _ = bin_matrix(STEP_X)
    return find(binned, STEP_GRAD, STEP_HESS, tree_config(**params))


def test_exact_step_split():
    s = step_split()
    assert (s["feature"], s["bin"], s["gain"], s["left_count"], s["right_count"]) == (0, 0, 4.0, 2, 2)


@pytest.mark.parametrize("params, splits", [
    (dict(min_split_gain=3.999), True),
    (dict(min_split_gain=4.0), False),  # the gain must be strictly greater
    (dict(min_samples_leaf=2), True),
    (dict(min_samples_leaf=3), False),
    (dict(min_child_weight=2.0), True),  # a child's hessian sum may equal the minimum
    (dict(min_child_weight=2.000001), False),
])
def test_constraint_boundaries(params, splits):
    assert (step_split(**params)["feature"] == 0) is splits


@pytest.mark.parametrize("min_child_weight", [150.0, 300.0, 1e6, 1e30])
def test_min_child_weight_above_half_the_node_hessian_forbids_every_split(min_child_weight):
    # 100 rows of hessian 1: no child can reach a hessian sum of 150 or more. (Fails with the
    # fixed-point scan when min_child_weight * hess_scale overflows the int64 it is cast to.)
    X = np.random.default_rng(3).normal(size=(100, 1))
    _, binned, _ = bin_matrix(X)
    grad = np.where(X[:, 0] > 0, 1.0, -1.0)
    s = find(binned, grad, np.ones(100), tree_config(min_child_weight=min_child_weight))
    assert s["feature"] == -1, s


def test_regularisation_enters_the_gain_as_specified():
    # l2 = 2: 4/4 + 4/4 - 0 = 2; l1 = 1: T(-2) = -1, T(2) = 1, T(0) = 0, so 1/2 + 1/2 = 1.
    assert step_split(l2=2.0)["gain"] == 2.0
    assert step_split(l1=1.0)["gain"] == 1.0
    assert step_split(l1=2.0)["feature"] == -1  # every leaf score is thresholded to 0


def test_no_split_without_gain():
    X = np.random.default_rng(0).normal(size=(50, 3))
    _, binned, _ = bin_matrix(X)
    s = find(binned, np.zeros(50), np.ones(50), tree_config())
    assert s["feature"] == -1 and s["gain"] == 0.0


def test_constant_and_all_missing_features_never_split():
    rng = np.random.default_rng(1)
    X = np.column_stack([np.full(80, 2.0), np.full(80, np.nan)])
    _, binned, _ = bin_matrix(X)
    grad, hess = random_gradients(rng, 80)
    assert find(binned, grad, hess, tree_config())["feature"] == -1


def test_missing_versus_present_is_a_split():
    # The only signal is missingness: rows with NaN have negative gradients.
    x = np.where(np.arange(40) % 2 == 0, np.nan, 1.0)[:, None]
    grad = np.where(np.isnan(x[:, 0]), -1.0, 1.0)
    _, binned, _ = bin_matrix(x)
    s = find(binned, grad, np.ones(40), tree_config())
    assert s["feature"] == 0 and s["gain"] == pytest.approx(40.0)
    # Either form of the split puts the NaN rows alone on one side.
    assert sorted([s["left_count"], s["right_count"]]) == [20, 20]


@pytest.mark.parametrize("left_is_larger", [True, False])
def test_without_missing_values_default_goes_to_the_larger_child(left_is_larger):
    x = np.arange(30.0)[:, None]
    cut = 20 if left_is_larger else 10
    grad = np.where(x[:, 0] < cut, -1.0, 1.0)
    _, binned, _ = bin_matrix(x)
    s = find(binned, grad, np.ones(30), tree_config())
    assert s["bin"] == cut - 1
    assert s["default_left"] is left_is_larger


def test_ties_go_to_the_lower_feature():
    rng = np.random.default_rng(2)
    x = rng.normal(size=100)
    X = np.column_stack([x, x, x])
    _, binned, _ = bin_matrix(X)
    grad, hess = random_gradients(rng, 100)
    assert find(binned, grad, hess, tree_config())["feature"] == 0
    # A mirrored copy (-x) yields the same partitions with the children swapped: an exact tie too.
    _, binned, _ = bin_matrix(np.column_stack([x, -x]))
    assert find(binned, np.sign(x), hess, tree_config())["feature"] == 0
