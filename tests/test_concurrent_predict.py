"""Predicting is thread-safe: many Python threads predicting with one fitted estimator at once
(each call releases the GIL and runs its own OpenMP threads) get exactly the predictions of a
lone call, for every estimator."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import treeforge

ESTIMATORS = [
    (treeforge.HistGradientBoostingClassifier, dict(max_iter=20), 3),
    (treeforge.HistGradientBoostingRegressor, dict(max_iter=20), 0),
    (treeforge.RandomForestClassifier, dict(n_estimators=10), 2),
    (treeforge.RandomForestRegressor, dict(n_estimators=10), 0),
    (treeforge.AdaBoostClassifier, dict(n_estimators=10), 3),
    (treeforge.AdaBoostRegressor, dict(n_estimators=10), 0),
]


@pytest.mark.parametrize("Estimator, params, n_classes", ESTIMATORS, ids=lambda v: getattr(v, "__name__", ""))
def test_concurrent_predictions_equal_a_lone_call(Estimator, params, n_classes):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 6))
    y = X[:, 0] + X[:, 1] ** 2
    if n_classes:
        y = np.digitize(y, np.quantile(y, np.linspace(0, 1, n_classes + 1)[1:-1]))
    estimator = Estimator(random_state=0, **params).fit(X, y)
    method = estimator.predict_proba if n_classes else estimator.predict
    expected = method(X)

    def predict(i):
        rows = X[i % 7:]  # calls of different sizes at once
        return i, [method(rows) for _ in range(5)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        for i, results in pool.map(predict, range(32)):
            for result in results:
                np.testing.assert_array_equal(result, expected[i % 7:])
