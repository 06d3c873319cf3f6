"""Forests with criterion='absolute_error' (issue #21): splits by the weighted absolute deviation
from the median, found exactly from the rows (cpp/grow/median_grower.*), leaves holding weighted
medians. Checked against brute force over every threshold, scikit-learn's medians, and
scikit-learn's forests on the same data."""

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestRegressor as SkForest

from treeforge import RandomForestRegressor


def weighted_median(y, w):
    """scikit-learn's: the first target (ascending) whose running weight reaches half the total,
    or the midpoint with the next one when the running weight there is exactly half."""
    order = np.argsort(y, kind="stable")
    y, running = y[order], np.cumsum(w[order])
    k = int(np.searchsorted(running, running[-1] / 2))
    if running[k] == running[-1] / 2 and k + 1 < len(y):
        return (y[k] + y[k + 1]) / 2
    return y[k]


def deviation(y, w):
    return float(np.sum(w * np.abs(y - weighted_median(y, w)))) if len(y) else 0.0


def best_stump(X, y, w, min_leaf=1):
    """(gain, feature, threshold, missing_left) of the best split by enumeration: thresholds between
    distinct values, NaN rows on either side; ties to the lower feature, threshold, missing right."""
    best = (-np.inf, None, None, None)
    parent = deviation(y, w)
    for f in range(X.shape[1]):
        column = X[:, f]
        nan = np.isnan(column)
        values = np.unique(column[~nan])
        for t in values[:-1]:
            for missing_left in ([False, True] if nan.any() else [False]):
                left = (column <= t) | (nan & missing_left)
                if left.sum() < min_leaf or (~left).sum() < min_leaf:
                    continue
                gain = parent - deviation(y[left], w[left]) - deviation(y[~left], w[~left])
                if gain > best[0] + 1e-9 * max(1.0, abs(parent)):
                    best = (gain, f, t, missing_left)
    return best


def stump_gain(X, y, w):
    return stump(X, y, w)._model.to_arrays()["gain"][0]


def stump(X, y, w=None, **params):
    return RandomForestRegressor(n_estimators=1, bootstrap=False, max_depth=1, criterion="absolute_error",
                                 random_state=0, **params).fit(X, y, sample_weight=w)


@pytest.mark.parametrize("seed", range(10))
def test_the_root_split_is_the_best_over_every_threshold(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 120))
    X = np.round(rng.normal(size=(n, 3)), 1)  # few distinct values: every value its own bin
    if seed % 2:
        X[rng.random(size=X.shape) < 0.1] = np.nan
    y = np.sign(np.nan_to_num(X[:, 0]) + 0.3) * 2 + rng.standard_t(2, size=n) + (seed % 3 == 0) * 1000.0
    w = rng.integers(1, 4, size=n).astype(float) if seed % 3 == 1 else np.ones(n)
    gain, feature, threshold, missing_left = best_stump(X, y, w)
    tree = stump(X, y, w).estimators_[0].tree_
    assert tree.feature[0] == feature
    values = np.unique(X[:, feature][~np.isnan(X[:, feature])])
    above = values[values > threshold][0]
    assert tree.threshold[0] == pytest.approx((threshold + above) / 2, abs=1e-9)  # bins break halfway between values
    np.testing.assert_allclose(stump_gain(X, y, w), gain, rtol=1e-9, atol=1e-9)
    if np.isnan(X[:, feature]).any():
        assert bool(tree.missing_go_to_left[0]) == missing_left
    # Each node holds the weighted median of its rows.
    left = (X[:, feature] <= threshold) | (np.isnan(X[:, feature]) & missing_left)
    for node, rows in ((0, np.ones(n, bool)), (tree.children_left[0], left), (tree.children_right[0], ~left)):
        assert tree.value[node].ravel()[0] == pytest.approx(weighted_median(y[rows], w[rows]), rel=1e-12, abs=1e-12)


