"""Watching several evaluation sets (issue #23): ``fit(eval_set=..., eval_metric=...)``, the history in
``evals_result_``, early stopping on the last set's first metric, ``best_iteration_``."""

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.metrics import log_loss, mean_absolute_error, mean_squared_error, roc_auc_score

from treeforge import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from treeforge.ensemble._boosting_progress import no_recent_improvement


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=2400, n_features=6, noise=15.0, random_state=0)
    return X[:1600], y[:1600], X[1600:2000], y[1600:2000], X[2000:], y[2000:]


def _regressor(**params):
    return HistGradientBoostingRegressor(**{"max_iter": 25, "random_state": 0, "early_stopping": False, **params})


def test_history_has_a_value_per_set_metric_and_iteration_equal_to_staged_predictions(regression):
    Xt, yt, Xa, ya, Xb, yb = regression
    wb = np.random.default_rng(0).uniform(0.5, 2.0, size=len(yb))
    model = _regressor().fit(Xt, yt, eval_set=[(Xa, ya), (Xb, yb)], eval_names=["a", "b"],
                             eval_sample_weight=[None, wb], eval_metric=["l2", "rmse", "mae"])
    assert list(model.evals_result_) == ["a", "b"]
    for name, X, y, w in [("a", Xa, ya, None), ("b", Xb, yb, wb)]:
        history = model.evals_result_[name]
        assert list(history) == ["l2", "rmse", "mae"] and all(len(v) == 25 for v in history.values())
        for i, prediction in enumerate(model.staged_predict(X)):
            mse = mean_squared_error(y, prediction, sample_weight=w)
            assert history["l2"][i] == pytest.approx(mse, rel=1e-12)
            assert history["rmse"][i] == pytest.approx(np.sqrt(mse), rel=1e-12)
            assert history["mae"][i] == pytest.approx(mean_absolute_error(y, prediction, sample_weight=w), rel=1e-12)
    assert model.best_iteration_ == 1 + int(np.argmin(model.evals_result_["b"]["l2"]))


@pytest.mark.parametrize("loss, params, transform", [
    ("squared_error", {}, None), ("absolute_error", {}, None), ("quantile", {"quantile": 0.8}, None),
    ("huber", {"huber_delta": 20.0}, None), ("poisson", {}, "count"), ("gamma", {}, "positive"),
    ("tweedie", {"tweedie_variance_power": 1.4}, "count"),
])
def test_loss_metric_equals_the_cores_validation_loss(regression, loss, params, transform):
    Xt, yt, Xa, ya, _, _ = regression
    change = {None: lambda y: y, "count": lambda y: np.floor(np.abs(y) / 40), "positive": lambda y: np.abs(y) + 1}
    yt, ya = change[transform](yt), change[transform](ya)
    wa = np.linspace(0.5, 1.5, len(ya))
    common = dict(max_iter=8, early_stopping=True, n_iter_no_change=50, loss=loss, **params)
    watched = _regressor(**common).fit(Xt, yt, eval_set=[(Xa, ya)], eval_sample_weight=[wa])
    reference = _regressor(**common).fit(Xt, yt, X_val=Xa, y_val=ya, sample_weight_val=wa)
    np.testing.assert_allclose(watched.evals_result_["valid_0"]["loss"], -reference.validation_score_[1:], rtol=1e-10)
    np.testing.assert_allclose(watched.validation_score_, reference.validation_score_, rtol=1e-10)
    np.testing.assert_array_equal(watched.predict(Xa), reference.predict(Xa))


@pytest.mark.parametrize("n_classes", [2, 3])
def test_classifier_metrics_equal_scikit_learns(n_classes):
    X, y = make_classification(n_samples=1500, n_classes=n_classes, n_informative=5, random_state=0)
    labels = np.array(["ant", "bee", "cat"])[y]
    metrics = ["logloss", "error", "loss"] + (["auc"] if n_classes == 2 else [])
    model = HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(
        X[:1000], labels[:1000], eval_set=[(X[1000:], labels[1000:])], eval_metric=metrics)
    history = model.evals_result_["valid_0"]
    for i, proba in enumerate(model.staged_predict_proba(X[1000:])):
        assert history["logloss"][i] == pytest.approx(log_loss(labels[1000:], proba, labels=model.classes_), rel=1e-9)
        assert history["loss"][i] == pytest.approx(history["logloss"][i], rel=1e-9)
        wrong = np.mean(model.classes_[np.argmax(proba, axis=1)] != labels[1000:])
        assert history["error"][i] == pytest.approx(wrong, abs=1e-15)
        if n_classes == 2:
            assert history["auc"][i] == pytest.approx(roc_auc_score(labels[1000:] == "bee", proba[:, 1]), rel=1e-12)


