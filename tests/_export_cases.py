"""The models and data that tests/test_export_onnx.py and tests/test_export_treelite.py export (issue #24).

Every model kind is fitted on 2,000 rows with 10% missing values; the test rows are 10,000 with 10%
NaN and, at the categorical feature, categories unseen at fit. Categories are even integers from
2, as treelite reads categories as integers (and onnx 1.23's reference evaluator stops reading a
member list at a member 0.0).
"""

import functools

import numpy as np
import pytest

import treeforge as tf

N_TRAIN, N_TEST = 2_000, 10_000
CATEGORIES = np.arange(1.0, 13.0) * 2  # categorical values 2, 4, ..., 24; 26 and 28 are unseen at fit


def features(rng, n, unseen=False):
    X = rng.normal(size=(n, 5))
    X[:, 2] = rng.choice(np.append(CATEGORIES, [26.0, 28.0]) if unseen else CATEGORIES, size=n)
    X[rng.random(X.shape) < 0.1] = np.nan
    return X


def make_data():
    rng = np.random.default_rng(24)
    X = features(rng, N_TRAIN)
    f = np.nan_to_num(X)
    score = 2 * f[:, 0] + f[:, 1] ** 2 + np.isin(f[:, 2], [4, 10, 16, 18]) + rng.normal(size=N_TRAIN) * 0.3
    targets = {"regression": score, "binary": (score > 1).astype(int), "multiclass": np.digitize(score, [0, 1, 2.5]),
               "counts": rng.poisson(np.exp(0.4 * f[:, 0])), "positive": np.exp(0.3 * f[:, 1]) + 0.1,
               "two_targets": np.column_stack([score, f[:, 3] - f[:, 0]])}
    return X, targets, features(rng, N_TEST, unseen=True).astype(np.float32)


CASES = {  # name: (estimator, target); categorical_features=[2] marks the categorical cases
    "gbdt_regression": (lambda: tf.HistGradientBoostingRegressor(max_iter=60), "regression"),
    "gbdt_poisson": (lambda: tf.HistGradientBoostingRegressor(loss="poisson", max_iter=30), "counts"),
    "gbdt_gamma": (lambda: tf.HistGradientBoostingRegressor(loss="gamma", max_iter=30), "positive"),
    "gbdt_binary": (lambda: tf.HistGradientBoostingClassifier(max_iter=40), "binary"),
    "gbdt_multiclass": (lambda: tf.HistGradientBoostingClassifier(max_iter=25), "multiclass"),
    "forest_classifier": (lambda: tf.RandomForestClassifier(n_estimators=15, random_state=0), "multiclass"),
    "forest_regressor": (lambda: tf.RandomForestRegressor(n_estimators=15, random_state=0), "regression"),
    "forest_two_targets": (lambda: tf.RandomForestRegressor(n_estimators=8, random_state=0), "two_targets"),
    "adaboost_classifier": (lambda: tf.AdaBoostClassifier(n_estimators=30, random_state=0), "multiclass"),
    "adaboost_binary": (lambda: tf.AdaBoostClassifier(n_estimators=30, random_state=0), "binary"),
    "gbdt_categorical": (lambda: tf.HistGradientBoostingRegressor(max_iter=40, categorical_features=[2]),
                         "regression"),
    "gbdt_multiclass_categorical": (lambda: tf.HistGradientBoostingClassifier(max_iter=15, categorical_features=[2]),
                                    "multiclass"),
    "forest_categorical": (lambda: tf.RandomForestClassifier(n_estimators=10, categorical_features=[2], random_state=0),
                           "binary"),
    "adaboost_categorical": (lambda: tf.AdaBoostClassifier(n_estimators=20, categorical_features=[2], random_state=0),
                             "multiclass"),
}
NUMERIC = [name for name in CASES if "categorical" not in name]
CATEGORICAL = [name for name in CASES if "categorical" in name]


@functools.cache
def fitted_cases():
    """(data, {name: fitted estimator}): fitted once per test run, shared by the export tests (read only)."""
    data = make_data()
    return data, fit_all(data)


def fit_all(data):
    X, targets, _ = data
    models = {}
    for name, (make, target) in CASES.items():
        models[name] = make().fit(X, targets[target])
    return models




def assert_close(got, expected):
    """Within float32 rounding: 1e-5 relative, and 1e-5 of the largest magnitude absolute (the floor for
    values near 0: a sum of float32 leaves carries that much)."""
    expected = np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(expected).max()))


def expected_output(estimator, X):
    """predict_proba for classifiers, else predict as (n_samples, n_outputs)."""
    if hasattr(estimator, "predict_proba"):
        return estimator.predict_proba(X)
    return estimator.predict(X).reshape(len(X), -1)


# The fixtures of the export tests (imported by each module: pytest finds them there).
@pytest.fixture(scope="module")
def data():
    return fitted_cases()[0]


@pytest.fixture(scope="module")
def fitted():
    return fitted_cases()[1]
