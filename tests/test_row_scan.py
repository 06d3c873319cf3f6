"""The small-node path (issue #27): a node of few rows finds its split from its rows' codes
(RowScanner) instead of a histogram. It must find exactly the histogram's split, with the same gain
to the bit, which is the exhaustive search's; and every learner grows the same model with the path
forced off, forced on for every node but the root, or chosen by size."""

import hashlib

import numpy as np
import pytest
from _reference import best_split, runner_up_gap, split_candidates
from _strategies import KERNEL_SETTINGS, bin_matrix, feature_matrices, random_gradients, split_params, tree_config
from hypothesis import given
from hypothesis import strategies as st
from test_category_splits import binned, categorical_column
from test_category_splits import tree_config as category_config

import treeforge as tf
from treeforge import _core

find = _core._testing.find_best_split


@pytest.fixture
def row_scan():
    yield _core._testing.set_row_scan
    _core._testing.set_row_scan("auto")


def assert_row_scan_is_exhaustive(binned_data, mapper, codes, grad, hess, rows, params):
    """On the node of `rows`: the row scan's split is the histogram's, field for field, and has
    the exhaustive search's best gain (and is its split when the runner-up is clearly worse)."""
    config = tree_config(**params)
    by_rows = find(binned_data, grad, hess, config, rows=rows, by_rows=True)
    assert by_rows == find(binned_data, grad, hess, config, rows=rows)
    candidates = split_candidates(codes[rows], mapper.n_bins, grad[rows], hess[rows], **params)
    best = best_split(candidates)
    if best is None:
        assert by_rows["feature"] == -1
        return
    scale = best.gain + np.abs(grad[rows]).sum() ** 2 / (hess[rows].sum() + params["l2"])
    assert by_rows["gain"] == pytest.approx(best.gain, rel=1e-9, abs=1e-12 * scale)
    if runner_up_gap(candidates, best) > 1e-7 * scale:
        assert (by_rows["feature"], by_rows["bin"], by_rows["default_left"]) == (best.feature, best.bin,
                                                                                 best.default_left)
        assert (by_rows["left_count"], by_rows["right_count"]) == (best.left_count, best.right_count)


PARAMS = [
    dict(l2=0.0, l1=0.0, min_samples_leaf=1, min_child_weight=0.0, min_split_gain=0.0),
    dict(l2=1.0, l1=0.0, min_samples_leaf=3, min_child_weight=1e-3, min_split_gain=0.0),
    dict(l2=0.5, l1=2.0, min_samples_leaf=2, min_child_weight=1.0, min_split_gain=0.1),
]


