"""Histogram kernel: sums per (feature, bin) equal a NumPy np.add.at oracle, every feature's slots add
up to the node totals, subtraction is exact, and builds are deterministic and row-order free."""

import numpy as np
import pytest
from _reference import build_histogram, hist_offsets
from _strategies import KERNEL_SETTINGS, bin_matrix, feature_matrices, random_gradients
from hypothesis import given
from hypothesis import strategies as st

from treeforge import _core

build = _core._testing.build_histogram


def fixed_point_atol(grad, hess, n_rows):
    """Bound on the fixed-point error of a sum of n_rows values: the core keeps each value to
    max|v| * n / 2^62, so a sum is off by at most n^2 * max|v| / 2^62 (taken with margin)."""
    top = max(np.abs(grad).max(initial=0.0), np.abs(hess).max(initial=0.0))
    return 8.0 * n_rows * n_rows * top / 2.0**62 + 1e-300


def assert_matches_oracle(binned, mapper, codes, grad, hess, rows):
    got = build(binned, grad, hess, rows)
    want = build_histogram(codes, mapper.n_bins, grad, hess, rows)
    assert got.shape == want.shape == (hist_offsets(mapper.n_bins)[-1], 3)
    n = codes.shape[0] if rows is None else len(rows)
    np.testing.assert_array_equal(got[:, 2], want[:, 2])
    np.testing.assert_allclose(got[:, :2], want[:, :2], rtol=1e-12, atol=fixed_point_atol(grad, hess, n))
    return got


@KERNEL_SETTINGS
@given(X=feature_matrices(max_rows=150), seed=st.integers(0, 2**32 - 1), use_subset=st.booleans())
def test_histogram_equals_oracle(X, seed, use_subset):
    rng = np.random.default_rng(seed)
    mapper, binned, codes = bin_matrix(X, int(rng.integers(2, 64)))
    grad, hess = random_gradients(rng, X.shape[0])
    rows = None
    if use_subset:
        rows = rng.permutation(X.shape[0])[: int(rng.integers(1, X.shape[0] + 1))]
    assert_matches_oracle(binned, mapper, codes, grad, hess, rows)


def test_large_node_matches_oracle_and_is_deterministic():
    # 20k rows: the build runs on two threads with per-thread partial histograms.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 5))
    X[:, 2] = np.nan
    X[rng.random(X.shape) < 0.1] = np.nan
    mapper, binned, codes = bin_matrix(X, 255)
    grad, hess = random_gradients(rng, X.shape[0])
    rows = np.sort(rng.choice(X.shape[0], size=17_000, replace=False))
    first = assert_matches_oracle(binned, mapper, codes, grad, hess, rows)
    np.testing.assert_array_equal(build(binned, grad, hess, rows), first)
    # Integer sums do not depend on the order of the rows.
    np.testing.assert_array_equal(build(binned, grad, hess, rng.permutation(rows)), first)


def _low_cardinality_matrix(rng, n):
    """Binary, 3- and 4-valued features (some with NaN) between continuous ones: bundle candidates."""
    X = np.column_stack([
        rng.integers(0, 2, n), rng.normal(size=n), rng.integers(0, 3, n), rng.integers(0, 4, n),
        rng.integers(0, 2, n), rng.normal(size=n), rng.integers(0, 3, n), rng.integers(0, 2, n),
    ]).astype(float)
    X[rng.random(n) < 0.1, 2] = np.nan
    X[rng.random(n) < 0.2, 7] = np.nan
    return X


