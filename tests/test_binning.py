"""BinMapper: codes are searchsorted over the edges, NaN gets the missing bin, distinct values keep
their own bins, quantile bins have about equal counts, and fitting is seeded and thread-independent."""

import numpy as np
import pytest
from _strategies import KERNEL_SETTINGS, bin_matrix, feature_matrices
from hypothesis import given
from hypothesis import strategies as st

from treeforge import _core


def assert_codes_follow_edges(mapper, X, codes):
    """codes[:, f] == searchsorted(edges[f], X[:, f], 'left'), and n_bins[f] where X is NaN."""
    for f, edges in enumerate(mapper.bin_edges):
        x = X[:, f].astype(np.float64)
        expected = np.where(np.isnan(x), mapper.n_bins[f], np.searchsorted(edges, x, side="left"))
        np.testing.assert_array_equal(codes[:, f], expected, err_msg=f"feature {f}")


@KERNEL_SETTINGS
@given(X=feature_matrices(max_rows=300), max_bins=st.integers(2, 255))
def test_codes_are_searchsorted_of_edges(X, max_bins):
    mapper, binned, codes = bin_matrix(X, max_bins)
    assert codes.dtype == np.uint8 and codes.shape == X.shape
    assert binned.n_samples == X.shape[0] and binned.n_features == X.shape[1] == mapper.n_features
    assert_codes_follow_edges(mapper, X, codes)
    for f, edges in enumerate(mapper.bin_edges):
        assert len(edges) == mapper.n_bins[f] - 1
        assert 1 <= mapper.n_bins[f] <= max_bins
        assert np.all(np.diff(edges) > 0), "edges must be strictly increasing"
        assert not np.isnan(edges).any()
        finite = X[:, f][~np.isnan(X[:, f])]
        if finite.size:  # every value bin of the fitted data holds at least one of its values
            assert np.unique(codes[~np.isnan(X[:, f]), f]).size == mapper.n_bins[f]


@KERNEL_SETTINGS
@given(X=feature_matrices(max_rows=200, kinds=("continuous", "ties", "nan_mixed", "with_inf")),
       max_bins=st.integers(2, 40))
def test_few_distinct_values_get_one_bin_each(X, max_bins):
    mapper, _, codes = bin_matrix(X, max_bins)
    for f, edges in enumerate(mapper.bin_edges):
        distinct = np.unique(X[:, f][~np.isnan(X[:, f])])
        if distinct.size > max_bins:
            continue
        assert mapper.n_bins[f] == max(distinct.size, 1)
        # Edge i separates distinct value i from value i + 1: u[i] <= e[i] < u[i + 1].
        assert np.all(distinct[:-1] <= edges) and np.all(edges < distinct[1:])
        np.testing.assert_array_equal(np.searchsorted(edges, distinct, side="left"), np.arange(distinct.size))


def test_values_of_every_sign_and_magnitude_sort_into_their_own_bins():
    """The edges come from a radix sort of the values' bit patterns: negative, subnormal, signed
    zero, huge and infinite values, shuffled, still get one bin each in their numeric order."""
    values = np.array([-np.inf, -1e300, -3.5, -1.0, -1e-310, -0.0, 0.0, 5e-324, 1e-310, 0.25, 2.0, 1e300, np.inf])
    rng = np.random.default_rng(4)
    X = rng.permutation(np.repeat(values, 7))[:, None]
    mapper, _, codes = bin_matrix(X, 255)
    distinct = np.unique(values)  # -0.0 == 0.0: one value
    assert mapper.n_bins[0] == distinct.size
    np.testing.assert_array_equal(codes[:, 0], np.searchsorted(distinct, X[:, 0]))


def test_infinities_fall_in_outer_value_bins():
    rng = np.random.default_rng(0)
    mapper = _core.BinMapper(max_bins=16).fit(rng.normal(size=(500, 2)))
    X = np.array([[-np.inf, np.inf], [np.inf, -np.inf], [np.nan, np.nan], [0.0, 0.0]])
    codes = mapper.transform(X).codes()
    last = mapper.n_bins - 1
    np.testing.assert_array_equal(codes[0], [0, last[1]])
    np.testing.assert_array_equal(codes[1], [last[0], 0])
    np.testing.assert_array_equal(codes[2], mapper.n_bins)
    assert np.all(codes[3] < mapper.n_bins)


