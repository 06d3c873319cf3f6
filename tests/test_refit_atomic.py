"""Gradient boosting and random forests refitted while another thread predicts, refits that fail or
are interrupted, and per-tree views across refits: an estimator holds one whole fit at every
moment, the previous one until the new one is complete (#22 item 9; AdaBoost's rounds:
test_adaboost_refit.py).

The two fits differ in everything a prediction reads: classes ({0, 1}, then {"a", "b", "c"}),
the categories of the categorical column 0 (0..4, then 5..9: to the second fit every value of the
first data is an unseen category), the number of rows, the model.
"""

import threading
import time

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression

import treeforge
from treeforge import (
    AdaBoostClassifier,
    AdaBoostRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from treeforge.ensemble import _forest

pytestmark = pytest.mark.filterwarnings("ignore:Some inputs do not have OOB scores:UserWarning")

CLASSIFIERS = (HistGradientBoostingClassifier, RandomForestClassifier, AdaBoostClassifier)
GBDT = (HistGradientBoostingClassifier, HistGradientBoostingRegressor)
FORESTS = (RandomForestClassifier, RandomForestRegressor)
COMMON = dict(categorical_features=[0], n_jobs=1, random_state=0)


def _dataset(is_classifier, n_samples, second):
    """6 features; column 0 categorical, informative, with categories 0..4 (5..9 if ``second``)."""
    seed = 2 if second else 1
    if is_classifier:
        X, y = make_classification(n_samples, n_features=6, n_informative=4, n_classes=3 if second else 2,
                                   random_state=seed)
        X[:, 0] = y + np.arange(n_samples) % 3
        labels = np.array(["a", "b", "c"])[y] if second else y
    else:
        X, labels = make_regression(n_samples, n_features=6, noise=1.0, random_state=seed)
        X[:, 0] = np.arange(n_samples) % 5
        labels = 100.0 * X[:, 0] + (100.0 - labels if second else labels)
    X[:, 0] += 5 * second
    return X, labels


def _two_datasets(Estimator, n_samples):
    is_classifier = issubclass(Estimator, CLASSIFIERS)
    return _dataset(is_classifier, n_samples, False), _dataset(is_classifier, n_samples * 3 // 4, True)


# ------------------------------------------------------------------------ predictions during refits

THREAD_CASES = {
    "gbdt classifier": (HistGradientBoostingClassifier,
                        dict(max_iter=30, early_stopping=True, scoring="accuracy", n_iter_no_change=1000)),
    "gbdt regressor": (HistGradientBoostingRegressor,
                       dict(max_iter=30, early_stopping=True, scoring="r2", n_iter_no_change=1000)),
    "forest classifier": (RandomForestClassifier, dict(n_estimators=30, max_depth=8, oob_score=True)),
    "forest regressor": (RandomForestRegressor, dict(n_estimators=30, max_depth=8, oob_score=True)),
}


def _readers(estimator, path):
    """name -> call of everything that reads a fit: each a function of (X, y) returning its outputs."""
    readers = {
        "predict": lambda X, y: estimator.predict(X),
        "feature_importances_": lambda X, y: estimator.feature_importances_,
        "save_model": lambda X, y: (estimator.save_model(path), treeforge.load_model(path).predict(X))[1],
    }
    if isinstance(estimator, CLASSIFIERS):
        readers["predict_proba"] = lambda X, y: estimator.predict_proba(X)
    else:  # a classifier's score on labels of one fit fails on the other's predictions (label types)
        readers["score"] = lambda X, y: estimator.score(X, y)
    if isinstance(estimator, GBDT):
        readers["staged_predict"] = lambda X, y: list(estimator.staged_predict(X))
    if isinstance(estimator, HistGradientBoostingClassifier):
        readers["decision_function"] = lambda X, y: estimator.decision_function(X)
        readers["staged_predict_proba"] = lambda X, y: list(estimator.staged_predict_proba(X))
    if isinstance(estimator, FORESTS):
        readers["apply"] = lambda X, y: estimator.apply(X)
        readers["decision_path"] = lambda X, y: estimator.decision_path(X)[0].toarray()
        readers["estimators_samples_"] = lambda X, y: estimator.estimators_samples_[:3]
        readers["tree views"] = lambda X, y: [tree.predict(X) for tree in estimator.estimators_]
        readers["len"] = lambda X, y: (len(estimator), estimator[0].tree_.node_count)
    return readers


def _same(a, b):
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(map(_same, a, b))
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)


@pytest.mark.parametrize("case", list(THREAD_CASES))
def test_predictions_during_refits_come_from_the_old_or_the_new_fit(case, tmp_path):
    """A thread calling every reader in turn while the main thread refits, alternately on the two
    datasets, always gets the outputs of one of the two fits: never an error, never the classes,
    categories or scoring state of one fit with the model of the other (fit used to replace
    ``classes_``, the categories and, while scoring, the margins predictions read, long before the
    model)."""
    Estimator, params = THREAD_CASES[case]
    (X1, y1), (X2, y2) = _two_datasets(Estimator, 12_000)
    X_query, y_query = X1[:100], y1[:100]
    expected = []
    for i, (X, y) in enumerate(((X1, y1), (X2, y2))):
        readers = _readers(Estimator(**params, **COMMON).fit(X, y), tmp_path / f"expected{i}.json")
        expected.append({name: read(X_query, y_query) for name, read in readers.items()})
    assert not _same(expected[0]["predict"], expected[1]["predict"])
    estimator = Estimator(**params, **COMMON).fit(X1, y1)
    readers = _readers(estimator, tmp_path / "read.json")
    stop, failures, seen = threading.Event(), [], set()

    def read_in_a_loop():
        while not stop.is_set():
            for name, read in readers.items():
                try:
                    outputs = read(X_query, y_query)
                except Exception as error:  # noqa: BLE001 -- any error is the failure reported
                    failures.append(f"{name}: {error!r}")
                    return
                matches = [i for i, fit in enumerate(expected) if _same(fit[name], outputs)]
                if not matches:
                    failures.append(f"{name}: outputs of neither fit")
                    return
                if name == "predict":
                    seen.add(matches[0])

    reader = threading.Thread(target=read_in_a_loop)
    reader.start()
    try:
        for refit in range(6):
            estimator.fit(*((X2, y2) if refit % 2 == 0 else (X1, y1)))
            time.sleep(0.1)  # the reader gets to read the new fit too
    finally:
        stop.set()
        reader.join()
    assert not failures, failures
    assert seen == {0, 1}


class _RefitWhenRead:
    """X whose reading by a prediction first refits the estimator: another thread publishing a
    refit at that moment of the call, made deterministic."""

    def __init__(self, X, refit):
        self.X, self.refit = X, refit

    def __array__(self, dtype=None, copy=None):
        refit, self.refit = self.refit, None
        if refit is not None:
            refit()
        return self.X if dtype is None else self.X.astype(dtype)


# The readers that read X (after which the rest of the call reads the fit).
_X_READERS = ("predict", "predict_proba", "decision_function", "score", "staged_predict", "staged_predict_proba",
              "apply", "decision_path", "tree views")


@pytest.mark.parametrize("case", list(THREAD_CASES))
def test_a_refit_published_during_a_prediction_does_not_reach_it(case, tmp_path):
    """Every reader gives the outputs of the fit it began with when a refit is published while it
    reads X; a generator (``staged_*``) and the tree views of ``estimators_`` to their end."""
    Estimator, params = THREAD_CASES[case]
    (X1, y1), (X2, y2) = _two_datasets(Estimator, 2000)
    X_query, y_query = X1[:100], y1[:100]
    estimator = Estimator(**params, **COMMON).fit(X1, y1)
    readers = {name: read for name, read in _readers(estimator, tmp_path / "model.json").items() if name in _X_READERS}
    expected = {name: read(X_query, y_query) for name, read in readers.items()}
    mixed = []
    for name, read in readers.items():
        estimator.fit(X1, y1)
        if not _same(read(_RefitWhenRead(X_query, lambda: estimator.fit(X2, y2)), y_query), expected[name]):
            mixed.append(name)
        assert not _same(read(X_query, y_query), expected[name]), name  # the refit was published
    assert not mixed, f"outputs of neither fit: {mixed}"


# ------------------------------------------------------------------ refits that fail or are interrupted


class _Unreadable:
    """An array-like that fails when fit reads it (a later stage: classes and features already
    learned), first calling ``at_failure``."""

    def __init__(self, n, at_failure):
        self.n, self.at_failure = n, at_failure

    def __len__(self):
        return self.n

    def __array__(self, dtype=None, copy=None):
        self.at_failure()
        raise ValueError("this input cannot be read")


def _unreadable_sample_weight(estimator, X, at_failure, monkeypatch):
    return dict(sample_weight=_Unreadable(X.shape[0], at_failure)), ValueError


def _stop_at(progress, n_iter, at_failure, error):
    """A fit callback raising ``error`` after iteration ``n_iter``, first calling ``at_failure``."""
    if progress.n_iter == n_iter:
        at_failure()
        raise error("stopped by the callback")


def _callback_raising(error):
    def arrange(estimator, X, at_failure, monkeypatch):
        return dict(callback=lambda progress: _stop_at(progress, 3, at_failure, error)), error

    return arrange


def _scorer_interrupting(estimator, X, at_failure, monkeypatch):
    calls = []

    def scorer(fitted, X_score, y_score):
        calls.append(1)
        if len(calls) == 4:
            at_failure()
            raise KeyboardInterrupt
        return 0.0

    estimator.set_params(early_stopping=True, scoring=scorer)
    return {}, KeyboardInterrupt


def _unreadable_y_val(estimator, X, at_failure, monkeypatch):
    estimator.set_params(early_stopping=True)
    return dict(X_val=X[:50], y_val=_Unreadable(50, at_failure)), ValueError


def _trees_interrupted(estimator, X, at_failure, monkeypatch):
    """The forest's trainer raising KeyboardInterrupt after its first batch of trees (as Ctrl-C does)."""
    monkeypatch.setattr(_forest._core, "ForestTrainer", _interrupted_trainer(_forest._core.ForestTrainer, at_failure))
    return {}, KeyboardInterrupt


def _interrupted_trainer(Trainer, at_failure):
    class InterruptedTrainer:
        def __init__(self, *args, **kwargs):
            self._trainer = Trainer(*args, **kwargs)

        def __getattr__(self, name):
            return getattr(self._trainer, name)

        def grow(self, n_trees):
            self._trainer.grow(n_trees)
            at_failure()
            raise KeyboardInterrupt

    return InterruptedTrainer


def _oob_scorer_failing(estimator, X, at_failure, monkeypatch):
    def oob_score(y_true, y_pred):
        at_failure()
        raise RuntimeError("the out-of-bag scorer failed")

    estimator.set_params(oob_score=oob_score)
    return {}, RuntimeError


FAILURES = {
    "sample_weight unreadable": (_unreadable_sample_weight, GBDT + FORESTS),
    "callback raises KeyboardInterrupt": (_callback_raising(KeyboardInterrupt), GBDT),
    "callback raises RuntimeError": (_callback_raising(RuntimeError), GBDT),
    "scorer raises KeyboardInterrupt": (_scorer_interrupting, GBDT),
    "y_val unreadable": (_unreadable_y_val, GBDT),
    "trees interrupted": (_trees_interrupted, FORESTS),
    "out-of-bag scorer raises": (_oob_scorer_failing, FORESTS),
}
FAILURE_CASES = [(Estimator, failure) for failure, (_, estimators) in FAILURES.items() for Estimator in estimators]


def _small_params(Estimator):
    return dict(max_iter=6) if Estimator in GBDT else dict(n_estimators=6, max_depth=4)


def _assert_same_objects(attributes, before):
    assert attributes.keys() == before.keys()
    changed = [name for name, value in before.items() if attributes[name] is not value]
    assert not changed, f"attributes replaced: {changed}"


@pytest.mark.parametrize("Estimator, failure", FAILURE_CASES, ids=[f"{E.__name__}-{f}" for E, f in FAILURE_CASES])
@pytest.mark.parametrize("is_fitted", [True, False], ids=["refit", "first fit"])
def test_failed_or_interrupted_fit_keeps_every_attribute(Estimator, failure, is_fitted, monkeypatch):
    """Every attribute stays the same object while the fit runs (checked where it fails) and after
    it fails; the previous fit still predicts as before. Fit used to replace classes, features and
    categories first, putting the previous ones back only once the error came out."""
    (X1, y1), (X2, y2) = _two_datasets(Estimator, 400)
    estimator = Estimator(**_small_params(Estimator), **COMMON)
    if is_fitted:
        estimator.fit(X1, y1)
        outputs = estimator.predict(X1)
    at_failure = []
    arrange, _ = FAILURES[failure]
    fit_kwargs, error = arrange(estimator, X2, lambda: at_failure.append(dict(estimator.__dict__)), monkeypatch)
    before = dict(estimator.__dict__)
    with pytest.raises(error):
        estimator.fit(X2, y2, **fit_kwargs)
    assert len(at_failure) == 1
    _assert_same_objects(at_failure[0], before)
    _assert_same_objects(estimator.__dict__, before)
    if is_fitted:
        np.testing.assert_array_equal(estimator.predict(X1), outputs)


@pytest.mark.parametrize("Estimator", GBDT + FORESTS)
def test_interrupted_warm_start_continues_from_the_state_before_it(Estimator, monkeypatch, assert_same_model):
    """A continued fit (warm_start) interrupted half-way leaves the fit it continued, scores of
    early stopping included; continuing again grows exactly the trees of an uninterrupted continuation."""
    X, y = _dataset(Estimator in CLASSIFIERS, 400, False)
    if Estimator in GBDT:
        params, more = dict(max_iter=4, early_stopping=True, n_iter_no_change=1000), dict(max_iter=10)
    else:
        params, more = dict(n_estimators=4, max_depth=4, oob_score=True), dict(n_estimators=10)
    estimator = Estimator(warm_start=True, **params, **COMMON).fit(X, y).set_params(**more)
    at_failure = []

    def record():
        at_failure.append(dict(estimator.__dict__))

    if Estimator in GBDT:
        error = KeyboardInterrupt
        fit_kwargs = dict(callback=lambda progress: _stop_at(progress, 7, record, error))
    else:
        fit_kwargs, error = _trees_interrupted(estimator, X, record, monkeypatch)
    before = dict(estimator.__dict__)
    with pytest.raises(error):
        estimator.fit(X, y, **fit_kwargs)
    _assert_same_objects(at_failure[0], before)
    _assert_same_objects(estimator.__dict__, before)
    monkeypatch.undo()
    estimator.fit(X, y)
    uninterrupted = Estimator(warm_start=True, **params, **COMMON).fit(X, y).set_params(**more).fit(X, y)
    assert_same_model(estimator, uninterrupted)
    for name in ("train_score_", "validation_score_", "oob_score_"):
        if hasattr(uninterrupted, name):
            np.testing.assert_array_equal(getattr(estimator, name), getattr(uninterrupted, name))


# -------------------------------------------------------------------------- per-tree views across refits


@pytest.mark.parametrize("Estimator", FORESTS + (AdaBoostClassifier, AdaBoostRegressor))
def test_tree_views_keep_the_fit_they_were_taken_from(Estimator):
    """Views taken from ``estimators_`` before a refit keep their trees, classes, categories and
    validation: they predict, and build ``tree_``, as before the refit (views used to validate and
    encode X through the ensemble as it is now)."""
    (X1, y1), (X2, y2) = _two_datasets(Estimator, 400)
    estimator = Estimator(n_estimators=10, **COMMON).fit(X1, y1)
    views = estimator.estimators_
    outputs = [view.predict(X1) for view in views]
    estimator.fit(X2, y2)
    assert all(_same(view.predict(X1), output) for view, output in zip(views, outputs))
    reference = Estimator(n_estimators=10, **COMMON).fit(X1, y1).estimators_
    for view, expected in zip(views, reference):
        sets, expected_sets = view.tree_.category_sets, expected.tree_.category_sets
        assert [s is None for s in sets] == [s is None for s in expected_sets]
        assert all(_same(s, e) for s, e in zip(sets, expected_sets) if s is not None)
