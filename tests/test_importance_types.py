"""get_feature_importance(importance_type) on every estimator (issue #24): split counts and covers
equal those read off the node table (trees_to_dataframe), gain is feature_importances_."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from _cli_run import run_cli, succeeded

from treeforge import (
    AdaBoostClassifier,
    AdaBoostRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)

ESTIMATORS = [
    HistGradientBoostingRegressor(max_iter=12, early_stopping=False),
    HistGradientBoostingClassifier(max_iter=8, early_stopping=False),
    RandomForestRegressor(n_estimators=6, max_depth=5, random_state=0),
    RandomForestClassifier(n_estimators=6, max_depth=5, random_state=0),
    AdaBoostRegressor(n_estimators=6, random_state=0),
    AdaBoostClassifier(n_estimators=6, random_state=0),
]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 5))
    X[rng.random(size=X.shape) < 0.05] = np.nan
    y = np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1]) ** 2 + 0.1 * rng.normal(size=500)
    return X, y, np.digitize(y, np.quantile(y, [0.33, 0.66]))


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_split_counts_and_covers_are_those_of_the_node_table(estimator, data):
    X, y, classes = data
    model = estimator.fit(X, classes if "Classifier" in type(estimator).__name__ else y)
    table = model.trees_to_dataframe()
    splits = table[~table["is_leaf"]]
    counts = np.bincount(splits["feature_index"].astype(int), minlength=5)
    covers = np.bincount(splits["feature_index"].astype(int), weights=splits["cover"], minlength=5)
    np.testing.assert_array_equal(model.get_feature_importance("split"), counts)
    np.testing.assert_allclose(model.get_feature_importance("cover"), covers, rtol=1e-12)
    assert counts.sum() > 0 and counts[0] > 0
    np.testing.assert_array_equal(model.get_feature_importance(), model.feature_importances_)


def test_unknown_kinds_and_a_users_estimators_are_refused(data):
    X, y, _ = data
    model = HistGradientBoostingRegressor(max_iter=3).fit(X[:, :2][~np.isnan(X[:, :2]).any(axis=1)],
                                                          y[~np.isnan(X[:, :2]).any(axis=1)])
    with pytest.raises(ValueError, match="importance_type must be one of 'gain', 'split', 'cover'"):
        model.get_feature_importance("weight")
    rows = ~np.isnan(X).any(axis=1)
    users = AdaBoostRegressor(LinearRegression(), n_estimators=3, random_state=0).fit(X[rows], y[rows])
    with pytest.raises(ValueError, match="user's estimators"):
        users.get_feature_importance("split")


def test_info_ranks_features_by_the_kind_asked_for(data, tmp_path):
    X, y, _ = data
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    model = RandomForestRegressor(n_estimators=4, max_depth=4, random_state=0).fit(frame, y)
    model.save_model(tmp_path / "forest.json")
    for kind in ("split", "cover", "gain"):
        shown = succeeded(run_cli("info", "forest.json", "--importance", kind, cwd=tmp_path)).stdout.splitlines()
        header = next(i for i, line in enumerate(shown) if line.startswith("features ("))
        rows = [line.split() for line in shown[header + 1:header + 6]]
        importances = model.get_feature_importance(kind)
        assert [int(name[1:]) for name, _ in rows] == np.argsort(-importances, kind="stable").tolist()
        np.testing.assert_allclose([float(value) for _, value in rows], np.sort(importances)[::-1], rtol=1e-4,
                                   atol=5e-5)