def test_infinities_seen_in_fit_keep_their_own_bins():
    X = np.array([[-np.inf], [-1.0], [0.0], [1.0], [np.inf], [np.nan]])
    mapper, _, codes = bin_matrix(X, 255)
    assert mapper.n_bins[0] == 5
    np.testing.assert_array_equal(codes[:, 0], [0, 1, 2, 3, 4, 5])


def test_negative_infinity_and_lowest_float_get_separate_bins():
    # Core bug (binning.cpp, cut_between): for a == -inf the cut is the lowest double, which is not
    # below b when b is the lowest double itself, so b shares bin 0 with -inf (and bin 1 stays empty)
    # although the column's 5 distinct values fit in max_bins.
    lowest, highest = np.finfo(np.float64).min, np.finfo(np.float64).max
    X = np.array([[-np.inf], [lowest], [0.0], [highest], [np.inf]])
    mapper, _, codes = bin_matrix(X, 255)
    assert mapper.n_bins[0] == 5
    np.testing.assert_array_equal(codes[:, 0], [0, 1, 2, 3, 4])


def test_constant_and_all_nan_columns_have_one_value_bin():
    X = np.column_stack([np.full(50, 7.0), np.full(50, np.nan), np.where(np.arange(50) % 2, 7.0, np.nan)])
    mapper, binned, codes = bin_matrix(X, 255)
    np.testing.assert_array_equal(mapper.n_bins, [1, 1, 1])
    assert all(len(e) == 0 for e in mapper.bin_edges)
    np.testing.assert_array_equal(codes[:, 0], 0)
    np.testing.assert_array_equal(codes[:, 1], 1)  # the missing bin of a one-bin feature
    np.testing.assert_array_equal(codes[:, 2], np.where(np.arange(50) % 2, 0, 1))
    # An unseen value still lands in the single value bin.
    np.testing.assert_array_equal(mapper.transform(np.array([[-1e9, 0.0, 1e9]])).codes(), [[0, 0, 0]])


@pytest.mark.parametrize("n_rows, max_bins", [(10_000, 32), (1_000, 255), (5_000, 7), (300, 100)])
def test_many_distinct_values_give_equal_count_bins(n_rows, max_bins):
    X = np.random.default_rng(n_rows).normal(size=(n_rows, 1))
    mapper, _, codes = bin_matrix(X, max_bins)
    assert mapper.n_bins[0] == max_bins
    counts = np.bincount(codes[:, 0], minlength=max_bins)
    # Tolerance: every bin within 5% of n / n_bins, plus one row for rounding.
    expected = n_rows / max_bins
    assert np.all(np.abs(counts - expected) <= 0.05 * expected + 1), counts


def test_heavy_value_is_kept_alone():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(size=6_000), np.zeros(4_000)])
    X = rng.permutation(x)[:, None]
    mapper, _, codes = bin_matrix(X, 16)
    assert mapper.n_bins[0] <= 16
    heavy_code = codes[X[:, 0] == 0.0, 0]
    assert np.unique(heavy_code).size == 1
    in_heavy_bin = codes[:, 0] == heavy_code[0]
    assert np.all(X[in_heavy_bin, 0] == 0.0), "the heavy value must not share its bin"
    others = np.bincount(codes[~in_heavy_bin, 0])
    assert others.max() <= 6_000 / 4, "the other values are still spread over several bins"


@pytest.mark.parametrize("max_bins", [2, 17, 255])
def test_max_bins_bounds_codes_and_missing_code_fits(max_bins):
    X = np.random.default_rng(2).normal(size=(2_000, 1))
    X[::7] = np.nan
    mapper, _, codes = bin_matrix(X, max_bins)
    assert mapper.n_bins[0] == max_bins
    assert codes[~np.isnan(X[:, 0]), 0].max() == max_bins - 1
    np.testing.assert_array_equal(codes[::7, 0], max_bins)


