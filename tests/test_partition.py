"""Row partition: a stable split of a node's rows by (code <= bin, missing follows default_left),
identical for every thread count, across the 16384-row block boundaries and for any row subset."""

import numpy as np
import pytest
from _reference import partition as reference_partition
from _strategies import KERNEL_SETTINGS, bin_matrix, feature_matrices
from hypothesis import given
from hypothesis import strategies as st

from treeforge import _core

split = _core._testing.partition


def check_split(X, rows, feature, bin, default_left, thread_counts=(1, 2, 4), max_bins=255):
    """The kernel's (left, right) for every thread count equals the reference split of ``rows``."""
    mapper, binned, codes = bin_matrix(X, max_bins)
    node = np.arange(X.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
    want_left, want_right = reference_partition(codes, node, feature, bin, default_left, mapper.n_bins[feature])
    for n_threads in thread_counts:
        left, right = split(binned, rows, feature, bin, default_left, n_threads)
        # left + right is a permutation of the node; within each side the input order is kept.
        np.testing.assert_array_equal(np.sort(np.concatenate([left, right])), np.sort(node))
        np.testing.assert_array_equal(left, want_left, err_msg=f"left, n_threads={n_threads}")
        np.testing.assert_array_equal(right, want_right, err_msg=f"right, n_threads={n_threads}")
    return want_left, want_right, codes, mapper


@KERNEL_SETTINGS
@given(X=feature_matrices(max_rows=150), seed=st.integers(0, 2**32 - 1), default_left=st.booleans(),
       subset=st.sampled_from(["all", "sorted", "shuffled"]))
def test_partition_is_the_stable_predicate_split(X, seed, default_left, subset):
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    rows = None
    if subset != "all":
        rows = rng.choice(n, size=int(rng.integers(1, n + 1)), replace=False)
        rows = np.sort(rows) if subset == "sorted" else rows
    feature = int(rng.integers(X.shape[1]))
    n_bins = bin_matrix(X, 32)[0].n_bins[feature]
    check_split(X, rows, feature, int(rng.integers(n_bins)), default_left, max_bins=32)


def test_predicate_on_a_small_example():
    X = np.array([[0.0], [np.nan], [2.0], [1.0], [np.nan], [0.0]])  # codes 0 3 2 1 3 0
    _, binned, codes = bin_matrix(X)
    np.testing.assert_array_equal(codes[:, 0], [0, 3, 2, 1, 3, 0])
    left, right = split(binned, None, 0, 1, False, 1)
    np.testing.assert_array_equal(left, [0, 3, 5])
    np.testing.assert_array_equal(right, [1, 2, 4])
    left, right = split(binned, np.array([4, 3, 2, 1, 0]), 0, 0, True, 1)
    np.testing.assert_array_equal(left, [4, 1, 0])
    np.testing.assert_array_equal(right, [3, 2])


@pytest.mark.parametrize("n_rows", [16_384, 16_385, 50_000])
@pytest.mark.parametrize("subset", ["all", "shuffled"])
def test_large_nodes_identical_for_all_thread_counts(n_rows, subset):
    rng = np.random.default_rng(n_rows)
    X = rng.normal(size=(n_rows, 2))
    X[rng.random(n_rows) < 0.1, 1] = np.nan
    rows = None if subset == "all" else rng.permutation(n_rows)[: n_rows - 1_000]
    left, right, codes, mapper = check_split(X, rows, 1, 100, True)
    assert 0 < len(left) and 0 < len(right)
    # Rows of one side keep their relative input order even when they come from different blocks.
    node = np.arange(n_rows) if rows is None else rows
    position = np.empty(n_rows, dtype=np.int64)
    position[node] = np.arange(len(node))
    assert np.all(np.diff(position[left]) > 0) and np.all(np.diff(position[right]) > 0)


@pytest.mark.parametrize("bin_choice", ["first", "last"])
def test_extreme_thresholds(bin_choice):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 1))
    X[::5] = np.nan
    mapper = bin_matrix(X, 16)[0]
    bin = 0 if bin_choice == "first" else mapper.n_bins[0] - 1
    left, right, _, _ = check_split(X, None, 0, bin, False, max_bins=16)
    if bin_choice == "last":  # every value goes left, only the missing rows go right
        np.testing.assert_array_equal(right, np.arange(0, 300, 5))


def test_rows_out_of_range_raise():
    _, binned, _ = bin_matrix(np.zeros((5, 1)))
    with pytest.raises(ValueError):
        split(binned, np.array([0, 5]), 0, 0, False, 1)
    with pytest.raises(ValueError):
        split(binned, None, 1, 0, False, 1)
