"""AdaBoost refitted while another thread predicts, and fits that fail or are interrupted: the
estimator holds one whole fit at every moment, the old one until the new one is complete (#22)."""

import threading
import time

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from treeforge import AdaBoostClassifier, AdaBoostRegressor
from treeforge.ensemble import _weight_boosting


class _SlowStumpClassifier(DecisionTreeClassifier):
    """A user's estimator whose predictions take a while, so that a refit is published while an
    ensemble prediction is half-way through its estimators."""

    def predict(self, X, check_input=True):
        time.sleep(0.002)
        return super().predict(X, check_input)


class _SlowTreeRegressor(DecisionTreeRegressor):
    def predict(self, X, check_input=True):
        time.sleep(0.002)
        return super().predict(X, check_input)


def _two_datasets(is_classifier, n_samples):
    """Two training sets of 6 features that give different models (2 and 3 classes)."""
    if is_classifier:
        first = make_classification(n_samples, n_features=6, n_informative=4, n_classes=2, random_state=1)
        second = make_classification(n_samples, n_features=6, n_informative=4, n_classes=3, random_state=2)
    else:
        first = make_regression(n_samples, n_features=6, noise=1.0, random_state=1)
        second = make_regression(n_samples, n_features=6, noise=1.0, random_state=2)
        second = (second[0], 100.0 - second[1])
    return first, second


CASES = {
    "classifier, default trees": (AdaBoostClassifier, dict(n_estimators=60, n_jobs=1), 20_000),
    "regressor, default trees": (AdaBoostRegressor, dict(n_estimators=30, n_jobs=1), 20_000),
    "classifier, user estimator": (AdaBoostClassifier, dict(estimator=_SlowStumpClassifier(max_depth=1),
                                                            n_estimators=8), 300),
    "regressor, user estimator": (AdaBoostRegressor, dict(estimator=_SlowTreeRegressor(max_depth=2),
                                                          n_estimators=8), 300),
}


def _outputs(estimator, X):
    if isinstance(estimator, AdaBoostClassifier):
        return estimator.predict_proba(X)
    return estimator.predict(X)


@pytest.mark.parametrize("case", list(CASES))
def test_predictions_during_refits_come_from_the_old_or_the_new_model(case):
    """A thread predicting in a loop while the main thread refits, alternately on two datasets,
    always gets the outputs of one of the two fits: never NotFittedError (fit used to clear the
    model first), never attributes of one fit with the model of the other."""
    Estimator, params, n_samples = CASES[case]
    (X1, y1), (X2, y2) = _two_datasets(Estimator is AdaBoostClassifier, n_samples)
    X_query = X1[:200]
    expected = [_outputs(Estimator(**params, random_state=0).fit(X, y), X_query) for X, y in ((X1, y1), (X2, y2))]
    assert expected[0].shape != expected[1].shape or not np.array_equal(*expected)
    estimator = Estimator(**params, random_state=0).fit(X1, y1)
    stop, failures, seen = threading.Event(), [], set()

    def predict_in_a_loop():
        while not stop.is_set():
            try:
                outputs = _outputs(estimator, X_query)
            except Exception as error:  # noqa: BLE001 -- any error is the failure reported
                failures.append(repr(error))
                return
            matches = [i for i, e in enumerate(expected) if e.shape == outputs.shape and np.array_equal(e, outputs)]
            if not matches:
                failures.append("outputs of neither fit")
                return
            seen.add(matches[0])

    reader = threading.Thread(target=predict_in_a_loop)
    reader.start()
    try:
        for refit in range(6):
            X, y = (X2, y2) if refit % 2 == 0 else (X1, y1)
            estimator.fit(X, y)
            time.sleep(0.01)  # the reader gets to predict with the new model too
    finally:
        stop.set()
        reader.join()
    assert not failures, failures
    assert seen == {0, 1}


def _attributes(estimator):
    return dict(estimator.__dict__)


def _assert_unchanged(estimator, before, X, outputs):
    assert estimator.__dict__.keys() == before.keys()
    assert all(estimator.__dict__[name] is value for name, value in before.items())
    np.testing.assert_array_equal(_outputs(estimator, X), outputs)


class _InterruptedStump(DecisionTreeClassifier):
    """Fits normally three times (counted over its clones, one a round), then raises KeyboardInterrupt."""

    calls = 0

    def fit(self, X, y, sample_weight=None, check_input=True):
        type(self).calls += 1
        if type(self).calls > 3:
            raise KeyboardInterrupt
        return super().fit(X, y, sample_weight=sample_weight, check_input=check_input)


def test_interrupted_refit_with_a_user_estimator_keeps_every_attribute():
    (X1, y1), (X2, y2) = _two_datasets(True, 300)
    estimator = AdaBoostClassifier(DecisionTreeClassifier(max_depth=1), n_estimators=5, random_state=0).fit(X1, y1)
    outputs = _outputs(estimator, X1)
    estimator.set_params(estimator=_InterruptedStump(max_depth=1))
    before = _attributes(estimator)
    _InterruptedStump.calls = 0
    with pytest.raises(KeyboardInterrupt):
        estimator.fit(X2, y2)
    _assert_unchanged(estimator, before, X1, outputs)


@pytest.mark.parametrize("Estimator", [AdaBoostClassifier, AdaBoostRegressor])
@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_interrupted_or_failed_refit_of_default_trees_keeps_every_attribute(Estimator, error, monkeypatch):
    (X1, y1), (X2, y2) = _two_datasets(Estimator is AdaBoostClassifier, 300)
    estimator = Estimator(n_estimators=5, random_state=0).fit(X1, y1)
    before, outputs = _attributes(estimator), _outputs(estimator, X1)

    def one_round_then_stop(ensemble, trainer, callbacks):
        trainer.fit_rounds(1)
        raise error("stopped after one round")

    monkeypatch.setattr(_weight_boosting, "run_adaboost_rounds", one_round_then_stop)
    with pytest.raises(error):
        estimator.fit(X2, y2)
    _assert_unchanged(estimator, before, X1, outputs)


def test_failed_first_fit_leaves_the_estimator_unfitted():
    X = np.zeros((20, 3))
    estimator = AdaBoostClassifier(DecisionTreeClassifier(max_depth=1))
    params = dict(estimator.__dict__)
    with pytest.raises(ValueError, match="worse than random"):
        estimator.fit(X, np.arange(20) % 4)
    assert estimator.__dict__ == params