def test_float32_and_float64_inputs_give_identical_bins_and_codes():
    rng = np.random.default_rng(3)
    X32 = rng.normal(size=(3_000, 3)).astype(np.float32)
    X32[:, 1] = np.round(X32[:, 1] * 2)  # ties
    X32[rng.random(X32.shape) < 0.1] = np.nan
    X64 = X32.astype(np.float64)
    m32, _, c32 = bin_matrix(X32, 64)
    m64, _, c64 = bin_matrix(X64, 64)
    for e32, e64 in zip(m32.bin_edges, m64.bin_edges):
        np.testing.assert_array_equal(e32, e64)
    np.testing.assert_array_equal(c32, c64)
    np.testing.assert_array_equal(m64.transform(X32).codes(), c64)
    assert_codes_follow_edges(m32, X32, c32)


def test_subsample_is_seeded():
    X = np.random.default_rng(4).normal(size=(5_000, 2))

    def edges(seed, subsample=1_000):
        mapper = _core.BinMapper(max_bins=32, subsample=subsample, seed=seed).fit(X)
        return [e.copy() for e in mapper.bin_edges]

    first = edges(seed=7)
    for a, b in zip(first, edges(seed=7)):
        np.testing.assert_array_equal(a, b)
    others = [edges(seed=s) for s in (8, 9, 10)]
    assert any(not np.array_equal(a, b) for other in others for a, b in zip(first, other)), "seed is ignored"
    # A subsample of at least n rows is the whole data: the seed has no effect.
    for a, b in zip(edges(seed=1, subsample=5_000), edges(seed=2, subsample=5_000)):
        np.testing.assert_array_equal(a, b)


def test_fit_and_transform_identical_across_thread_counts():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(20_000, 4))  # transform blocks are 4096 rows: several per thread
    X[rng.random(X.shape) < 0.05] = np.nan
    m1, _, c1 = bin_matrix(X, 255, n_threads=1)
    m2, _, c2 = bin_matrix(X, 255, n_threads=2)
    for e1, e2 in zip(m1.bin_edges, m2.bin_edges):
        np.testing.assert_array_equal(e1, e2)
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_array_equal(m1.transform(X, 2).codes(), c1)


def test_transform_rejects_a_wrong_number_of_features():
    mapper = _core.BinMapper().fit(np.zeros((5, 3)))
    with pytest.raises(ValueError):
        mapper.transform(np.zeros((5, 2)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_listed_rows_bin_as_a_copy_of_them(dtype):
    # Fitting and transforming rows of X by their numbers equals doing it on X[rows]: the same
    # seeded subsample of them, the same edges and codes, NaNs outside the list unseen.
    rng = np.random.default_rng(6)
    X = rng.normal(size=(9_000, 5)).astype(dtype)
    X[:3_000, 4] = np.nan  # missing only in rows the list leaves out
    rows = rng.permutation(np.arange(3_000, 9_000))[:5_000]
    by_list = _core.BinMapper(max_bins=64, subsample=2_000, seed=3).fit(X, 2, rows=rows)
    by_copy = _core.BinMapper(max_bins=64, subsample=2_000, seed=3).fit(np.ascontiguousarray(X[rows]), 2)
    for a, b in zip(by_list.bin_edges, by_copy.bin_edges):
        np.testing.assert_array_equal(a, b)
    listed = by_list.transform(X, 2, rows=rows)
    np.testing.assert_array_equal(listed.codes(), by_copy.transform(np.ascontiguousarray(X[rows]), 2).codes())
    assert listed.n_samples == len(rows)
    assert (listed.codes()[:, 4] < by_list.n_bins[4]).all()  # no missing code


def test_listed_rows_must_lie_inside_X():
    X = np.zeros((10, 2))
    mapper = _core.BinMapper().fit(X)
    for bad in ([0, 10], [-1]):
        with pytest.raises(ValueError, match="out of range"):
            mapper.transform(X, rows=np.array(bad))
        with pytest.raises(ValueError, match="out of range"):
            _core.BinMapper().fit(X, rows=np.array(bad))
    with pytest.raises(ValueError, match="no rows"):
        mapper.transform(X, rows=np.array([], dtype=np.int64))
