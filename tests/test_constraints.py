"""Monotonic and interaction constraints of the gradient boosting estimators, as properties over
random data and parameters: predictions along a grid of a constrained feature, all else fixed,
never go the wrong way; no root-to-leaf path combines features of two interaction groups; the
models stay bit-identical at any thread count; bad constraints are refused with ValueError."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from _reference import tree_slice

import treeforge

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def wavy_data(seed, n_rows, n_features, missing):
    """A target that rises and falls along every feature, so that constraints bind."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-3, 3, size=(n_rows, n_features))
    y = np.sin(2 * X).sum(axis=1) + 0.5 * X[:, 0] + 0.3 * rng.normal(size=n_rows)
    if missing:
        X[rng.random(X.shape) < 0.05] = np.nan
    return X, y


def along_grid(estimator, X, feature, output):
    """Predictions (rows, grid points) of rows of X with `feature` swept over a grid."""
    grid = np.concatenate([[-10.0], np.linspace(-3.5, 3.5, 120), [10.0]])
    rows = np.repeat(X, len(grid), axis=0)
    rows[:, feature] = np.tile(grid, len(X))
    return output(estimator, rows).reshape(len(X), len(grid))


@SETTINGS
@given(seed=st.integers(0, 10_000), n_features=st.integers(2, 4), direction=st.sampled_from([-1, 1]),
       policy=st.sampled_from(["lossguide", "depthwise"]), leaves=st.integers(3, 31), l2=st.sampled_from([0.0, 1.0]),
       missing=st.booleans(), classifier=st.booleans(), loss=st.sampled_from(["squared_error", "absolute_error", "quantile",
                                                                           "huber"]))
def test_predictions_follow_monotonic_constraints(seed, n_features, direction, policy, leaves, l2, missing, classifier,
                                                  loss):
    X, y = wavy_data(seed, 600, n_features, missing)
    feature = seed % n_features
    cst = [0] * n_features
    cst[feature] = direction
    params = dict(max_iter=15, max_leaf_nodes=leaves, grow_policy=policy, l2_regularization=l2, min_samples_leaf=5,
                  monotonic_cst=cst, early_stopping=False)
    if classifier:
        estimator = treeforge.HistGradientBoostingClassifier(**params).fit(X, y > np.median(y))
        output = lambda e, rows: e.predict_proba(rows)[:, 1]  # noqa: E731
    else:
        # Losses that renew their leaves (to residual quantiles) keep them within the bounds too.
        estimator = treeforge.HistGradientBoostingRegressor(loss=loss, quantile=0.8 if loss == "quantile" else None,
                                                            **params).fit(X, y)
        output = lambda e, rows: e.predict(rows)  # noqa: E731
    steps = np.diff(along_grid(estimator, X[:25], feature, output), axis=1)
    assert np.all(direction * steps >= 0)


def path_feature_sets(arrays, tree):
    """The set of features split on along every root-to-leaf path of a tree."""
    lo, _ = tree_slice(arrays, tree)
    paths, stack = [], [(0, frozenset())]
    while stack:
        node, used = stack.pop()
        f = int(arrays["feature"][lo + node])
        if f < 0:
            paths.append(used)
            continue
        stack += [(int(arrays["left"][lo + node]), used | {f}), (int(arrays["right"][lo + node]), used | {f})]
    return paths


@SETTINGS
@given(seed=st.integers(0, 10_000), n_features=st.integers(3, 6), kind=st.sampled_from(["groups", "pairwise",
                                                                                       "no_interactions"]))
def test_paths_stay_inside_one_interaction_group(seed, n_features, kind):
    X, y = wavy_data(seed, 500, n_features, missing=False)
    y = y + X[:, 0] * X[:, 1] * X[:, 2]  # interactions the constraints must forbid
    rng = np.random.default_rng(seed)
    if kind == "groups":
        cst = [list(rng.choice(n_features, size=2, replace=False)) for _ in range(2)]
        named = set().union(*map(set, cst))
        groups = [set(g) for g in cst] + ([set(range(n_features)) - named] if named != set(range(n_features)) else [])
    elif kind == "pairwise":
        cst = "pairwise"
        groups = [{i, j} for i in range(n_features) for j in range(i + 1, n_features)]
    else:
        cst = "no_interactions"
        groups = [{j} for j in range(n_features)]
    estimator = treeforge.HistGradientBoostingRegressor(max_iter=10, max_leaf_nodes=15, min_samples_leaf=5,
                                                        interaction_cst=cst, early_stopping=False).fit(X, y)
    arrays = estimator._model.to_arrays()
    for tree in range(estimator._model.n_trees):
        for used in path_feature_sets(arrays, tree):
            assert any(used <= group for group in groups), (used, groups)


