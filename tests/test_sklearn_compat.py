"""scikit-learn compatibility of all six estimators: the estimator checks, signatures, clone, Pipeline, GridSearchCV, pickle and DataFrames."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from treeforge import (
    AdaBoostClassifier,
    AdaBoostRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)

_WEIGHTS_ARE_NOT_REPEATS = (
    "as in scikit-learn's HistGradientBoosting*: bins are placed from the unweighted rows and "
    "min_samples_leaf counts rows, so an integer weight is not the same as repeating the row."
)
# scikit-learn marks the same checks as expected failures for its own forests and AdaBoost.
_DRAWS_ARE_NOT_REPEATS = (
    "as in scikit-learn's RandomForest* and AdaBoost*: bootstrap draws and boosting rounds make a "
    "weight differ from repeating the sample."
)


def _expected_failed_checks(estimator):
    reason = _WEIGHTS_ARE_NOT_REPEATS if "HistGradient" in type(estimator).__name__ else _DRAWS_ARE_NOT_REPEATS
    return {
        "check_sample_weight_equivalence_on_dense_data": reason,
        "check_sample_weight_equivalence_on_sparse_data": reason,
    }


@parametrize_with_checks(
    [
        HistGradientBoostingRegressor(max_iter=5, min_samples_leaf=5),
        HistGradientBoostingClassifier(max_iter=5, min_samples_leaf=5),
        RandomForestRegressor(n_estimators=5),
        RandomForestClassifier(n_estimators=5),
        AdaBoostClassifier(n_estimators=5),
        AdaBoostRegressor(n_estimators=5),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


_REGRESSOR_EXTRAS = {"huber_delta", "tweedie_variance_power"}
_BOOSTING_EXTRAS = {"l1_regularization", "min_split_gain", "min_child_weight", "subsample", "colsample_bytree",
                    "n_jobs", "grow_policy", "cat_smooth", "cat_l2", "max_cat_threshold", "max_cat_to_onehot",
                    "min_data_per_group"}
_EXTRA_PARAMETERS = {
    HistGradientBoostingRegressor: _BOOSTING_EXTRAS | _REGRESSOR_EXTRAS,
    HistGradientBoostingClassifier: _BOOSTING_EXTRAS,
    RandomForestRegressor: {"max_bins", "categorical_features"},
    RandomForestClassifier: {"max_bins", "categorical_features"},
    AdaBoostClassifier: {"sampling", "n_jobs", "max_bins", "categorical_features"},
    AdaBoostRegressor: {"n_jobs", "max_bins", "categorical_features"},
}


@pytest.mark.parametrize("Estimator", list(_EXTRA_PARAMETERS), ids=lambda cls: cls.__name__)
def test_signature_matches_scikit_learn(Estimator):
    """Every scikit-learn parameter exists with the same default (the migration is the import)."""
    import sklearn.ensemble

    reference = getattr(sklearn.ensemble, Estimator.__name__)().get_params()
    ours = Estimator().get_params()
    for name, default in reference.items():
        assert name in ours, name
        assert ours[name] == default, name
    assert set(ours) - set(reference) == _EXTRA_PARAMETERS[Estimator]


def test_clone_keeps_params_and_drops_fit(binary_data):
    X, y = binary_data
    clf = HistGradientBoostingClassifier(max_iter=7, learning_rate=0.3, subsample=0.8, random_state=1)
    clf.fit(X, y)
    copy = clone(clf)
    assert copy.get_params() == clf.get_params()
    assert not hasattr(copy, "n_iter_")


def test_pipeline_and_grid_search(binary_data):
    X, y = binary_data
    pipe = make_pipeline(StandardScaler(), HistGradientBoostingClassifier(max_iter=10, random_state=0))
    search = GridSearchCV(
        pipe, {"histgradientboostingclassifier__learning_rate": [0.05, 0.3]}, cv=3, n_jobs=1
    )
    search.fit(X, y)
    assert search.best_params_["histgradientboostingclassifier__learning_rate"] in (0.05, 0.3)
    assert search.score(X, y) > 0.8


def test_grid_search_regressor(regression_data):
    X, y = regression_data
    search = GridSearchCV(HistGradientBoostingRegressor(random_state=0), {"max_iter": [5, 20]}, cv=3)
    search.fit(X, y)
    assert search.best_params_ == {"max_iter": 20}


@pytest.mark.parametrize("Estimator", [HistGradientBoostingRegressor, HistGradientBoostingClassifier])
def test_pickle_round_trip(Estimator, multiclass_data):
    X, y = multiclass_data
    model = Estimator(max_iter=10, random_state=0).fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    method = "predict_proba" if hasattr(model, "predict_proba") else "predict"
    np.testing.assert_array_equal(getattr(restored, method)(X), getattr(model, method)(X))
    assert restored.n_iter_ == model.n_iter_
    np.testing.assert_array_equal(restored.feature_importances_, model.feature_importances_)


# A small, seeded model of each estimator.
_SMALL = {cls: ({"max_iter": 5} if "HistGradient" in cls.__name__ else {"n_estimators": 5}) | {"random_state": 0}
          for cls in _EXTRA_PARAMETERS}


@pytest.mark.parametrize("Estimator", list(_SMALL), ids=lambda cls: cls.__name__)
def test_dataframe_feature_names(Estimator, binary_data):
    pd = pytest.importorskip("pandas")
    X, y = binary_data
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    model = Estimator(**_SMALL[Estimator]).fit(frame, y)
    np.testing.assert_array_equal(model.feature_names_in_, frame.columns.to_numpy(dtype=object))
    from_array = Estimator(**_SMALL[Estimator]).fit(X, y)
    np.testing.assert_array_equal(model.predict(frame), from_array.predict(X))
    with pytest.raises(ValueError, match="feature names"):
        model.predict(frame[frame.columns[::-1]])
    with pytest.raises(ValueError, match="feature names"):
        model.predict(frame.iloc[:, :-1])
    with pytest.raises(ValueError, match=f"expecting {X.shape[1]} features"):
        from_array.predict(X[:, :-1])


def test_dataframe_without_string_names_has_no_feature_names(binary_data):
    pd = pytest.importorskip("pandas")
    X, y = binary_data
    model = HistGradientBoostingClassifier(max_iter=3).fit(pd.DataFrame(X), y)
    assert not hasattr(model, "feature_names_in_")


@pytest.mark.parametrize("Estimator", [RandomForestClassifier, AdaBoostClassifier])
def test_ensemble_pipeline_grid_search_and_clone(Estimator, binary_data):
    X, y = binary_data
    pipe = make_pipeline(StandardScaler(), Estimator(n_estimators=10, random_state=0))
    step = Estimator.__name__.lower()
    search = GridSearchCV(pipe, {f"{step}__n_estimators": [3, 15]}, cv=3, n_jobs=1).fit(X, y)
    assert search.score(X, y) > 0.8
    fitted = search.best_estimator_[-1]
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params() and not copy.__sklearn_is_fitted__()


@pytest.mark.parametrize("Estimator", [RandomForestRegressor, AdaBoostRegressor])
def test_ensemble_grid_search_regressor(Estimator, regression_data):
    X, y = regression_data
    search = GridSearchCV(Estimator(random_state=0), {"n_estimators": [2, 30]}, cv=3).fit(X, y)
    assert search.best_params_ == {"n_estimators": 30}
