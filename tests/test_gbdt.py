"""Gradient boosting: accuracy against scikit-learn, training properties, early stopping, warm start, weights."""

import numpy as np
import pytest
import scipy.sparse
from _strategies import assert_invariant_to_column_order, low_cardinality_columns, train_booster
import sklearn.ensemble
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_wine,
    make_classification,
    make_regression,
)
from sklearn.metrics import make_scorer, mean_poisson_deviance, mean_gamma_deviance, mean_squared_error
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from treeforge import HistGradientBoostingClassifier, HistGradientBoostingRegressor, _core
from treeforge.ensemble._base import available_cpu_count, resolve_n_threads, validate_fit_data

# Allowed shortfall against scikit-learn with the same parameters (accuracy points / R2 units),
# averaged over the splits of each dataset.
ACCURACY_TOLERANCE = 0.02
R2_TOLERANCE = 0.02
N_SPLITS = 2


def _classification_sets():
    yield "breast_cancer", load_breast_cancer(return_X_y=True)
    yield "wine", load_wine(return_X_y=True)
    digits_X, digits_y = load_digits(return_X_y=True)
    yield "digits", (digits_X[:900], digits_y[:900])
    yield "make_classification", make_classification(
        n_samples=1000, n_features=12, n_informative=6, n_classes=3, random_state=0
    )


def _regression_sets():
    yield "diabetes", load_diabetes(return_X_y=True)
    yield "make_regression", make_regression(
        n_samples=1000, n_features=10, n_informative=6, noise=10.0, random_state=0
    )


def _mean_test_score(make_model, X, y, stratify):
    scores = []
    for split in range(N_SPLITS):
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.3, random_state=split, stratify=y if stratify else None
        )
        # One thread each: small data, and results do not depend on the thread count.
        with threadpool_limits(limits=1, user_api="openmp"):
            scores.append(make_model().fit(X_train, y_train).score(X_test, y_test))
    return float(np.mean(scores))