def test_constrained_models_are_the_same_at_any_thread_count():
    X, y = wavy_data(1, 5000, 4, missing=True)
    fits = [treeforge.HistGradientBoostingRegressor(max_iter=20, monotonic_cst=[1, 0, -1, 0], interaction_cst=[[0, 1],
            [2, 3]], early_stopping=False, n_jobs=n).fit(X, y)._model.to_arrays() for n in (1, 2)]
    for name, value in fits[0].items():
        np.testing.assert_array_equal(np.asarray(fits[1][name]), np.asarray(value), err_msg=name)


def test_monotonic_cst_by_feature_name():
    X, y = wavy_data(2, 800, 3, missing=False)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    by_name = treeforge.HistGradientBoostingRegressor(max_iter=10, monotonic_cst={"b": -1}).fit(frame, y)
    by_position = treeforge.HistGradientBoostingRegressor(max_iter=10, monotonic_cst=[0, -1, 0]).fit(frame, y)
    np.testing.assert_array_equal(by_name.predict(frame), by_position.predict(frame))


@pytest.mark.parametrize("params, message", [
    (dict(monotonic_cst=[1, 0]), "shape"),
    (dict(monotonic_cst=[2, 0, 0]), "-1, 0 or 1"),
    (dict(monotonic_cst={"a": 1}), "feature names"),
    (dict(interaction_cst=[[0, 3]]), "index"),
    (dict(interaction_cst=[0, 1]), "sequence of groups"),
])
def test_bad_constraints_are_refused(params, message):
    X, y = wavy_data(3, 200, 3, missing=False)
    with pytest.raises(ValueError, match=message):
        treeforge.HistGradientBoostingRegressor(max_iter=2, **params).fit(X, y)


def test_monotonic_cst_refused_for_multiclass_and_categorical_features():
    X, y = wavy_data(4, 300, 3, missing=False)
    with pytest.raises(ValueError, match="multiclass"):
        treeforge.HistGradientBoostingClassifier(max_iter=2, monotonic_cst=[1, 0, 0]).fit(X, np.digitize(y, [-1, 1]))
    X[:, 0] = np.arange(len(X)) % 4
    with pytest.raises(ValueError, match="categorical"):
        treeforge.HistGradientBoostingRegressor(max_iter=2, monotonic_cst=[1, 0, 0], categorical_features=[0]).fit(X, y)


def test_unknown_names_in_monotonic_cst_are_refused():
    X, y = wavy_data(5, 200, 2, missing=False)
    with pytest.raises(ValueError, match="not in the input"):
        treeforge.HistGradientBoostingRegressor(max_iter=2, monotonic_cst={"z": 1}).fit(
            pd.DataFrame(X, columns=["a", "b"]), y)


@SETTINGS
@given(seed=st.integers(0, 10_000), direction=st.sampled_from([-1, 1]), bootstrap=st.booleans(),
       leaves=st.sampled_from([None, 8, 31]), missing=st.booleans())
def test_forest_regressor_follows_monotonic_constraints(seed, direction, bootstrap, leaves, missing):
    X, y = wavy_data(seed, 400, 3, missing)
    feature = seed % 3
    cst = [0, 0, 0]
    cst[feature] = direction
    forest = treeforge.RandomForestRegressor(n_estimators=8, max_leaf_nodes=leaves, bootstrap=bootstrap,
                                             monotonic_cst=cst, random_state=seed).fit(X, y)
    steps = np.diff(along_grid(forest, X[:20], feature, lambda e, rows: e.predict(rows)), axis=1)
    assert np.all(direction * steps >= 0)


@SETTINGS
@given(seed=st.integers(0, 10_000), direction=st.sampled_from([-1, 1]), criterion=st.sampled_from(["gini", "entropy"]),
       missing=st.booleans())
def test_forest_classifier_follows_monotonic_constraints(seed, direction, criterion, missing):
    X, y = wavy_data(seed, 400, 3, missing)
    feature = seed % 3
    cst = [0, 0, 0]
    cst[feature] = direction
    forest = treeforge.RandomForestClassifier(n_estimators=8, criterion=criterion, monotonic_cst=cst,
                                              random_state=seed).fit(X, y > np.median(y))
    proba = along_grid(forest, X[:20], feature, lambda e, rows: e.predict_proba(rows)[:, 1])
    assert np.all(direction * np.diff(proba, axis=1) >= 0)


def test_forest_classifier_refuses_monotonic_cst_with_three_classes():
    X, y = wavy_data(6, 300, 3, missing=False)
    with pytest.raises(ValueError, match="multiclass"):
        treeforge.RandomForestClassifier(n_estimators=2, monotonic_cst=[1, 0, 0]).fit(X, np.digitize(y, [-1, 1]))
