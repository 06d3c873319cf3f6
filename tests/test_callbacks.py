"""Training callbacks (issue #23): ``fit(..., callbacks=[...])`` on every estimator, the protocol
(before_training, after_iteration -> stop, after_training), stopping keeps the steps done, an
exception leaves the estimator as before fit; the built-in EarlyStopping, PrintProgress,
LearningRateScheduler and Checkpoint."""

import inspect
import io
import os
import pickle

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.tree import DecisionTreeClassifier

import treeforge
from treeforge import (
    AdaBoostClassifier,
    AdaBoostRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from treeforge.callback import Checkpoint, EarlyStopping, LearningRateScheduler, PrintProgress, TrainingCallback

ESTIMATORS = {
    "gbdt regressor": lambda: HistGradientBoostingRegressor(max_iter=20, random_state=0),
    "gbdt classifier": lambda: HistGradientBoostingClassifier(max_iter=20, random_state=0),
    "forest regressor": lambda: RandomForestRegressor(n_estimators=40, n_jobs=1, random_state=0),
    "forest classifier": lambda: RandomForestClassifier(n_estimators=40, n_jobs=1, random_state=0),
    "adaboost regressor": lambda: AdaBoostRegressor(n_estimators=20, random_state=0),
    "adaboost classifier": lambda: AdaBoostClassifier(n_estimators=20, random_state=0),
    "adaboost of a user's trees": lambda: AdaBoostClassifier(DecisionTreeClassifier(max_depth=2), n_estimators=20,
                                                             random_state=0),
}
# Steps per after_iteration call: forests grow 16 trees per batch on one thread.
_STEP = {"forest regressor": 16, "forest classifier": 16}


def _data(name):
    if "classifier" in name or "user" in name:
        return make_classification(n_samples=400, n_features=6, random_state=0)
    return make_regression(n_samples=400, n_features=6, noise=5.0, random_state=0)


def _n_steps(estimator):
    if hasattr(estimator, "n_iter_"):
        return estimator.n_iter_
    return len(estimator.estimators_)


class Recorder(TrainingCallback):
    """Records the calls it gets; asks to stop once ``stop_at`` steps are done."""

    def __init__(self, stop_at=None):
        self.stop_at, self.calls = stop_at, []

    def before_training(self, estimator):
        self.calls.append("before")

    def after_iteration(self, estimator, progress):
        self.calls.append(progress.n_iter)
        return self.stop_at is not None and progress.n_iter >= self.stop_at

    def after_training(self, estimator):
        self.calls.append(("after", _n_steps(estimator)))


@pytest.mark.parametrize("name", ESTIMATORS)
def test_every_fit_takes_callbacks_keyword_only_with_none(name):
    parameter = inspect.signature(type(ESTIMATORS[name]()).fit).parameters["callbacks"]
    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY and parameter.default is None


@pytest.mark.parametrize("name", ESTIMATORS)
def test_protocol_order_and_every_step(name):
    X, y = _data(name)
    recorder = Recorder()
    estimator = ESTIMATORS[name]().fit(X, y, callbacks=[recorder])
    step, total = _STEP.get(name, 1), _n_steps(estimator)
    steps = list(range(step, total, step)) + [total]
    assert recorder.calls == ["before", *steps, ("after", total)]


@pytest.mark.parametrize("name", ESTIMATORS)
def test_a_callback_asking_to_stop_keeps_the_steps_done(name):
    X, y = _data(name)
    stop_at = 2 * _STEP.get(name, 1)
    recorder, other = Recorder(stop_at), Recorder()
    estimator = ESTIMATORS[name]().fit(X, y, callbacks=[recorder, other])
    assert _n_steps(estimator) == stop_at
    assert other.calls == recorder.calls  # every callback saw the last step
    assert recorder.calls[-1] == ("after", stop_at)
    full = ESTIMATORS[name]().fit(X, y)
    if hasattr(estimator, "staged_predict"):  # the steps done are the uninterrupted fit's first ones
        np.testing.assert_allclose(estimator.predict(X), list(full.staged_predict(X))[stop_at - 1], rtol=1e-12)
    else:  # a forest: its first trees
        np.testing.assert_allclose(estimator._model.predict_margin(X.astype(np.float64)),
                                   full._model.predict_margin(X.astype(np.float64), 1, 0, stop_at), rtol=1e-12)
    assert pickle.loads(pickle.dumps(estimator)).predict(X).shape == (len(y),)


@pytest.mark.parametrize("hook", ["before_training", "after_iteration", "after_training"])
@pytest.mark.parametrize("name", ESTIMATORS)
def test_an_exception_in_a_callback_leaves_the_estimator_as_before_fit(name, hook):
    X, y = _data(name)

    class Failing(TrainingCallback):
        pass

    def fail(*args):
        raise RuntimeError(f"{hook} failed")

    setattr(Failing, hook, fail)
    estimator = ESTIMATORS[name]()
    with pytest.raises(RuntimeError, match=f"{hook} failed"):
        estimator.fit(X, y, callbacks=[Failing()])
    assert not estimator.__sklearn_is_fitted__()
    estimator.fit(X[:200], y[:200])
    before, state = estimator.predict(X), dict(estimator.__dict__)
    with pytest.raises(RuntimeError, match=f"{hook} failed"):
        estimator.fit(X, y, callbacks=[Failing()])
    np.testing.assert_array_equal(estimator.predict(X), before)
    assert estimator.__dict__.keys() == state.keys() and all(estimator.__dict__[k] is v for k, v in state.items())


def test_the_single_callback_keeps_working_beside_callbacks():
    X, y = _data("gbdt regressor")
    seen, recorder = [], Recorder(stop_at=4)
    model = HistGradientBoostingRegressor(max_iter=10).fit(X, y, callback=lambda p: seen.append(p.n_iter),
                                                           callbacks=[recorder])
    assert seen == [1, 2, 3, 4] and model.n_iter_ == 4


@pytest.mark.parametrize("callbacks, error, message", [
    (Recorder(), TypeError, "callbacks must be a list of callback objects, got Recorder"),
    ([object()], TypeError, r"callbacks\[0\] \(object\) has none of the methods"),
    ([print], TypeError, "a plain function of the progress goes to callback="),
    ([LearningRateScheduler([0.1]), LearningRateScheduler([0.1])], ValueError, "more than one LearningRateScheduler"),
])
def test_bad_callbacks_are_refused_by_name(callbacks, error, message):
    X, y = _data("gbdt regressor")
    with pytest.raises(error, match=message):
        HistGradientBoostingRegressor(max_iter=2).fit(X, y, callbacks=callbacks)
    with pytest.raises(error, match=message):
        RandomForestRegressor(n_estimators=2).fit(X, y, callbacks=callbacks)


# ------------------------------------------------------------------------------------- EarlyStopping

def test_early_stopping_stops_after_rounds_without_improvement():
    X, y = make_regression(n_samples=1500, n_features=6, noise=30.0, random_state=1)
    stopper = EarlyStopping(rounds=4, metric="l1", data_name="held out")
    model = HistGradientBoostingRegressor(max_iter=500, learning_rate=0.6, random_state=0).fit(
        X[:1000], y[:1000], eval_set=[(X[1000:], y[1000:]), (X[:1000], y[:1000])], eval_names=["held out", "train"],
        eval_metric=["l2", "l1"], callbacks=[stopper])
    l1 = model.evals_result_["held out"]["l1"]
    best = int(np.argmin(l1))
    assert model.n_iter_ == best + 1 + 4 < 500
    assert stopper.best_iteration == model.best_iteration_ == best + 1 and stopper.best_score == l1[best]


def test_early_stopping_reads_the_metrics_direction():
    X, y = make_classification(n_samples=1500, flip_y=0.3, random_state=0)
    stopper = EarlyStopping(rounds=3)
    model = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.7, random_state=0).fit(
        X[:1000], y[:1000], eval_set=[(X[1000:], y[1000:])], eval_metric="auc", callbacks=[stopper])
    auc = model.evals_result_["valid_0"]["auc"]
    assert stopper.best_score == max(auc) and model.n_iter_ == int(np.argmax(auc)) + 1 + 3


