"""Training from somewhere (issue #23): ``fit(init_model=...)`` continues a fitted model's trees on
new data, ``fit(init_score=...)`` starts every row from its own offset."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification, make_regression

from treeforge import HistGradientBoostingClassifier, HistGradientBoostingRegressor


def _regression(n=1500, seed=0):
    return make_regression(n_samples=n, n_features=6, noise=10.0, random_state=seed)


def _arrays(model, skip=()):
    return {k: v for k, v in model._model.to_arrays().items() if k not in skip}


def _assert_same_arrays(a, b):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def _fitted(X, y, max_iter=15, init_model=None, init_score=None, **params):
    model = HistGradientBoostingRegressor(max_iter=max_iter, random_state=0, early_stopping=False, **params)
    return model.fit(X, y, init_model=init_model, init_score=init_score)


# ---------------------------------------------------------------------------------------- init_model

@pytest.mark.parametrize("Estimator", [HistGradientBoostingRegressor, HistGradientBoostingClassifier])
def test_init_model_on_the_same_data_grows_the_warm_start_trees(Estimator):
    X, y = make_classification(n_samples=1200, n_classes=3, n_informative=4, random_state=0)
    if Estimator is HistGradientBoostingRegressor:
        y = y * 2.5 + X[:, 0]
    params = dict(random_state=0, early_stopping=False, subsample=0.8, colsample_bytree=0.7)
    first = Estimator(max_iter=10, **params).fit(X, y)
    continued = Estimator(max_iter=7, **params).fit(X, y, init_model=first)
    warm = Estimator(max_iter=10, warm_start=True, **params).fit(X, y)
    warm.set_params(max_iter=17).fit(X, y)
    assert continued.n_iter_ == warm.n_iter_ == 17  # max_iter counted the new iterations
    _assert_same_arrays(_arrays(continued), _arrays(warm))
    assert first.n_iter_ == 10  # the init model is not changed


def test_init_model_from_a_file_fine_tunes_on_new_data(tmp_path):
    X, y = _regression(3000)
    X_old, y_old, X_new, y_new = X[:2000], y[:2000], X[2000:], y[2000:] + 30.0  # the new data drifted
    first = _fitted(X_old, y_old, max_iter=30)
    path = tmp_path / "first.json"
    first.save_model(path)
    tuned = _fitted(X_new, y_new, max_iter=10, init_model=str(path))
    mse = lambda model: np.mean((model.predict(X_new) - y_new) ** 2)  # noqa: E731
    assert mse(tuned) < 0.5 * mse(first)
    assert tuned.n_iter_ == 40
    # the first model's trees come first, unchanged, and its bins are kept
    np.testing.assert_array_equal(tuned.predict(X_new, iteration_range=(0, 30)), first.predict(X_new))
    np.testing.assert_array_equal(_arrays(tuned)["edges"], _arrays(first)["edges"])


def test_init_model_keeps_categories_and_checks_feature_names():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=800), "c": pd.Categorical(rng.choice(["x", "y", "z"], 800))})
    y = frame["a"] + (frame["c"] == "y") * 3.0
    first = _fitted(frame, y, max_iter=5)
    tuned = _fitted(frame.iloc[::-1], y[::-1], max_iter=5, init_model=first)
    assert tuned.n_iter_ == 10 and tuned.is_categorical_.tolist() == [False, True]
    with pytest.raises(ValueError, match="feature names of X"):
        _fitted(frame.rename(columns={"a": "b"}), y, init_model=first)
    with pytest.raises(ValueError, match="init_model continues a model whose categorical features"):
        _fitted(frame.assign(c=rng.normal(size=800)), y, init_model=first)


def test_init_model_that_disagrees_is_refused_by_name():
    X, y = _regression(600)
    first = _fitted(X, y, max_iter=3)
    with pytest.raises(ValueError, match="X has 5 features, but init_model was trained with 6"):
        _fitted(X[:, :5], y, init_model=first)
    with pytest.raises(ValueError, match="init_model was trained with objective 'squared_error'"):
        _fitted(X, np.abs(y) + 1, loss="poisson", init_model=first)
    with pytest.raises(TypeError, match="init_model must be a fitted HistGradientBoostingRegressor"):
        _fitted(X, y, init_model=object())
    with pytest.raises(TypeError, match="init_model must be a fitted HistGradientBoostingClassifier"):
        HistGradientBoostingClassifier().fit(X, y > 0, init_model=first)
    with pytest.raises(ValueError, match="not fitted"):
        _fitted(X, y, init_model=HistGradientBoostingRegressor())
    warm = _fitted(X, y, max_iter=3, warm_start=True)
    with pytest.raises(ValueError, match="init_model cannot be combined with warm_start"):
        warm.fit(X, y, init_model=first)
    Xc, yc = make_classification(n_samples=500, n_classes=3, n_informative=4, random_state=0)
    clf = HistGradientBoostingClassifier(max_iter=3).fit(Xc, yc)
    with pytest.raises(ValueError, match=r"init_model was trained on the classes \[0, 1, 2\]"):
        HistGradientBoostingClassifier(max_iter=3).fit(Xc, yc + 1, init_model=clf)


def test_a_failed_init_model_fit_keeps_the_previous_fit():
    X, y = _regression(600)
    model = _fitted(X, y, max_iter=3)
    before = model.predict(X)
    with pytest.raises(ValueError):
        model.fit(X[:, :5], y, init_model=_fitted(X, y, max_iter=2))
    np.testing.assert_array_equal(model.predict(X), before)


# ---------------------------------------------------------------------------------------- init_score

def test_offsets_of_a_first_model_plus_the_first_model_equal_a_continued_model():
    X, y = _regression(2000)
    first = _fitted(X, y, max_iter=20)
    second = _fitted(X, y, max_iter=20, init_score=first.predict(X))
    continued = _fitted(X, y, max_iter=20, warm_start=True)
    continued.set_params(max_iter=40).fit(X, y)
    assert second.n_iter_ == 20
    np.testing.assert_allclose(first.predict(X) + second.predict(X), continued.predict(X), rtol=0, atol=1e-9)
    assert _arrays(second)["base_score"].tolist() == [0.0]  # predict gives the trees' part


def test_a_constant_offset_on_squared_error_moves_only_the_base_score():
    X, y = _regression(1024)
    y = np.round(y)  # integers: their mean is the same double in NumPy and in the core
    c = float(np.mean(y))
    plain = _fitted(X, y)
    offset = _fitted(X, y, init_score=np.full(len(y), c))
    _assert_same_arrays(_arrays(offset, skip={"base_score"}), _arrays(plain, skip={"base_score"}))
    assert _arrays(plain)["base_score"].tolist() == [c]
    np.testing.assert_allclose(offset.predict(X) + c, plain.predict(X), rtol=0, atol=1e-9)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_classifier_offsets_per_class(n_classes):
    X, y = make_classification(n_samples=1000, n_classes=n_classes, n_informative=4, random_state=0)
    first = HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(X, y)
    raw = first.decision_function(X)
    second = HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(X, y, init_score=raw)
    warm = HistGradientBoostingClassifier(max_iter=10, random_state=0, warm_start=True).fit(X, y)
    warm.set_params(max_iter=20).fit(X, y)
    np.testing.assert_allclose(raw + second.decision_function(X), warm.decision_function(X), atol=1e-8)
    with pytest.raises(ValueError, match=r"init_score must have shape"):
        HistGradientBoostingClassifier(max_iter=2).fit(X, y, init_score=raw[:, :1] if n_classes > 2 else raw[:5])


def test_the_internal_validation_split_takes_each_rows_offset():
    # y is the offset plus a small signal: with each row's own offset the validation rows start
    # near the truth, so their first recorded loss is small; with a wrong offset it would be huge.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 3))
    offset = rng.normal(scale=1000.0, size=3000)
    y = offset + X[:, 0]
    model = _fitted(X, y, max_iter=30, init_score=offset)
    assert np.mean((model.predict(X) - X[:, 0]) ** 2) < 0.1
    stopped = HistGradientBoostingRegressor(max_iter=30, early_stopping=True, random_state=0).fit(
        X, y, init_score=offset)
    assert -stopped.validation_score_[0] < 1.0  # half the mean square of X[:, 0] on the held-out rows


@pytest.mark.parametrize("bad, message", [
    (np.ones(7), r"init_score must have shape \(600,\)"),
    (np.ones((600, 2)), r"init_score must have shape \(600,\) .*got \(600, 2\)"),
    (np.r_[np.nan, np.ones(599)], "init_score contains NaN or infinity"),
    (np.r_[np.inf, np.ones(599)], "init_score contains NaN or infinity"),
    (np.array(["a"] * 600), "init_score must be an array of numbers"),
])
def test_bad_offsets_are_refused_by_name(bad, message):
    X, y = _regression(600)
    with pytest.raises(ValueError, match=message):
        _fitted(X, y, init_score=bad)


def test_offsets_with_a_validation_set_count_as_zero_there():
    X, y = _regression(1200)
    offset = np.full(1000, 5.0)
    model = HistGradientBoostingRegressor(max_iter=5, early_stopping=True, random_state=0).fit(
        X[:1000], y[:1000], init_score=offset, X_val=X[1000:], y_val=y[1000:])
    assert model.n_iter_ == 5 and model._model.to_arrays()["base_score"].tolist() == [0.0]
    # the validation rows start from the model's own prediction: the recorded loss is that of predict
    half_mse = 0.5 * np.mean((model.predict(X[1000:]) - y[1000:]) ** 2)
    assert -model.validation_score_[-1] == pytest.approx(half_mse, rel=1e-9)


def test_scorers_see_each_rows_offset_whether_served_margins_or_a_snapshot():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2000, 3))
    offset = rng.normal(scale=50.0, size=2000)
    y = offset + X[:, 0] + rng.normal(scale=0.1, size=2000)

    def neg_mse(estimator, X_score, y_score):  # a callable: scored on a snapshot of the model
        return -float(np.mean((estimator.predict(X_score) - y_score) ** 2))

    scores = [HistGradientBoostingRegressor(max_iter=8, early_stopping=True, scoring=scoring, random_state=0).fit(
        X, y, init_score=offset).validation_score_ for scoring in ("neg_mean_squared_error", neg_mse)]
    np.testing.assert_allclose(scores[1], scores[0], rtol=1e-9)
    assert -scores[0][0] < 2.0  # the held-out rows were scored with their offsets