@pytest.mark.parametrize(
    "Estimator,name,data",
    [(HistGradientBoostingClassifier, name, data) for name, data in _classification_sets()]
    + [(HistGradientBoostingRegressor, name, data) for name, data in _regression_sets()],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_accuracy_matches_scikit_learn(Estimator, name, data):
    """Test accuracy (classifiers) or R2 (regressors) with scikit-learn's parameters."""
    X, y = data
    is_classifier = Estimator is HistGradientBoostingClassifier
    params = dict(max_iter=30 if is_classifier else 50, early_stopping=False, random_state=0)
    reference_class = getattr(sklearn.ensemble, Estimator.__name__)
    ours = _mean_test_score(lambda: Estimator(n_jobs=1, **params), X, y, is_classifier)
    reference = _mean_test_score(lambda: reference_class(**params), X, y, is_classifier)
    assert ours >= reference - (ACCURACY_TOLERANCE if is_classifier else R2_TOLERANCE), (name, ours, reference)


def _continuous_regression(n_samples=300, n_features=5, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(size=(n_samples, n_features))
    y = 3 * X[:, 0] + np.sin(6 * X[:, 1]) + X[:, 2] * X[:, 3] + 0.1 * rng.normal(size=n_samples)
    return X, y


@pytest.mark.parametrize(
    "Estimator,loss,target",
    [
        (HistGradientBoostingRegressor, "squared_error", "real"),
        (HistGradientBoostingRegressor, "poisson", "count"),
        (HistGradientBoostingRegressor, "gamma", "positive"),
        (HistGradientBoostingClassifier, "log_loss", "binary"),
        (HistGradientBoostingClassifier, "log_loss", "multiclass"),
    ],
)
def test_training_loss_is_non_increasing(Estimator, loss, target):
    X, f = _continuous_regression()
    rng = np.random.RandomState(1)
    y = {
        "real": f,
        "count": rng.poisson(np.exp(f / 2)),
        "positive": rng.gamma(2.0, np.exp(f / 3)),
        "binary": (f > np.median(f)).astype(int),
        "multiclass": np.digitize(f, np.quantile(f, [1 / 3, 2 / 3])),
    }[target]
    model = Estimator(
        loss=loss, max_iter=25, early_stopping=True, validation_fraction=None, n_iter_no_change=25,
        random_state=0,
    ).fit(X, y)
    losses = -model.train_score_
    assert model.n_iter_ == 25 and losses.shape == (26,)
    assert np.all(np.diff(losses) <= 1e-12 * np.abs(losses[:-1]).max()), losses
    assert losses[-1] < losses[0]


def test_train_score_is_scikit_learn_loss():
    """scoring='loss' records scikit-learn's losses: half squared error, log loss."""
    X, y = _continuous_regression()
    reg = HistGradientBoostingRegressor(max_iter=5, early_stopping=True, validation_fraction=None).fit(X, y)
    np.testing.assert_allclose(-reg.train_score_[-1], 0.5 * mean_squared_error(y, reg.predict(X)), rtol=1e-9)
    labels = (y > np.median(y)).astype(int)
    clf = HistGradientBoostingClassifier(max_iter=5, early_stopping=True, validation_fraction=None).fit(X, labels)
    proba = clf.predict_proba(X)[np.arange(len(labels)), labels]
    np.testing.assert_allclose(-clf.train_score_[-1], -np.mean(np.log(proba)), rtol=1e-9)


def test_predictions_invariant_to_row_order():
    X, y = _continuous_regression()
    model = HistGradientBoostingRegressor(max_iter=20, random_state=0).fit(X, y)
    order = np.random.RandomState(2).permutation(len(y))
    shuffled = HistGradientBoostingRegressor(max_iter=20, random_state=0).fit(X[order], y[order])
    # Same trees; only the summation order of the histograms differs (last-bit differences).
    np.testing.assert_allclose(shuffled.predict(X), model.predict(X), rtol=1e-10, atol=1e-10)


def test_predictions_invariant_to_column_order():
    X, y = _continuous_regression()
    model = HistGradientBoostingRegressor(max_iter=20, random_state=0).fit(X, y)
    columns = np.random.RandomState(3).permutation(X.shape[1])
    permuted = HistGradientBoostingRegressor(max_iter=20, random_state=0).fit(X[:, columns], y)
    np.testing.assert_allclose(permuted.predict(X[:, columns]), model.predict(X), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(permuted.feature_importances_, model.feature_importances_[columns], rtol=1e-9)


def test_low_cardinality_features_invariant_to_column_order():
    # Features of few bins are bundled in column order, so a permutation regroups them: the model
    # must not change (bundled histograms are exact), nor with missing values among them.
    rng = np.random.RandomState(4)
    n = 4000
    X = low_cardinality_columns(rng, n)
    y = (X[:, 0] + X[:, 1] + 0.5 * X[:, 2] - 0.3 * np.nan_to_num(X[:, 3]) + X[:, 4] * X[:, 6] + rng.normal(size=n) > 2)
    assert_invariant_to_column_order(
        lambda: HistGradientBoostingClassifier(max_iter=20, max_leaf_nodes=15, random_state=0), X, y)


@pytest.mark.parametrize(
    "sampling",
    [{}, {"subsample": 0.7}, {"max_features": 0.5}, {"colsample_bytree": 0.6},
     {"subsample": 0.8, "max_features": 0.7, "colsample_bytree": 0.8}],
)
@pytest.mark.parametrize("Estimator", [HistGradientBoostingRegressor, HistGradientBoostingClassifier])
def test_models_identical_for_any_thread_count(Estimator, sampling, assert_same_model):
    X, y = _continuous_regression(n_samples=4000, n_features=8, seed=4)
    if Estimator is HistGradientBoostingClassifier:
        y = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    one = Estimator(max_iter=8, random_state=5, n_jobs=1, **sampling).fit(X, y)
    method = "predict_proba" if Estimator is HistGradientBoostingClassifier else "predict"
    # Three classes: on 2 threads two trees of an iteration grow side by side and the third on
    # both threads; on 3 threads all three side by side.
    for n_jobs in (2, 3):
        many = Estimator(max_iter=8, random_state=5, n_jobs=n_jobs, **sampling).fit(X, y)
        assert_same_model(one, many)
        np.testing.assert_array_equal(getattr(one, method)(X), getattr(many, method)(X))


def test_multiclass_side_by_side_trees_keep_validation_and_early_stopping():
    # Trees grown side by side update their own class's training and validation margins.
    X, y = _continuous_regression(n_samples=3000, n_features=6, seed=9)
    y = np.digitize(y, np.quantile(y, [0.2, 0.4, 0.6, 0.8]))
    params = dict(max_iter=60, random_state=1, early_stopping=True, validation_fraction=0.25, n_iter_no_change=3)
    one = HistGradientBoostingClassifier(n_jobs=1, **params).fit(X, y)
    two = HistGradientBoostingClassifier(n_jobs=2, **params).fit(X, y)
    assert one.n_iter_ < 60  # stopped early, so the validation scores drove it
    assert one.n_iter_ == two.n_iter_
    np.testing.assert_array_equal(one.validation_score_, two.validation_score_)
    np.testing.assert_array_equal(one.predict_proba(X), two.predict_proba(X))


def test_random_state_controls_sampling(assert_same_model):
    X, y = _continuous_regression()
    params = dict(max_iter=10, subsample=0.5, max_features=0.5)
    first = HistGradientBoostingRegressor(random_state=7, **params).fit(X, y)
    assert_same_model(first, HistGradientBoostingRegressor(random_state=7, **params).fit(X, y))
    other = HistGradientBoostingRegressor(random_state=8, **params).fit(X, y)
    assert not np.array_equal(first.predict(X), other.predict(X))
    drawn = [HistGradientBoostingRegressor(random_state=np.random.RandomState(0), **params).fit(X, y) for _ in range(2)]
    assert_same_model(*drawn)


def test_early_stopping_stops_on_noise():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(600, 4)), rng.normal(size=600)
    model = HistGradientBoostingRegressor(
        max_iter=200, early_stopping=True, n_iter_no_change=5, random_state=0
    ).fit(X, y)
    assert model.do_early_stopping_
    assert model.n_iter_ < 200
    assert model.train_score_.shape == model.validation_score_.shape == (model.n_iter_ + 1,)
    _assert_stopping_rule(model.validation_score_, 5, model.tol)


def _assert_stopping_rule(scores, n_iter_no_change, tol):
    """Scikit-learn's rule, written out: stop once none of the last n scores beats the one before them."""
    def should_stop(seen):
        if len(seen) < n_iter_no_change + 1:
            return False
        reference = seen[-n_iter_no_change - 1] + tol
        return not any(score > reference for score in seen[-n_iter_no_change:])

    assert should_stop(list(scores))
    assert not any(should_stop(list(scores[:k])) for k in range(1, len(scores)))


def test_early_stopping_splits_sample_weights(binary_data):
    X, y = binary_data
    weight = np.random.RandomState(0).uniform(0.5, 2.0, size=len(y))
    model = HistGradientBoostingClassifier(max_iter=8, early_stopping=True, n_iter_no_change=8, random_state=0)
    model.fit(X, y, sample_weight=weight)
    assert model.train_score_.shape == model.validation_score_.shape == (9,)
    assert model.validation_score_[-1] > model.validation_score_[0]


@pytest.mark.parametrize("Estimator", [HistGradientBoostingClassifier, HistGradientBoostingRegressor])
def test_validation_split_is_train_test_split_of_the_rows(Estimator, assert_same_model):
    # The held-out rows are train_test_split's (stratified for classifiers) under the fit's seed,
    # and the training rows, binned from X by their numbers, give the model a copy of them gives.
    X, y = _continuous_regression(n_samples=3000, n_features=5, seed=2)
    if Estimator is HistGradientBoostingClassifier:
        y = np.digitize(y, np.quantile(y, [0.3, 0.7]))
    weight = np.random.RandomState(1).uniform(0.5, 2.0, size=len(y))
    params = dict(max_iter=12, early_stopping=True, n_iter_no_change=12, validation_fraction=0.2, random_state=3)
    split = Estimator(**params).fit(X, y, sample_weight=weight)
    train, valid = train_test_split(
        np.arange(len(y)), test_size=0.2, random_state=split._seed,
        stratify=y if Estimator is HistGradientBoostingClassifier else None,
    )
    given = Estimator(**params).fit(X[train], y[train], sample_weight=weight[train], X_val=X[valid], y_val=y[valid],
                                    sample_weight_val=weight[valid])
    assert_same_model(split, given)
    np.testing.assert_array_equal(split.validation_score_, given.validation_score_)


def test_early_stopping_auto_switches_on_above_10000_samples():
    rng = np.random.RandomState(0)
    X, y = rng.uniform(size=(10_001, 2)), rng.normal(size=10_001)
    model = HistGradientBoostingRegressor(max_iter=3).fit(X, y)
    assert model.do_early_stopping_ and model.train_score_.shape == (model.n_iter_ + 1,)
    scored = HistGradientBoostingRegressor(max_iter=3, scoring="r2").fit(X, y)  # on 10,000 training rows
    assert scored.train_score_.shape == (4,) and np.all(scored.train_score_ <= 1.0)
    small = HistGradientBoostingRegressor(max_iter=3).fit(X[:500], y[:500])
    assert not small.do_early_stopping_
    assert small.train_score_.shape == small.validation_score_.shape == (0,)


def test_scorer_strings_and_callables_give_the_same_scores():
    X, y = _continuous_regression()
    params = dict(max_iter=15, early_stopping=True, n_iter_no_change=15, random_state=0)
    by_name = HistGradientBoostingRegressor(scoring="neg_mean_squared_error", **params).fit(X, y)
    by_callable = HistGradientBoostingRegressor(
        scoring=make_scorer(mean_squared_error, greater_is_better=False), **params
    ).fit(X, y)
    np.testing.assert_allclose(by_name.validation_score_, by_callable.validation_score_, rtol=1e-12)
    np.testing.assert_allclose(by_name.train_score_, by_callable.train_score_, rtol=1e-12)
    assert by_name.validation_score_[-1] > by_name.validation_score_[0]


def test_accuracy_scoring_and_given_validation_set(binary_data):
    X, y = binary_data
    model = HistGradientBoostingClassifier(
        max_iter=10, early_stopping=True, scoring="accuracy", random_state=0
    ).fit(X[:200], y[:200], X_val=X[200:], y_val=y[200:])
    assert model.validation_score_.shape == (model.n_iter_ + 1,)
    assert np.all((model.validation_score_ >= 0) & (model.validation_score_ <= 1))
    assert model.validation_score_[-1] > 0.7


def test_warm_start_continues_the_model(assert_same_model):
    X, y = _continuous_regression()
    model = HistGradientBoostingRegressor(max_iter=10, warm_start=True, random_state=0).fit(X, y)
    first = model.predict(X)
    model.set_params(max_iter=20).fit(X, y)
    assert model.n_iter_ == 20
    assert not np.array_equal(model.predict(X), first)
    cold = HistGradientBoostingRegressor(max_iter=20, random_state=0).fit(X, y)
    assert_same_model(model, cold)
    with pytest.raises(ValueError, match="max_iter=5 must be larger than or equal to n_iter_=20"):
        model.set_params(max_iter=5).fit(X, y)


def test_warm_start_with_early_stopping_keeps_scores():
    X, y = _continuous_regression()
    labels = (y > np.median(y)).astype(int)
    model = HistGradientBoostingClassifier(
        max_iter=5, warm_start=True, early_stopping=True, n_iter_no_change=50, random_state=0
    ).fit(X, labels)
    model.set_params(max_iter=9).fit(X, labels)
    assert model.n_iter_ == 9
    assert model.train_score_.shape == model.validation_score_.shape == (10,)


def test_keyboard_interrupt_leaves_estimator_unchanged(regression_data):
    X, y = regression_data
    model = HistGradientBoostingRegressor(max_iter=5, random_state=0).fit(X, y)
    before = model.predict(X)
    calls = []

    def interrupting_scorer(estimator, X_score, y_score):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return 0.0

    model.set_params(early_stopping=True, scoring=interrupting_scorer, max_iter=30)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X[:100], y[:100])
    assert model.n_iter_ == 5 and not model.do_early_stopping_
    np.testing.assert_array_equal(model.predict(X), before)
    fresh = HistGradientBoostingRegressor(early_stopping=True, scoring=interrupting_scorer)
    calls.clear()
    with pytest.raises(KeyboardInterrupt):
        fresh.fit(X, y)
    assert not hasattr(fresh, "n_features_in_") and not hasattr(fresh, "n_iter_")


@pytest.mark.parametrize("Estimator", [HistGradientBoostingRegressor, HistGradientBoostingClassifier])
def test_staged_predictions_end_at_the_final_ones(Estimator, multiclass_data):
    X, y = multiclass_data
    model = Estimator(max_iter=6, random_state=0).fit(X, y)
    stages = list(model.staged_predict(X))
    assert len(stages) == model.n_iter_ == 6
    np.testing.assert_array_equal(stages[-1], model.predict(X))
    if Estimator is HistGradientBoostingClassifier:
        np.testing.assert_allclose(list(model.staged_predict_proba(X))[-1], model.predict_proba(X), rtol=1e-12)
        np.testing.assert_allclose(
            list(model.staged_decision_function(X))[-1], model.decision_function(X), rtol=1e-12
        )


def test_multiclass_probabilities(multiclass_data):
    X, y = multiclass_data
    model = HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (len(y), 3) and model.n_trees_per_iteration_ == 3
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert model.decision_function(X).shape == (len(y), 3)
    np.testing.assert_array_equal(model.classes_[proba.argmax(axis=1)], model.predict(X))


def test_binary_decision_function_and_string_labels(binary_data):
    X, y = binary_data
    labels = np.array(["no", "yes"])[y]
    model = HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(X, labels)
    decision = model.decision_function(X)
    assert decision.shape == (len(y),) and model.n_trees_per_iteration_ == 1
    np.testing.assert_array_equal(model.predict(X), np.where(decision > 0, "yes", "no"))
    np.testing.assert_allclose(model.predict_proba(X)[:, 1], 1 / (1 + np.exp(-decision)), rtol=1e-12)


def test_weight_two_equals_duplicated_rows():
    rng = np.random.RandomState(0)
    X = rng.randint(0, 10, size=(120, 3)).astype(float)  # few distinct values: identical bins
    y = X[:, 0] - X[:, 1] + rng.normal(size=120)
    weight = np.where(np.arange(120) < 60, 2.0, 1.0)
    params = dict(max_iter=10, min_samples_leaf=1, random_state=0)
    weighted = HistGradientBoostingRegressor(**params).fit(X, y, sample_weight=weight)
    duplicated = HistGradientBoostingRegressor(**params).fit(np.vstack([X, X[:60]]), np.concatenate([y, y[:60]]))
    np.testing.assert_allclose(weighted.predict(X), duplicated.predict(X), rtol=1e-9, atol=1e-9)


def test_class_weight(assert_same_model):
    X, y = make_classification(n_samples=600, n_features=6, weights=[0.9, 0.1], flip_y=0.05, random_state=0)
    plain = HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(X, y)
    balanced = HistGradientBoostingClassifier(max_iter=10, class_weight="balanced", random_state=0).fit(X, y)
    assert (balanced.predict(X) == 1).sum() > (plain.predict(X) == 1).sum()
    labels = np.array(["a", "b"])[y]
    by_dict = HistGradientBoostingClassifier(max_iter=10, class_weight={"a": 1.0, "b": 3.0}, random_state=0)
    by_weight = HistGradientBoostingClassifier(max_iter=10, random_state=0)
    by_dict.fit(X, labels)
    by_weight.fit(X, labels, sample_weight=np.where(y == 1, 3.0, 1.0))
    assert_same_model(by_dict, by_weight)


@pytest.mark.parametrize("loss,deviance", [("poisson", mean_poisson_deviance), ("gamma", mean_gamma_deviance)])
def test_log_link_losses_beat_a_constant(loss, deviance):
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(1000, 4))
    mean = np.exp(3.0 * X[:, 0] - X[:, 1])
    y = rng.poisson(mean) if loss == "poisson" else rng.gamma(3.0, mean / 3.0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    model = HistGradientBoostingRegressor(loss=loss, max_iter=50, random_state=0).fit(X_train, y_train)
    prediction = model.predict(X_test)
    assert np.all(prediction > 0)
    constant = np.full_like(prediction, y_train.mean())
    assert deviance(y_test, prediction) < 0.9 * deviance(y_test, constant)


def test_feature_importances():
    X, y = _continuous_regression()
    X = np.column_stack([X, np.random.RandomState(9).normal(size=len(y))])
    model = HistGradientBoostingRegressor(max_iter=20, random_state=0).fit(X, y)
    importances = model.feature_importances_
    assert importances.shape == (6,) and np.isclose(importances.sum(), 1.0)
    assert importances[0] > importances[4] and importances[0] > importances[5]
    constant = HistGradientBoostingRegressor(max_iter=3).fit(np.ones((50, 2)), np.arange(50.0))
    np.testing.assert_array_equal(constant.feature_importances_, np.zeros(2))


def test_sparse_input_matches_dense(binary_data):
    X, y = binary_data
    X = np.where(np.abs(X) < 0.5, 0.0, X)
    dense = HistGradientBoostingClassifier(max_iter=5, random_state=0).fit(X, y)
    sparse = HistGradientBoostingClassifier(max_iter=5, random_state=0).fit(scipy.sparse.csr_matrix(X), y)
    np.testing.assert_array_equal(sparse.predict_proba(scipy.sparse.csr_matrix(X)), dense.predict_proba(X))


def test_float32_input_is_kept_and_predicts_like_float64(regression_data):
    X, y = regression_data
    X32 = X.astype(np.float32)
    model = HistGradientBoostingRegressor(max_iter=5)
    checked, _ = validate_fit_data(model, X32, y, y_numeric=True)
    assert checked.dtype == np.float32
    model.fit(X32, y)
    np.testing.assert_array_equal(model.predict(X32), model.predict(X32.astype(np.float64)))


def test_missing_values_are_learned():
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(500, 2))
    y = X[:, 0] + rng.normal(scale=0.05, size=500)
    missing = rng.uniform(size=500) < 0.3
    X[missing, 0] = np.nan
    y[missing] = 5.0  # missing feature 0 means a large target
    model = HistGradientBoostingRegressor(max_iter=30, random_state=0).fit(X, y)
    assert np.all(model.predict(np.array([[np.nan, 0.5]])) > 3.0)


