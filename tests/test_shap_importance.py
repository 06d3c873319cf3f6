"""get_feature_importance('shap', X=...) on every estimator (issue #24): the mean absolute SHAP value
of each feature over the rows given, summed over the outputs; it ranks the features the target
follows above noise, is zero for a feature no tree splits on, and needs X."""

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from treeforge import (
    AdaBoostClassifier,
    AdaBoostRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)

ESTIMATORS = [
    HistGradientBoostingRegressor(max_iter=20, early_stopping=False, random_state=0),
    HistGradientBoostingClassifier(max_iter=10, early_stopping=False, random_state=0),
    RandomForestRegressor(n_estimators=8, max_depth=6, random_state=0),
    RandomForestClassifier(n_estimators=8, max_depth=6, random_state=0),
    AdaBoostClassifier(n_estimators=6, random_state=0),
]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 4))
    X[rng.random(size=X.shape) < 0.05] = np.nan
    X[:, 3] = 0.0  # constant, never missing: no tree can split on it
    y = 3 * np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1]) + 0.1 * rng.normal(size=600)
    return X, y, np.digitize(y, np.quantile(y, [0.33, 0.66]))


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_shap_importance_is_the_mean_absolute_contribution_summed_over_outputs(estimator, data):
    X, y, classes = data
    model = estimator.fit(X, classes if "Classifier" in type(estimator).__name__ else y)
    importances = model.get_feature_importance("shap", X=X)
    contributions = model.predict_contributions(X)[..., :-1]
    per_output = contributions if contributions.ndim == 3 else contributions[:, None]
    expected = sum(np.abs(per_output[:, k]).mean(axis=0) for k in range(per_output.shape[1]))
    np.testing.assert_allclose(importances, expected, rtol=1e-12)
    assert importances.shape == (4,) and importances.dtype == np.float64
    assert importances[0] > importances[1] >= importances[2]  # 3 x0 + x1, x2 noise (AdaBoost's stumps: x0 only)
    assert importances[0] > 2 * importances[2]
    assert importances[3] == 0.0
    half = model.get_feature_importance("shap", X=X[:300])
    assert not np.allclose(half, importances)  # the rows given are the rows averaged


def test_a_row_of_a_single_feature_moved_moves_only_its_importance(data):
    X, y, _ = data
    model = HistGradientBoostingRegressor(max_iter=20, random_state=0).fit(X, y)
    one_row = np.array([[2.0, 0.0, 0.0, 0.0]])
    values = model.predict_contributions(one_row)[0, :-1]
    np.testing.assert_allclose(model.get_feature_importance("shap", X=one_row), np.abs(values), rtol=1e-12)


def test_shap_importance_needs_rows_and_treeforges_trees(data):
    X, y, _ = data
    model = HistGradientBoostingRegressor(max_iter=3).fit(X, y)
    with pytest.raises(ValueError, match="importance_type='shap' is the mean \\|SHAP value\\| over rows: pass"):
        model.get_feature_importance("shap")
    with pytest.raises(ValueError, match="X is read only by importance_type='shap'"):
        model.get_feature_importance("split", X=X)
    with pytest.raises(ValueError, match="X has 2 features"):
        model.get_feature_importance("shap", X=X[:, :2])
    with pytest.raises(ValueError, match="weighted median"):
        AdaBoostRegressor(n_estimators=3, random_state=0).fit(X, y).get_feature_importance("shap", X=X)
    rows = ~np.isnan(X).any(axis=1)
    users = AdaBoostRegressor(LinearRegression(), n_estimators=3, random_state=0).fit(X[rows], y[rows])
    with pytest.raises(ValueError, match="default trees"):
        users.get_feature_importance("shap", X=X[rows])