def test_early_stopping_follows_the_last_sets_first_metric(regression):
    Xt, yt, Xa, ya, Xb, yb = regression
    model = _regressor(max_iter=400, early_stopping=True, n_iter_no_change=5, tol=0.0, learning_rate=0.5).fit(
        Xt, yt, eval_set=[(Xt, yt), (Xb, yb)], eval_metric=["mae", "l2"])
    decided = np.asarray(model.evals_result_["valid_1"]["mae"])
    assert model.n_iter_ < 400 and len(decided) == model.n_iter_
    initial = -mean_absolute_error(yb, np.full(len(yb), yt.mean()))
    scores = [initial] + list(-decided)
    np.testing.assert_allclose(model.validation_score_, scores, rtol=1e-12)
    # it stopped at the first iteration the rule says so, not before
    stops = [no_recent_improvement(scores[:k + 1], 5, 0.0) for k in range(len(scores))]
    assert stops.index(True) == model.n_iter_
    assert model.best_iteration_ == 1 + int(np.argmin(decided))
    assert len(model.train_score_) == model.n_iter_ + 1  # the training loss beside
    # the training set keeps improving: it did not decide
    assert np.all(np.diff(model.evals_result_["valid_0"]["mae"]) < 0.5)


def test_a_metric_where_higher_is_better_decides_as_a_score():
    X, y = make_classification(n_samples=2000, random_state=0, flip_y=0.3)
    model = HistGradientBoostingClassifier(max_iter=200, early_stopping=True, n_iter_no_change=3, random_state=0,
                                           learning_rate=0.5).fit(
        X[:1500], y[:1500], eval_set=[(X[1500:], y[1500:])], eval_metric=["auc", "logloss"])
    auc = model.evals_result_["valid_0"]["auc"]
    np.testing.assert_allclose(model.validation_score_[1:], auc)
    assert model.best_iteration_ == 1 + int(np.argmax(auc))
    best = model.predict_proba(X[1500:], iteration_range=(0, model.best_iteration_))[:, 1]
    assert roc_auc_score(y[1500:], best) == pytest.approx(max(auc), rel=1e-12)


def test_callable_metrics_get_labels_predictions_weights_and_may_name_themselves():
    X, y = make_classification(n_samples=800, n_classes=3, n_informative=4, random_state=0)
    labels = np.array(["x", "y", "z"])[y]
    seen = []

    def accuracy(y_true, proba, sample_weight):
        seen.append((y_true.dtype.kind, proba.shape, sample_weight))
        return "acc", float(np.mean(np.array(["x", "y", "z"])[proba.argmax(axis=1)] == y_true)), True

    def wrongness(y_true, proba, sample_weight):
        return 1.0 - accuracy(y_true, proba, sample_weight)[1]

    model = HistGradientBoostingClassifier(max_iter=4).fit(
        X[:600], labels[:600], eval_set=[(X[600:], labels[600:])], eval_metric=[accuracy, wrongness])
    history = model.evals_result_["valid_0"]
    assert list(history) == ["acc", "wrongness"]
    np.testing.assert_allclose(np.add(history["acc"], history["wrongness"]), 1.0)
    assert seen[0] == ("U", (200, 3), None)
    regressor = _regressor(max_iter=3).fit(X, y * 1.0, eval_set=[(X, y * 1.0)],
                                           eval_metric=lambda t, p, w: float(np.max(np.abs(t - p))))
    assert list(regressor.evals_result_["valid_0"]) == ["<lambda>"]


def test_offsets_of_an_evaluation_set_are_added_to_its_scores(regression):
    Xt, yt, Xa, ya, _, _ = regression
    offset = np.full(len(ya), 100.0)
    model = _regressor(max_iter=5).fit(Xt, yt, eval_set=[(Xa, ya), (Xa, ya)], eval_init_score=[None, offset])
    with_offset = model.evals_result_["valid_1"]["loss"][-1]
    assert with_offset == pytest.approx(0.5 * np.mean((model.predict(Xa) + 100.0 - ya) ** 2), rel=1e-12)
    trained_on_offsets = _regressor(max_iter=5).fit(Xt, yt, init_score=np.full(len(yt), 1.0),
                                                    eval_set=[(Xa, ya)], eval_init_score=[offset])
    expected = 0.5 * np.mean((trained_on_offsets.predict(Xa) + 100.0 - ya) ** 2)
    assert trained_on_offsets.evals_result_["valid_0"]["loss"][-1] == pytest.approx(expected, rel=1e-12)


def test_without_eval_set_the_history_is_empty(regression):
    Xt, yt, *_ = regression
    model = _regressor(max_iter=3).fit(Xt, yt)
    assert model.evals_result_ == {} and model.best_iteration_ is None
    stopped = _regressor(max_iter=60, early_stopping=True, n_iter_no_change=3, learning_rate=1.0).fit(Xt, yt)
    assert stopped.best_iteration_ == int(np.argmax(stopped.validation_score_))


