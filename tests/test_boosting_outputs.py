"""The gradient boosting estimators' iteration_range and apply (issue #23): margins of a range of
iterations are the staged ones and add up across ranges; apply's leaves, read off the node table,
sum to decision_function."""

import numpy as np
import pytest

from treeforge import HistGradientBoostingClassifier, HistGradientBoostingRegressor


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4))
    X[rng.random(size=X.shape) < 0.05] = np.nan
    y = np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1]) ** 2
    return X, y, np.digitize(y, [0.0, 1.0])


def fitted(kind, data):
    X, y, classes = data
    if kind == "regressor":
        return HistGradientBoostingRegressor(max_iter=8, early_stopping=False).fit(X, y)
    if kind == "binary":
        return HistGradientBoostingClassifier(max_iter=8, early_stopping=False).fit(X, classes > 0)
    return HistGradientBoostingClassifier(max_iter=8, early_stopping=False).fit(X, classes)


@pytest.mark.parametrize("kind", ["regressor", "binary", "multiclass"])
def test_iteration_ranges_are_the_staged_margins_and_add_up(kind, data):
    model, X = fitted(kind, data), data[0]
    margin = model.predict if kind == "regressor" else model.decision_function
    staged = list(model.staged_predict(X) if kind == "regressor" else model.staged_decision_function(X))
    np.testing.assert_allclose(margin(X, iteration_range=(0, 3)), staged[2], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(margin(X, iteration_range=(0, model.n_iter_)), margin(X))
    np.testing.assert_allclose(margin(X, iteration_range=(0, 5)) + margin(X, iteration_range=(5, 8)), margin(X),
                               rtol=1e-12, atol=1e-12)
    if kind != "regressor":
        np.testing.assert_allclose(model.predict_proba(X, iteration_range=(0, 4)),
                                   list(model.staged_predict_proba(X))[3], rtol=1e-12)
        np.testing.assert_array_equal(model.predict(X, iteration_range=(0, 4)), list(model.staged_predict(X))[3])


@pytest.mark.parametrize("kind", ["regressor", "binary", "multiclass"])
def test_apply_gives_leaves_whose_values_sum_to_the_margin(kind, data):
    model, X = fitted(kind, data), data[0]
    leaves = model.apply(X)
    assert leaves.shape == (len(X), model.n_iter_, model.n_trees_per_iteration_)
    table = model.trees_to_dataframe().set_index(["tree", "node"])
    k = model.n_trees_per_iteration_
    margin = np.zeros((len(X), k))
    for iteration in range(model.n_iter_):
        for output in range(k):
            rows = table.loc[iteration * k + output].loc[leaves[:, iteration, output]]
            assert rows["is_leaf"].all()
            margin[:, output] += rows["value"].to_numpy(dtype=float)
    base = model._model.to_arrays()["base_score"]
    expected = model.predict(X) if kind == "regressor" else model.decision_function(X)
    np.testing.assert_allclose((margin + base).reshape(expected.shape), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("bad", [(3, 2), (0, 9), (-1, 2), (1.5, 3), "ab", (0, 1, 2), 5])
def test_bad_iteration_ranges_are_named(bad, data):
    model = fitted("binary", data)
    with pytest.raises(ValueError, match="iteration_range must be a pair"):
        model.predict_proba(data[0], iteration_range=bad)