def test_leaves_hold_the_weighted_medians_of_their_rows():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(600, 4))
    y = X[:, 0] + rng.standard_t(1.5, size=600)
    w = rng.uniform(0.2, 2.0, size=600)
    model = RandomForestRegressor(n_estimators=3, bootstrap=False, criterion="absolute_error", min_samples_leaf=7,
                                  max_features=2, random_state=0).fit(X, y, sample_weight=w)
    for estimator in model.estimators_:
        leaves = estimator.apply(X)
        values = estimator.tree_.value.reshape(-1)
        for leaf in np.unique(leaves):
            rows = leaves == leaf
            assert rows.sum() >= 7
            assert values[leaf] == pytest.approx(weighted_median(y[rows], w[rows]), rel=1e-12, abs=1e-12)


def test_as_accurate_as_scikit_learn_and_robust_to_outliers():
    rng = np.random.default_rng(2)
    X, X_test = rng.normal(size=(1500, 6)), rng.normal(size=(3000, 6))
    signal = lambda X: X[:, 0] + np.sin(3 * X[:, 1])  # noqa: E731
    y = signal(X) + rng.standard_t(1.5, size=1500)  # heavy tails
    errors = {}
    for name, cls in (("treeforge", RandomForestRegressor), ("sklearn", SkForest)):
        for criterion in ("absolute_error", "squared_error"):
            model = cls(n_estimators=40, criterion=criterion, min_samples_leaf=5, random_state=0).fit(X, y)
            errors[name, criterion] = np.mean(np.abs(model.predict(X_test) - signal(X_test)))
    assert errors["treeforge", "absolute_error"] < 0.9 * errors["treeforge", "squared_error"], errors
    assert errors["treeforge", "absolute_error"] < 1.05 * errors["sklearn", "absolute_error"], errors


def test_the_same_model_at_any_thread_count_and_limits_hold(assert_same_model):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(800, 5))
    X[rng.random(size=X.shape) < 0.05] = np.nan
    y = np.nan_to_num(X[:, 0]) * 3 + rng.laplace(size=800)
    params = dict(n_estimators=8, criterion="absolute_error", max_leaf_nodes=12, min_samples_split=10,
                  max_features=0.6, oob_score=True, random_state=4)
    one = RandomForestRegressor(n_jobs=1, **params).fit(X, y)
    assert_same_model(one, RandomForestRegressor(n_jobs=2, **params).fit(X, y))
    assert all(e.get_n_leaves() <= 12 for e in one.estimators_) and 0 < one.oob_score_ < 1


def test_cost_complexity_pruning_keeps_the_weakest_links_out():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(400, 3))
    y = (X[:, 0] > 0) * 4.0 + rng.laplace(size=400)
    full = RandomForestRegressor(n_estimators=1, bootstrap=False, criterion="absolute_error", random_state=0).fit(X, y)
    pruned = RandomForestRegressor(n_estimators=1, bootstrap=False, criterion="absolute_error", random_state=0,
                                   ccp_alpha=0.05).fit(X, y)
    root_only = RandomForestRegressor(n_estimators=1, bootstrap=False, criterion="absolute_error", random_state=0,
                                      ccp_alpha=100.0).fit(X, y)
    assert 1 < pruned.estimators_[0].get_n_leaves() < full.estimators_[0].get_n_leaves()
    assert root_only.estimators_[0].get_n_leaves() == 1
    np.testing.assert_allclose(root_only.predict(X[:5]), np.median(y))


@pytest.mark.parametrize("params, y_columns, match", [
    ({"monotonic_cst": [1, 0]}, 1, "monotone"),
    ({"categorical_features": [1]}, 1, "categorical"),
    ({}, 2, "one target"),
])
def test_what_absolute_error_does_not_take_is_refused(params, y_columns, match):
    rng = np.random.default_rng(6)
    X = np.column_stack([rng.normal(size=100), rng.integers(0, 4, 100)]).astype(float)
    y = rng.normal(size=(100, y_columns)).squeeze()
    with pytest.raises(ValueError, match=match):
        RandomForestRegressor(n_estimators=2, criterion="absolute_error", **params).fit(X, y)


def test_a_frame_with_a_category_dtype_is_refused_clearly():
    frame = pd.DataFrame({"c": pd.Categorical(["a", "b"] * 20), "x": np.arange(40.0)})
    with pytest.raises(ValueError, match="absolute_error"):
        RandomForestRegressor(n_estimators=2, criterion="absolute_error", categorical_features="from_dtype").fit(
            frame, np.arange(40.0))
