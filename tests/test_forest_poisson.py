"""criterion='poisson' for RandomForestRegressor: the split search against brute force over every
threshold, held-out deviance beside scikit-learn's, thread identity and the errors."""

import numpy as np
import pytest
from sklearn.ensemble import RandomForestRegressor as SklearnForest
from sklearn.metrics import mean_poisson_deviance

import treeforge


def counts_data(seed, n_rows=3000):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, 4))
    mean = np.exp(0.5 * X[:, 0] - 0.4 * X[:, 1] ** 2 + 0.3 * X[:, 2])
    return X, rng.poisson(mean).astype(np.float64)


def half_deviance_drop(y, left):
    """Decrease of half the Poisson deviance when rows `left` split from the others."""
    score = lambda part: part.sum() * np.log(part.sum() / len(part))  # noqa: E731
    return score(y[left]) + score(y[~left]) - score(y)


@pytest.mark.parametrize("seed", range(5))
def test_stump_split_is_the_best_threshold(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 40, 600).astype(np.float64)  # fewer values than bins: every threshold is a candidate
    y = rng.poisson(np.exp(np.sin(x / 6.0))).astype(np.float64)
    stump = treeforge.RandomForestRegressor(n_estimators=1, criterion="poisson", bootstrap=False, max_depth=1,
                                            max_features=None).fit(x[:, None], y)
    arrays = stump._model.to_arrays()
    drops = [half_deviance_drop(y, x <= t) for t in np.unique(x)[:-1]
             if y[x <= t].sum() > 0 and y[x > t].sum() > 0]
    assert arrays["gain"][0] == pytest.approx(max(drops), rel=1e-5)
    assert np.isclose(half_deviance_drop(y, x <= arrays["threshold"][0]), max(drops), rtol=1e-9)


def test_held_out_deviance_is_scikit_learns():
    X, y = counts_data(0)
    X_test, y_test = counts_data(1)
    deviance = {}
    for name, Forest in (("treeforge", treeforge.RandomForestRegressor), ("sklearn", SklearnForest)):
        runs = [Forest(n_estimators=40, criterion="poisson", min_samples_leaf=10, random_state=s).fit(X, y)
                for s in range(3)]
        deviance[name] = np.mean([mean_poisson_deviance(y_test, np.maximum(r.predict(X_test), 1e-9)) for r in runs])
    assert deviance["treeforge"] <= 1.02 * deviance["sklearn"], deviance


def test_poisson_forest_is_the_same_at_any_thread_count():
    X, y = counts_data(2)
    fits = [treeforge.RandomForestRegressor(n_estimators=6, criterion="poisson", n_jobs=n, random_state=0)
            .fit(X, y)._model.to_arrays() for n in (1, 2)]
    for name, value in fits[0].items():
        np.testing.assert_array_equal(np.asarray(fits[1][name]), np.asarray(value), err_msg=name)


@pytest.mark.parametrize("y_shift, message", [(-1.0, "non-negative"), (None, "positive sum")])
def test_bad_counts_are_refused(y_shift, message):
    X, y = counts_data(3, 200)
    y = np.zeros_like(y) if y_shift is None else y + y_shift
    with pytest.raises(ValueError, match=message):
        treeforge.RandomForestRegressor(n_estimators=2, criterion="poisson").fit(X, y)


def test_poisson_refuses_monotonic_constraints():
    X, y = counts_data(4, 200)
    with pytest.raises(ValueError, match="poisson"):
        treeforge.RandomForestRegressor(n_estimators=2, criterion="poisson", monotonic_cst=[1, 0, 0, 0]).fit(X, y)