@pytest.mark.parametrize("n_rows", [500, 40_000])
def test_bundled_features_match_oracle(n_rows):
    # Features of few bins share one code byte per row (3 * 4 * 5 slots, then 3 * 4 * 3 ...); their
    # combined slots are spread back over each feature's slots, which must equal direct sums.
    rng = np.random.default_rng(5)
    X = _low_cardinality_matrix(rng, n_rows)
    mapper, binned, codes = bin_matrix(X, 255)
    assert binned.n_groups < binned.n_features
    grad, hess = random_gradients(rng, n_rows)
    assert_matches_oracle(binned, mapper, codes, grad, hess, None)
    assert_matches_oracle(binned, mapper, codes, grad, hess, rng.permutation(n_rows)[: n_rows // 3])
    left = np.flatnonzero(rng.random(n_rows) < 0.4)
    assert _core._testing.histogram_subtraction_error(binned, grad, hess, left) == 0


def test_features_of_many_bins_are_not_bundled():
    # 17 slots (16 bins and the missing one) is past the bundling limit; 4 x 4 x 4 x 4 = 256 is not.
    rng = np.random.default_rng(6)
    wide = rng.integers(0, 16, size=(1000, 3)).astype(float)
    assert bin_matrix(wide, 255)[1].n_groups == 3
    narrow = rng.integers(0, 3, size=(1000, 5)).astype(float)
    assert bin_matrix(narrow, 255)[1].n_groups == 2  # four features fill 256 slots; the fifth starts a group


@KERNEL_SETTINGS
@given(X=feature_matrices(max_rows=150), seed=st.integers(0, 2**32 - 1))
def test_every_feature_sums_to_node_totals(X, seed):
    rng = np.random.default_rng(seed)
    mapper, binned, _ = bin_matrix(X, 32)
    grad, hess = random_gradients(rng, X.shape[0])
    rows = rng.permutation(X.shape[0])[: int(rng.integers(1, X.shape[0] + 1))]
    hist = build(binned, grad, hess, rows)
    offsets = hist_offsets(mapper.n_bins)
    totals = np.array([grad[rows].sum(), hess[rows].sum(), len(rows)])
    for f in range(X.shape[1]):
        feature_total = hist[offsets[f]:offsets[f + 1]].sum(axis=0)
        assert feature_total[2] == len(rows)
        np.testing.assert_allclose(feature_total[:2], totals[:2], rtol=1e-12,
                                   atol=fixed_point_atol(grad, hess, len(rows)) * (offsets[f + 1] - offsets[f]))


def test_missing_values_land_in_the_last_slot_of_their_feature():
    X = np.array([[np.nan, 1.0], [0.0, np.nan], [1.0, np.nan], [np.nan, 2.0]])
    mapper, binned, _ = bin_matrix(X)
    grad = np.array([1.0, 2.0, 4.0, 8.0])
    hist = build(binned, grad, np.ones(4), None)
    offsets = hist_offsets(mapper.n_bins)
    np.testing.assert_array_equal(hist[offsets[1] - 1], [9.0, 2.0, 2.0])  # feature 0's missing slot
    np.testing.assert_array_equal(hist[offsets[2] - 1], [6.0, 2.0, 2.0])  # feature 1's missing slot


@KERNEL_SETTINGS
@given(X=feature_matrices(max_rows=200, max_features=5), seed=st.integers(0, 2**32 - 1),
       grad_scale=st.sampled_from([1e-30, 1e-3, 1.0, 1e6, 1e30]), wide_range=st.booleans())
def test_subtraction_is_exact(X, seed, grad_scale, wide_range):
    rng = np.random.default_rng(seed)
    _, binned, _ = bin_matrix(X, int(rng.integers(2, 255)))
    grad, hess = random_gradients(rng, X.shape[0], grad_scale)
    if wide_range:  # magnitudes spread over 60 decades (all finite in float32): still exact in fixed point
        decades = 10.0 ** rng.integers(-30, 30, size=X.shape[0])
        grad = (random_gradients(rng, X.shape[0], 1.0)[0] * decades).astype(np.float32).astype(np.float64)
    left = np.flatnonzero(rng.random(X.shape[0]) < rng.random())
    assert _core._testing.histogram_subtraction_error(binned, grad, hess, left) == 0


def test_build_is_deterministic_across_calls():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(9_000, 3))
    _, binned, _ = bin_matrix(X, 255)
    grad, hess = random_gradients(rng, X.shape[0])
    results = [build(binned, grad, hess, None) for _ in range(3)]
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])
    # None and the explicit list of all rows are the same node.
    np.testing.assert_array_equal(build(binned, grad, hess, np.arange(X.shape[0])), results[0])


def test_rows_parameter_is_optional_as_in_the_stub():
    # _core.pyi: build_histogram(binned, grad, hess, rows=None). The binding declares no default and
    # no argument names, so the documented call fails with TypeError.
    X = np.arange(10.0)[:, None]
    _, binned, _ = bin_matrix(X)
    grad, hess = np.ones(10), np.ones(10)
    np.testing.assert_array_equal(build(binned, grad, hess), build(binned, grad, hess, None))
    np.testing.assert_array_equal(build(binned, grad=grad, hess=hess, rows=None), build(binned, grad, hess, None))


def test_gradient_length_mismatch_raises():
    _, binned, _ = bin_matrix(np.arange(10.0)[:, None])
    with pytest.raises(ValueError):
        build(binned, np.ones(10), np.ones(9), None)