def test_single_row_gives_a_constant_model():
    model = HistGradientBoostingRegressor(max_iter=3).fit([[1.0, 2.0]], [4.0])
    np.testing.assert_allclose(model.predict([[0.0, 0.0], [9.0, 9.0]]), [4.0, 4.0])


def test_verbose_prints_progress(capsys, regression_data):
    X, y = regression_data
    HistGradientBoostingRegressor(max_iter=3, verbose=2, early_stopping=True).fit(X, y)
    out = capsys.readouterr().out
    assert "[1/3]" in out and "[3/3]" in out and "val loss" in out and "Fit 3 trees" in out


def test_n_jobs_resolution():
    cores = available_cpu_count()
    assert resolve_n_threads(-1) == cores
    assert resolve_n_threads(None) == max(1, min(cores, _core.max_threads()))
    assert resolve_n_threads(3) == min(3, cores)
    assert resolve_n_threads(1000) == cores  # more threads than cores only contend for them (#22)
    assert resolve_n_threads(-2) == max(1, cores - 1)
    assert resolve_n_threads(-10_000) == 1


def test_default_threads_honour_openmp_limits():
    # joblib workers limit OpenMP through threadpoolctl: n_jobs=None must not oversubscribe them.
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        assert resolve_n_threads(None) == 1
        assert resolve_n_threads(2) == min(2, available_cpu_count())  # an explicit count is the user's choice


