"""Custom losses (issue #23): ``loss=`` a callable ``(y_true, raw_prediction, sample_weight) ->
(gradient, hessian)`` on the gradient boosting regressor and classifier."""

import pickle

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression

from treeforge import HistGradientBoostingClassifier, HistGradientBoostingRegressor


def squared_error(y, raw, sample_weight):
    return raw - y, np.ones_like(raw)


def log_loss(y, raw, sample_weight):
    """Binary or multinomial log loss, with the core's hessian (scaled by K/(K-1) for K classes)."""
    if raw.ndim == 1:
        p = 1.0 / (1.0 + np.exp(-raw))
        return p - y, np.maximum(p * (1.0 - p), 1e-16)
    k = raw.shape[1]
    p = np.exp(raw - raw.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return p - np.eye(k)[y.astype(np.intp)], np.maximum(k / (k - 1.0) * p * (1.0 - p), 1e-16)


def _regression(n=1500):
    return make_regression(n_samples=n, n_features=6, noise=20.0, random_state=0)


def _arrays(model):
    return model._model.to_arrays()


def _regressor(**params):
    return HistGradientBoostingRegressor(**{"max_iter": 25, "random_state": 0, "early_stopping": False, **params})


def test_custom_squared_error_grows_the_built_in_model_bit_for_bit():
    X, y = _regression()
    y = np.round(y)  # integers: the mean that starts both models is the same double
    params = dict(subsample=0.8, colsample_bytree=0.8, l2_regularization=1.0)
    custom, built_in = _regressor(loss=squared_error, **params).fit(X, y), _regressor(**params).fit(X, y)
    for key, value in _arrays(built_in).items():
        np.testing.assert_array_equal(_arrays(custom)[key], value, err_msg=key)


@pytest.mark.parametrize("weighted", [False, True])
def test_custom_squared_error_predicts_as_the_built_in_loss(weighted):
    X, y = _regression()
    w = np.random.default_rng(0).uniform(0.2, 3.0, size=len(y)) if weighted else None
    custom = _regressor(loss=squared_error).fit(X, y, sample_weight=w)
    built_in = _regressor().fit(X, y, sample_weight=w)
    np.testing.assert_allclose(custom.predict(X), built_in.predict(X), rtol=0, atol=1e-12)
    assert _arrays(custom)["base_score"][0] == pytest.approx(np.average(y, weights=w), rel=1e-14)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_custom_log_loss_grows_the_built_in_classifier_from_the_same_start(n_classes):
    # Both start from raw scores of 0 (init_score): the custom gradients are the core's.
    X, y = make_classification(n_samples=1200, n_classes=n_classes, n_informative=5, random_state=0)
    labels = np.array(["a", "b", "c"])[y]
    start = np.zeros(len(y)) if n_classes == 2 else np.zeros((len(y), n_classes))
    custom = HistGradientBoostingClassifier(loss=log_loss, max_iter=15, random_state=0).fit(X, labels, init_score=start)
    built_in = HistGradientBoostingClassifier(max_iter=15, random_state=0).fit(X, labels, init_score=start)
    np.testing.assert_allclose(custom.decision_function(X), built_in.decision_function(X), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(custom.predict(X), built_in.predict(X))


def test_the_model_starts_from_one_newton_step_and_gets_class_indices():
    X, y = make_classification(n_samples=600, n_classes=3, n_informative=4, random_state=0)
    seen = []

    def recording(y_true, raw, sample_weight):
        seen.append((y_true.copy(), raw.shape))
        return log_loss(y_true, raw, sample_weight)

    model = HistGradientBoostingClassifier(loss=recording, max_iter=3).fit(X, np.array(["x", "y", "z"])[y])
    np.testing.assert_array_equal(seen[0][0], y.astype(np.float64))
    assert seen[0][1] == (600, 3) and len(seen) == 1 + 3  # the Newton step, then one call per iteration
    g, h = log_loss(y.astype(np.float64), np.zeros((600, 3)), None)
    np.testing.assert_allclose(_arrays(model)["base_score"], -g.sum(axis=0) / h.sum(axis=0), rtol=1e-12)


def test_a_loss_of_its_own_is_minimised():
    # Expectile regression (asymmetric squared error, tau = 0.9): at the fitted model the
    # training rows' gradients sum to about 0, and the predictions sit above the mean's.
    X, y = _regression(3000)

    def expectile(y_true, raw, sample_weight):
        weight = np.where(y_true < raw, 0.1, 0.9)
        return 2.0 * weight * (raw - y_true), 2.0 * weight

    model = _regressor(loss=expectile, max_iter=150, learning_rate=0.3).fit(X, y)
    gradient, hessian = expectile(y, model.predict(X), None)
    assert abs(gradient.sum()) < 0.01 * np.abs(gradient).sum()
    mean_model = _regressor(max_iter=150, learning_rate=0.3).fit(X, y)
    assert np.mean(y <= model.predict(X)) > np.mean(y <= mean_model.predict(X)) + 0.05


@pytest.mark.parametrize("returned, error, message", [
    (lambda y, raw: (raw - y)[:-1], ValueError, r"returned a gradient of shape \(1499,\); the raw prediction"),
    (lambda y, raw: np.c_[raw - y, raw - y], ValueError, r"returned a gradient of shape \(1500, 2\)"),
    (lambda y, raw: np.r_[np.nan, (raw - y)[1:]], ValueError, "returned a gradient with NaN or infinity"),
])
def test_bad_gradients_are_refused_naming_the_loss(returned, error, message):
    X, y = _regression()

    def broken(y_true, raw, sample_weight):
        return returned(y_true, raw), np.ones_like(raw)

    with pytest.raises(error, match=f"loss 'broken' {message}"):
        _regressor(loss=broken).fit(X, y)


def test_bad_returns_are_refused_naming_the_loss():
    X, y = _regression()
    with pytest.raises(TypeError, match=r"loss 'single' must return a tuple \(gradient, hessian\), got ndarray"):
        _regressor(loss=lambda_named("single", lambda y, raw, w: raw - y)).fit(X, y)
    with pytest.raises(ValueError, match="loss 'negative' returned a negative hessian"):
        _regressor(loss=lambda_named("negative", lambda y, raw, w: (raw - y, -np.ones_like(raw)))).fit(X, y)
    with pytest.raises(ValueError, match="loss 'flat' has a zero total hessian"):
        _regressor(loss=lambda_named("flat", lambda y, raw, w: (raw - y, np.zeros_like(raw)))).fit(X, y)
    with pytest.raises(ValueError, match="loss 'later_nan' returned a hessian with NaN"):
        _regressor(loss=lambda_named("later_nan", lambda y, raw, w: (
            raw - y, np.full_like(raw, np.nan if raw.any() else 1.0)))).fit(X, y)


def lambda_named(name, function):
    function.__name__ = name
    return function


def test_model_files_refuse_a_callable_loss_and_pickles_keep_it(tmp_path):
    X, y = _regression(400)
    model = _regressor(loss=squared_error, max_iter=3).fit(X, y)
    with pytest.raises(ValueError, match="trained with the callable loss 'squared_error', which a model file cannot"):
        model.save_model(tmp_path / "model.json")
    assert not (tmp_path / "model.json").exists()
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    assert restored.loss is squared_error


def test_evaluation_and_early_stopping_need_a_metric_of_their_own():
    X, y = _regression(2000)
    with pytest.raises(ValueError, match="eval_metric 'loss' is not available with a callable loss"):
        _regressor(loss=squared_error).fit(X, y, eval_set=[(X, y)])
    with pytest.raises(ValueError, match="loss is the callable 'squared_error', which the core cannot score"):
        _regressor(loss=squared_error, early_stopping=True).fit(X, y)
    raws = []

    def half_mse(y_true, raw, sample_weight):
        raws.append(raw)
        return 0.5 * float(np.mean((raw - y_true) ** 2))

    model = _regressor(loss=squared_error, early_stopping=True, max_iter=300, n_iter_no_change=3, learning_rate=0.9)
    model.fit(X[:1500], y[:1500], eval_set=[(X[1500:], y[1500:])], eval_metric=[half_mse, "l2"])
    reference = _regressor(early_stopping=True, max_iter=300, n_iter_no_change=3, learning_rate=0.9).fit(
        X[:1500], y[:1500], X_val=X[1500:], y_val=y[1500:])
    assert model.n_iter_ == reference.n_iter_ < 300
    np.testing.assert_allclose(model.evals_result_["valid_0"]["half_mse"], -reference.validation_score_[1:], rtol=1e-9)
    np.testing.assert_array_equal(raws[-1], model.predict(X[1500:]))  # the raw score, which predict gives
    auto = _regressor(loss=squared_error, max_iter=3).fit(np.tile(X, (6, 1)), np.tile(y, 6))  # 12,000 rows
    assert not auto.do_early_stopping_
    scored = _regressor(loss=squared_error, early_stopping=True, scoring="r2", max_iter=5).fit(X, y)
    assert len(scored.validation_score_) == 6


def test_warm_start_and_init_model_continue_a_custom_loss():
    X, y = _regression()
    first = _regressor(loss=squared_error, max_iter=10, warm_start=True).fit(X, y)
    continued = _regressor(loss=squared_error, max_iter=10).fit(X, y, init_model=first)
    first.set_params(max_iter=20).fit(X, y)
    built_in = _regressor(max_iter=20).fit(X, y)
    np.testing.assert_array_equal(continued.predict(X), first.predict(X))
    np.testing.assert_allclose(first.predict(X), built_in.predict(X), rtol=0, atol=1e-12)