@pytest.mark.parametrize("params", PARAMS)
@pytest.mark.parametrize("seed", range(6))
def test_row_scan_of_a_small_node_is_the_exhaustive_search(params, seed):
    """Nodes of 2 to 60 rows out of 500, 255 bins: most bins of the node are empty."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(500, 5))
    X[rng.random(X.shape) < 0.15] = np.nan
    X[:, 3] = np.round(X[:, 3])  # few distinct values: a feature bundled with others
    grad, hess = random_gradients(rng, X.shape[0])
    mapper, binned_data, codes = bin_matrix(X, 255)
    for n_rows in (2, 3, 7, 20, 60):
        rows = rng.choice(X.shape[0], n_rows, replace=False)
        assert_row_scan_is_exhaustive(binned_data, mapper, codes, grad, hess, rows, params)


@KERNEL_SETTINGS
@given(X=feature_matrices(max_rows=100), seed=st.integers(0, 2**32 - 1), params=split_params(),
       max_bins=st.integers(2, 255))
def test_row_scan_is_the_exhaustive_search_hypothesis(X, seed, params, max_bins):
    rng = np.random.default_rng(seed)
    mapper, binned_data, codes = bin_matrix(X, max_bins)
    grad, hess = random_gradients(rng, X.shape[0])
    rows = rng.choice(X.shape[0], int(rng.integers(1, X.shape[0] + 1)), replace=False)
    assert_row_scan_is_exhaustive(binned_data, mapper, codes, grad, hess, rows, params)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n_categories", [6, 40, 1000])
def test_row_scan_of_categories_is_the_histogram_split(seed, n_categories):
    """Set splits (one-vs-rest and by order) of narrow and wide (two-byte) categorical features."""
    rng = np.random.default_rng(50 + seed)
    column = categorical_column(rng, 400, n_categories, missing_rate=[0.0, 0.1][seed % 2])
    codes = np.nan_to_num(column, nan=n_categories).astype(int)
    grad = rng.normal(size=400) + rng.normal(size=n_categories + 1)[codes]
    hess = rng.uniform(0.1, 1.0, size=400)
    _, data = binned(column, n_categories)
    for onehot in (1, 8):
        config = category_config(max_cat_to_onehot=onehot)
        for n_rows in (5, 30, 150):
            rows = rng.choice(400, n_rows, replace=False)
            by_rows = find(data, grad, hess, config, rows=rows, by_rows=True)
            assert by_rows == find(data, grad, hess, config, rows=rows)


def _data(n_rows=600, n_features=7, seed=0, missing=0.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_features))
    X[:, 1] = np.round(X[:, 1] * 2)
    X[:, 2] = rng.integers(0, 5, n_rows)
    if missing:
        X[rng.random(X.shape) < missing] = np.nan
    signal = np.nan_to_num(X[:, 0]) + 0.5 * np.nan_to_num(X[:, 3]) ** 2 + rng.normal(scale=0.5, size=n_rows)
    return X, signal, rng


def _classes(signal, k=2):
    return np.digitize(signal, np.quantile(signal, np.linspace(0, 1, k + 1)[1:-1]))


def _cases():
    """name: (estimator, X, y, sample_weight) covering each criterion and the options a node's scan reads."""
    X, s, rng = _data(missing=0.1)
    weights = rng.uniform(0.0, 3.0, X.shape[0])
    forest_c, forest_r = tf.RandomForestClassifier, tf.RandomForestRegressor
    two = np.column_stack([_classes(s), _classes(-s, 3)])
    return {
        "gini_nan_weights": (forest_c(n_estimators=6, random_state=0), X, _classes(s, 3), weights),
        "entropy_max_features": (forest_c(n_estimators=6, criterion="entropy", max_features=0.5,
                                          min_samples_leaf=2, random_state=1), X, _classes(s), None),
        "classes_two_targets": (forest_c(n_estimators=4, random_state=2), X, two, None),
        "monotone_classes": (forest_c(n_estimators=4, monotonic_cst=[1, 0, 0, -1, 0, 0, 0], random_state=3),
                             np.nan_to_num(X), _classes(s), None),
        "categorical_classes": (forest_c(n_estimators=4, categorical_features=[2], random_state=4), X,
                                _classes(s), weights),
        "squared_error": (forest_r(n_estimators=6, random_state=0), X, s, weights),
        "squared_error_limits": (forest_r(n_estimators=6, max_features="sqrt", min_samples_leaf=3,
                                          min_weight_fraction_leaf=0.01, max_samples=0.5, random_state=5), X, s, None),
        "monotone_regression": (forest_r(n_estimators=4, monotonic_cst=[1, 0, 0, 0, 0, 0, -1], random_state=6),
                                np.nan_to_num(X), s, None),
        "categorical_regression": (forest_r(n_estimators=4, categorical_features=[1, 2], random_state=7), X, s, None),
        "poisson": (forest_r(n_estimators=4, criterion="poisson", random_state=8), X, np.exp(0.3 * s), None),
        "regression_two_targets": (forest_r(n_estimators=4, random_state=9), X, np.column_stack([s, s ** 2]), None),
        "no_bootstrap": (forest_r(n_estimators=3, bootstrap=False, max_features=0.3, random_state=10), X, s, None),
        "boosting": (tf.HistGradientBoostingRegressor(max_iter=5, max_leaf_nodes=None, max_depth=10,
                                                      min_samples_leaf=1, random_state=0), X, s, weights),
        "boosting_leafwise_interactions": (tf.HistGradientBoostingClassifier(
            max_iter=4, max_leaf_nodes=40, min_samples_leaf=2, interaction_cst=[[0, 1], [2, 3, 4], [5, 6]],
            random_state=0), X, _classes(s), None),
        "adaboost_r2": (tf.AdaBoostRegressor(n_estimators=4, random_state=0), np.nan_to_num(X), s, None),
    }


def _hash(estimator):
    arrays = estimator._model.to_arrays()
    digest = hashlib.sha256()
    for name in sorted(arrays):
        value = arrays[name]
        digest.update(name.encode() + (np.ascontiguousarray(value).tobytes() if isinstance(value, np.ndarray)
                                       else repr(value).encode()))
    return digest.hexdigest()


def _fit_hash(name, n_jobs):
    estimator, X, y, weights = _cases()[name]
    estimator.set_params(n_jobs=n_jobs)
    return _hash(estimator.fit(X, y, sample_weight=weights))


@pytest.mark.parametrize("name", sorted(_cases()))
def test_models_are_the_same_with_and_without_row_scans(name, row_scan):
    row_scan("never")
    before = _core._testing.row_scans()
    without = _fit_hash(name, n_jobs=2)
    assert _core._testing.row_scans() == before
    row_scan("always")
    assert _fit_hash(name, n_jobs=2) == without
    assert _fit_hash(name, n_jobs=1) == without
    assert _core._testing.row_scans() > before  # the path ran
    row_scan("auto")
    assert _fit_hash(name, n_jobs=2) == without


def test_row_shards_keep_histograms(row_scan):
    """Growers of row shards build every node's histogram (a node's rows are spread over the
    shards, which sync only histograms): no row scans, and the same model."""
    row_scan("always")
    expected = _fit_hash("squared_error", n_jobs=2)
    _core._testing.set_row_shards(3)
    try:
        before = _core._testing.row_scans()
        assert _fit_hash("squared_error", n_jobs=2) == expected
        assert _core._testing.row_scans() == before
    finally:
        _core._testing.set_row_shards(1)


def test_row_scan_policy_is_checked(row_scan):
    with pytest.raises(ValueError, match="row scan policy must be 'auto', 'never' or 'always', not 'sometimes'"):
        row_scan("sometimes")
    row_scan("never")
    assert _core._testing.row_scan() == "never"