def test_predict_input_forms_agree():
    """A C-contiguous float array skips the full validation (the single-row fast path); every
    other form of the same values goes through it and predicts the same, and a wrong width
    still raises."""
    X, y = _continuous_regression(n_samples=300, n_features=4, seed=2)
    X = np.round(X * 8) / 8  # exact in float32 too
    model = HistGradientBoostingRegressor(max_iter=5, random_state=0).fit(X, y)
    expected = model.predict(X)
    for form in (np.asfortranarray(X), X.astype(np.float32), X.tolist(), X[:, :, None][:, :, 0], X[::1]):
        np.testing.assert_array_equal(model.predict(form), expected)
    np.testing.assert_array_equal(model.predict(X[7:8]), expected[7:8])
    with pytest.raises(ValueError, match="features"):
        model.predict(np.ascontiguousarray(X[:, :3]))


def test_finish_releases_the_booster_and_keeps_the_model(regression_data):
    """finish() (the estimator's last step, which frees the training state first) returns the
    model trained so far; afterwards the booster refuses to train or score instead of crashing."""
    X, y = regression_data
    booster = train_booster(X, y, 3, max_leaf_nodes=8)
    expected = booster.model().predict_margin(X)
    model = booster.finish()
    np.testing.assert_array_equal(model.predict_margin(X), expected)
    np.testing.assert_array_equal(booster.model().predict_margin(X), expected)
    assert booster.n_iter == 3
    for call in (booster.update, booster.train_loss, booster.train_margin):
        with pytest.raises(ValueError, match="finished"):
            call()