@pytest.mark.parametrize("keywords, error, message", [
    ({"eval_set": [(1, 2, 3)]}, ValueError, r"eval_set must be a non-empty list of \(X, y\) pairs"),
    ({"eval_set": []}, ValueError, "eval_set must be a non-empty list"),
    ({"eval_names": ["a", "b"]}, ValueError, r"eval_names must be a list of one entry per eval_set entry \(1\)"),
    ({"eval_names": [3]}, ValueError, "eval_names must be distinct strings"),
    ({"eval_sample_weight": [np.ones(3)]}, ValueError, r"eval_set\[0\]: .*sample_weight"),
    ({"eval_init_score": [np.ones(3)]}, ValueError, r"eval_init_score\[0\] must have shape \(400,\)"),
    ({"eval_metric": "ndcg"}, ValueError, "Unknown eval_metric 'ndcg'"),
    ({"eval_metric": "auc"}, ValueError, "eval_metric 'auc' is a classification metric"),
    ({"eval_metric": ["l2", "l2"]}, ValueError, "eval_metric names a metric twice"),
    ({"eval_metric": 3}, TypeError, "eval_metric must be a metric name"),
    ({"eval_metric": lambda t, p, w: float("nan")}, ValueError, "eval_metric '<lambda>' returned NaN"),
    ({"eval_metric": lambda t, p, w: "good"}, TypeError, "eval_metric '<lambda>' returned str, not a number"),
    ({"X_val": "given"}, ValueError, "X_val/y_val and eval_set cannot be combined"),
])
def test_bad_evaluation_keywords_are_refused_by_name(regression, keywords, error, message):
    Xt, yt, Xa, ya, _, _ = regression
    keywords = {"eval_set": [(Xa, ya)], **keywords}
    if keywords.get("X_val") == "given":
        keywords.update(X_val=Xa, y_val=ya)
    model = _regressor(max_iter=2, early_stopping=True)
    with pytest.raises(error, match=message):
        model.fit(Xt, yt, **keywords)
    assert not hasattr(model, "evals_result_")  # a failed fit leaves the estimator as it was


def test_bad_evaluation_data_is_refused_with_its_place(regression):
    Xt, yt, Xa, ya, _, _ = regression
    with pytest.raises(ValueError, match=r"eval_set\[1\]: X has 5 features"):
        _regressor().fit(Xt, yt, eval_set=[(Xa, ya), (Xa[:, :5], ya)])
    with pytest.raises(ValueError, match=r"eval_set\[0\]: y has shape \(399,\)"):
        _regressor().fit(Xt, yt, eval_set=[(Xa, ya[:-1])])
    with pytest.raises(ValueError, match=r"eval_set\[0\]: y contains NaN"):
        _regressor().fit(Xt, yt, eval_set=[(Xa, np.r_[np.nan, ya[1:]])])
    with pytest.raises(ValueError, match="eval_names is given without eval_set"):
        _regressor().fit(Xt, yt, eval_names=["a"])
    with pytest.raises(ValueError, match="early stopping follows eval_metric, not scoring='r2'"):
        _regressor(early_stopping=True, scoring="r2").fit(Xt, yt, eval_set=[(Xa, ya)])
    X, y = make_classification(n_samples=300, n_classes=3, n_informative=4, random_state=0)
    with pytest.raises(ValueError, match=r"eval_set\[0\]: .*7"):
        HistGradientBoostingClassifier(max_iter=2).fit(X, y, eval_set=[(X, np.r_[7, y[1:]])])
    with pytest.raises(ValueError, match="'auc' needs a binary classifier"):
        HistGradientBoostingClassifier(max_iter=2).fit(X, y, eval_set=[(X, y)], eval_metric="auc")


def test_watching_walks_only_the_new_trees(regression, monkeypatch):
    # The core keeps the sets' running scores: no snapshot of the model, no prediction of all its
    # trees, so an iteration costs the same however many came before it.
    from treeforge import _core

    calls = []

    def spied(name, original):
        def spy(self, *args, **kwargs):
            calls.append(name)
            return original(self, *args, **kwargs)
        return spy

    monkeypatch.setattr(_core.Booster, "model", spied("model", _core.Booster.model))
    monkeypatch.setattr(_core.Model, "predict_margin", spied("predict_margin", _core.Model.predict_margin))
    Xt, yt, Xa, ya, Xb, yb = regression
    model = _regressor(max_iter=30).fit(Xt, yt, eval_set=[(Xa, ya), (Xb, yb)], eval_metric=["l2", "mae", "loss"])
    assert calls == [] and len(model.evals_result_["valid_1"]["l2"]) == 30
    model.predict(Xa)  # the spies see what they watch
    assert calls == ["predict_margin"]