def test_early_stopping_needs_evaluation_sets_of_boosting():
    X, y = _data("gbdt regressor")
    with pytest.raises(ValueError, match="EarlyStopping needs evaluation sets"):
        HistGradientBoostingRegressor(max_iter=3).fit(X, y, callbacks=[EarlyStopping(2)])
    with pytest.raises(ValueError, match=r"EarlyStopping\(metric='auc'\) is not among the metrics \['loss'\]"):
        HistGradientBoostingRegressor(max_iter=3).fit(X, y, eval_set=[(X, y)], callbacks=[EarlyStopping(2, "auc")])
    with pytest.raises(ValueError, match=r"EarlyStopping\(data_name='x'\)"):
        HistGradientBoostingRegressor(max_iter=3).fit(X, y, eval_set=[(X, y)], callbacks=[EarlyStopping(2, None, "x")])
    with pytest.raises(TypeError, match="EarlyStopping applies to the gradient boosting estimators"):
        RandomForestRegressor(n_estimators=3).fit(X, y, callbacks=[EarlyStopping(2)])
    with pytest.raises(ValueError, match="rounds must be an integer >= 1"):
        EarlyStopping(0)


# ------------------------------------------------------------------------------------- PrintProgress

class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_prints_plain_lines_off_a_terminal():
    X, y = _data("gbdt regressor")
    out = io.StringIO()
    HistGradientBoostingRegressor(max_iter=6).fit(X, y, eval_set=[(X, y)], eval_metric="l2",
                                                  callbacks=[PrintProgress(period=2, file=out)])
    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == ["[2/6]", "[4/6]", "[6/6]"]
    assert "valid_0's l2:" in lines[0]
    out = io.StringIO()
    RandomForestRegressor(n_estimators=20, n_jobs=1).fit(X, y, callbacks=[PrintProgress(file=out)])
    assert out.getvalue().splitlines() == ["[16/20]", "[20/20]"]
    out = io.StringIO()
    HistGradientBoostingRegressor(max_iter=50).fit(X, y, callbacks=[PrintProgress(period=10, file=out), Recorder(13)])
    assert out.getvalue().splitlines() == ["[10/50]", "[13/50]"]  # the step a callback stopped at


def test_progress_draws_a_tqdm_bar_on_a_terminal():
    pytest.importorskip("tqdm")
    X, y = _data("gbdt regressor")
    terminal = _Terminal()
    HistGradientBoostingRegressor(max_iter=5).fit(X, y, callbacks=[PrintProgress(file=terminal)])
    assert "5/5" in terminal.getvalue() and "HistGradientBoostingRegressor" in terminal.getvalue()


# ---------------------------------------------------------------------------- LearningRateScheduler

def _arrays(model):
    return model._model.to_arrays()


def test_a_schedule_trains_the_model_of_fits_continued_at_each_rate():
    X, y = _data("gbdt regressor")
    params = dict(random_state=0, early_stopping=False, subsample=0.7)
    scheduled = HistGradientBoostingRegressor(max_iter=9, **params).fit(
        X, y, callbacks=[LearningRateScheduler([0.5] * 4 + [0.1] * 5)])
    first = HistGradientBoostingRegressor(max_iter=4, learning_rate=0.5, **params).fit(X, y)
    second = HistGradientBoostingRegressor(max_iter=5, learning_rate=0.1, **params).fit(X, y, init_model=first)
    for key, value in _arrays(second).items():
        np.testing.assert_array_equal(_arrays(scheduled)[key], value, err_msg=key)
    constant = HistGradientBoostingRegressor(max_iter=6, learning_rate=0.2, **params)
    plain = constant.fit(X, y).predict(X)
    scheduled = constant.fit(X, y, callbacks=[LearningRateScheduler(lambda i: 0.2)])
    np.testing.assert_array_equal(scheduled.predict(X), plain)


def test_a_schedule_with_validation_and_eval_sets_keeps_scoring_the_new_booster():
    X, y = _data("gbdt regressor")
    model = HistGradientBoostingRegressor(max_iter=8, early_stopping=True, n_iter_no_change=50, random_state=0).fit(
        X, y, eval_set=[(X[:100], y[:100])], eval_metric="l2",
        callbacks=[LearningRateScheduler(lambda i: 0.3 / (1 + i))])
    for value, prediction in zip(model.evals_result_["valid_0"]["l2"], model.staged_predict(X[:100])):
        assert value == pytest.approx(np.mean((prediction - y[:100]) ** 2), rel=1e-12)


@pytest.mark.parametrize("schedule, error, message", [
    ([0.1, 0.1], ValueError, "LearningRateScheduler's list has 2 rates; the fit reached iteration 2"),
    (lambda i: -1.0, ValueError, "LearningRateScheduler gave -1.0 for iteration 0"),
    (lambda i: "fast", TypeError, "gave 'fast' for iteration 0, not a number"),
])
def test_bad_schedules_are_refused_by_name(schedule, error, message):
    X, y = _data("gbdt regressor")
    with pytest.raises(error, match=message):
        HistGradientBoostingRegressor(max_iter=5).fit(X, y, callbacks=[LearningRateScheduler(schedule)])
    with pytest.raises(TypeError, match="schedule must be a list of rates or a callable"):
        LearningRateScheduler(0.1)
    with pytest.raises(ValueError, match="LearningRateScheduler applies to the gradient boosting estimators"):
        RandomForestRegressor(n_estimators=2).fit(X, y, callbacks=[LearningRateScheduler([0.1])])


# ------------------------------------------------------------------------------------- Checkpoint

@pytest.mark.parametrize("name", ["gbdt regressor", "gbdt classifier", "forest classifier", "adaboost regressor"])
def test_checkpoints_are_loadable_models_of_the_steps_done(tmp_path, name):
    X, y = _data(name)
    checkpoint = Checkpoint(tmp_path / "model_{n_iter}.json", every=2 * _STEP.get(name, 1))
    estimator = ESTIMATORS[name]().fit(X, y, callbacks=[checkpoint])
    n = _n_steps(estimator)
    written = [n_iter for _, n_iter in checkpoint.written]
    assert written == list(range(2 * _STEP.get(name, 1), n + 1, 2 * _STEP.get(name, 1))) + (
        [] if n % (2 * _STEP.get(name, 1)) == 0 else [n])
    final = treeforge.load_model(tmp_path / f"model_{n}.json")
    np.testing.assert_array_equal(final.predict(X), estimator.predict(X))
    assert all(not entry.name.startswith(".") for entry in os.scandir(tmp_path))  # no temporary file left


def test_a_checkpoint_is_replaced_whole_and_continues_into_the_uninterrupted_fit(tmp_path):
    X, y = _data("gbdt regressor")
    path = tmp_path / "latest.json"

    class Crash(TrainingCallback):
        def after_iteration(self, estimator, progress):
            if progress.n_iter == 7:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        HistGradientBoostingRegressor(max_iter=12, random_state=0).fit(X, y, callbacks=[Checkpoint(path, 3), Crash()])
    saved = treeforge.load_model(path)
    assert saved.n_iter_ == 6
    resumed = HistGradientBoostingRegressor(max_iter=6, random_state=0).fit(X, y, init_model=str(path))
    full = HistGradientBoostingRegressor(max_iter=12, random_state=0).fit(X, y)
    np.testing.assert_array_equal(resumed.predict(X), full.predict(X))
    with pytest.raises(ValueError, match="every must be an integer >= 1"):
        Checkpoint(path, every=0)
