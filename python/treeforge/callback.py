"""Training callbacks: what a fit tells a callback, the protocol of ``fit(..., callbacks=[...])``,
and the built-in callbacks.

Every estimator's ``fit`` takes ``callbacks``, a list of objects with any of three methods:

- ``before_training(estimator)``: once, after the data is checked and binned;
- ``after_iteration(estimator, progress) -> bool``: after each step (a boosting iteration, a
  forest's batch of trees, an AdaBoost round), with a :class:`TrainingProgress`
  (:class:`BoostingProgress` for gradient boosting); True asks to stop: the fit ends there and the
  estimator is fitted with the steps done so far (``n_iter_``, the trees, ...). Every callback is
  called before the stop;
- ``after_training(estimator)``: once, with the fitted estimator, also after a stop.

``estimator`` is the estimator being fitted (a copy that ``fit`` publishes whole when it ends, see
the estimators' ``fit``). An exception raised by a callback ends the fit and is re-raised; the
estimator is then left as it was before ``fit``. Subclassing :class:`TrainingCallback` is optional.

The gradient boosting estimators also take ``callback=f``, one callable called as ``f(progress)``
after each iteration (its value is ignored; the command line's progress bar and checkpoints are such
callables).

Examples
--------
>>> import numpy as np
>>> from treeforge import HistGradientBoostingRegressor
>>> X, y = np.arange(200.0).reshape(-1, 1), np.arange(200.0) % 7
>>> seen = []
>>> model = HistGradientBoostingRegressor(max_iter=3).fit(X, y, callback=lambda p: seen.append(p.n_iter))
>>> seen
[1, 2, 3]
>>> class StopAt:
...     def after_iteration(self, estimator, progress):
...         return progress.n_iter == 2
>>> HistGradientBoostingRegressor(max_iter=10).fit(X, y, callbacks=[StopAt()]).n_iter_
2
"""

import copy
import sys

import numpy as np

__all__ = ["BoostingProgress", "Checkpoint", "EarlyStopping", "LearningRateScheduler", "PrintProgress",
           "TrainingCallback", "TrainingProgress"]


class TrainingProgress:
    """What a callback sees after each step: ``n_iter`` (steps in the model so far: boosting
    iterations, forest trees or AdaBoost rounds), ``max_iter`` (the most the fit will have),
    ``is_last`` (the last step the fit planned) and ``snapshot()``, a fitted copy of the estimator
    with the model so far (a checkpoint)."""

    def __init__(self, n_iter, max_iter, is_last, snapshot):
        self.n_iter, self.max_iter, self.is_last = n_iter, max_iter, is_last
        self._snapshot = snapshot

    def snapshot(self):
        """Fitted copy of the estimator with the model so far."""
        return self._snapshot()


class BoostingProgress(TrainingProgress):
    """What a gradient boosting callback sees after each iteration: ``n_iter`` (iterations in the
    model so far), ``max_iter``, ``is_last`` (max_iter reached or early stopping), the
    ``train_score`` and ``validation_score`` lists recorded so far (empty without early stopping;
    ``train_score`` also beside a validation set under ``fit(..., record_train_score=False)``),
    ``evals_result`` (``evals_result_`` so far: ``{set: {metric: [values]}}``, empty without
    ``eval_set``) and ``higher_is_better`` (``{metric: bool}`` of the recorded metrics)."""

    def __init__(self, estimator, booster, is_last, max_iter=None):
        super().__init__(booster.n_iter, estimator.max_iter if max_iter is None else max_iter, is_last, None)
        self._estimator, self._booster = estimator, booster
        self.train_score, self.validation_score = estimator.train_score_, estimator.validation_score_
        self.evals_result = getattr(estimator, "evals_result_", {})
        self.higher_is_better = getattr(estimator, "_eval_directions", {})

    def snapshot(self):
        """Fitted copy of the estimator with the model so far: a checkpoint, which a
        ``warm_start=True`` fit on the same data continues into the uninterrupted fit's trees."""
        estimator = copy.copy(self._estimator)
        estimator._model = self._booster.model()
        estimator.n_iter_ = estimator._model.n_iter
        estimator.train_score_ = np.asarray(self.train_score, dtype=np.float64)
        estimator.validation_score_ = np.asarray(self.validation_score, dtype=np.float64)
        return estimator


class TrainingCallback:
    """A callback that does nothing: override any of its three methods (see the module's protocol)."""

    def before_training(self, estimator):
        """Called once before the first step."""

    def after_iteration(self, estimator, progress):
        """Called after each step; return True to stop training there."""
        return False

    def after_training(self, estimator):
        """Called once with the fitted estimator."""


class EarlyStopping(TrainingCallback):
    """Stop a gradient boosting fit when a metric of an evaluation set has not improved for
    ``rounds`` iterations (LightGBM's ``early_stopping`` callback; needs ``fit(eval_set=...)``).

    Parameters
    ----------
    rounds : int
        Iterations without an improvement after which the fit stops.
    metric : str or None, default=None
        The metric of ``evals_result_`` to watch; None: the first of ``eval_metric``.
    data_name : str or None, default=None
        The evaluation set to watch; None: the last one.
    min_delta : float, default=0.0
        A value counts as an improvement when it beats the best so far by more than this.

    After the fit, ``best_iteration`` and ``best_score`` hold the best iteration (iterations in
    the model then, 1-based) and its value, and the estimator's ``best_iteration_`` is set to it.
    The model keeps the iterations after the best one (as scikit-learn's early stopping):
    ``predict(X, iteration_range=(0, best_iteration_))`` uses the best model.
    """

    def __init__(self, rounds, metric=None, data_name=None, min_delta=0.0):
        if not isinstance(rounds, (int, np.integer)) or rounds < 1:
            raise ValueError(f"rounds must be an integer >= 1, got {rounds!r}.")
        if min_delta < 0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta!r}.")
        self.rounds, self.metric, self.data_name, self.min_delta = int(rounds), metric, data_name, float(min_delta)
        self.best_iteration = self.best_score = None

    def before_training(self, estimator):
        self.best_iteration = self.best_score = None

    def after_iteration(self, estimator, progress):
        values, higher_is_better = self._watched(progress)
        value = values[-1]
        better = self.best_score is None or (
            value > self.best_score + self.min_delta if higher_is_better else value < self.best_score - self.min_delta)
        if better:
            self.best_score, self.best_iteration = value, progress.n_iter
        return progress.n_iter - self.best_iteration >= self.rounds

    def after_training(self, estimator):
        if self.best_iteration is not None:
            estimator.best_iteration_ = self.best_iteration

    def _watched(self, progress):
        evals = getattr(progress, "evals_result", None)
        if evals is None:
            raise TypeError("EarlyStopping applies to the gradient boosting estimators.")
        if not evals:
            raise ValueError("EarlyStopping needs evaluation sets: pass fit(eval_set=[(X, y), ...]).")
        name = list(evals)[-1] if self.data_name is None else self.data_name
        if name not in evals:
            raise ValueError(f"EarlyStopping(data_name={name!r}) is not among the evaluation sets {list(evals)}.")
        metric = next(iter(evals[name])) if self.metric is None else self.metric
        if metric not in evals[name]:
            raise ValueError(f"EarlyStopping(metric={metric!r}) is not among the metrics {list(evals[name])}.")
        return evals[name][metric], progress.higher_is_better.get(metric, False)


class PrintProgress(TrainingCallback):
    """Shows training progress on ``file`` (default: standard error): a ``tqdm`` bar when the file
    is a terminal and tqdm is installed, else a line every ``period`` steps and after the last one
    (also when a callback stopped the fit), with the last values of ``evals_result_`` (gradient
    boosting)."""

    def __init__(self, period=1, file=None):
        if not isinstance(period, (int, np.integer)) or period < 1:
            raise ValueError(f"period must be an integer >= 1, got {period!r}.")
        self.period, self.file = int(period), file
        self._bar, self._unprinted = None, None

    def before_training(self, estimator):
        file = sys.stderr if self.file is None else self.file
        self._bar, self._unprinted = None, None
        if getattr(file, "isatty", lambda: False)():
            try:
                from tqdm.auto import tqdm
            except ImportError:
                return
            self._bar = tqdm(file=file, unit="step", desc=type(estimator).__name__)

    def after_iteration(self, estimator, progress):
        line = _evals_line(getattr(progress, "evals_result", {}))
        if self._bar is not None:
            self._bar.total = progress.max_iter
            self._bar.update(progress.n_iter - self._bar.n)
            if line:
                self._bar.set_postfix_str(line, refresh=False)
        else:
            self._unprinted = f"[{progress.n_iter}/{progress.max_iter}]" + (f" {line}" if line else "")
            if progress.n_iter % self.period == 0 or progress.is_last:
                self._print_line()
        return False

    def after_training(self, estimator):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self._unprinted is not None:
            self._print_line()

    def _print_line(self):
        print(self._unprinted, file=sys.stderr if self.file is None else self.file, flush=True)
        self._unprinted = None


def _evals_line(evals):
    return "  ".join(f"{name}'s {metric}: {values[-1]:.6g}"
                     for name, metrics in evals.items() for metric, values in metrics.items() if values)


class LearningRateScheduler(TrainingCallback):
    """Sets the learning rate of each gradient boosting iteration (XGBoost's
    ``LearningRateScheduler``, LightGBM's ``reset_parameter(learning_rate=...)``).

    Parameters
    ----------
    schedule : list of float or callable
        ``schedule[i]`` or ``schedule(i)``: the rate of the fit's iteration i (0 for its first); a
        list needs an entry per iteration the fit may run.

    The rate is set on the core's booster before each iteration whose rate differs from the last;
    it scales that iteration's trees, as ``learning_rate`` does. The estimator's ``learning_rate``
    parameter is left as it is (it is the rate of fits without a schedule).
    """

    def __init__(self, schedule):
        if not (callable(schedule) or isinstance(schedule, (list, tuple))):
            raise TypeError(f"schedule must be a list of rates or a callable of the iteration, got {schedule!r}.")
        self.schedule = schedule

    def learning_rate(self, iteration):
        """The rate of the fit's iteration ``iteration`` (0-based); ValueError for no positive finite rate."""
        if callable(self.schedule):
            rate = self.schedule(iteration)
        elif iteration < len(self.schedule):
            rate = self.schedule[iteration]
        else:
            raise ValueError(f"LearningRateScheduler's list has {len(self.schedule)} rates; the fit reached "
                             f"iteration {iteration}.")
        try:
            rate = float(rate)
        except (TypeError, ValueError):
            raise TypeError(f"LearningRateScheduler gave {rate!r} for iteration {iteration}, not a number.") from None
        if not np.isfinite(rate) or rate <= 0:
            raise ValueError(f"LearningRateScheduler gave {rate!r} for iteration {iteration}; rates are > 0.")
        return rate


class Checkpoint(TrainingCallback):
    """Writes the model so far to a model file every ``every`` steps and at the end.

    Parameters
    ----------
    path : str or os.PathLike
        The file; it may hold ``{n_iter}``, replaced by the steps in the model (one file per
        checkpoint), else each checkpoint replaces the last. Written atomically (a reader sees the
        previous file or the new one, whole) by ``save_model``; ``treeforge.load_model`` reads it and
        a ``warm_start`` fit (or ``fit(init_model=path)``) continues it.
    every : int, default=10
        Steps between checkpoints.
    """

    def __init__(self, path, every=10):
        if not isinstance(every, (int, np.integer)) or every < 1:
            raise ValueError(f"every must be an integer >= 1, got {every!r}.")
        self.path, self.every = path, int(every)
        self.written = []

    def before_training(self, estimator):
        self.written = []

    def after_iteration(self, estimator, progress):
        if progress.n_iter % self.every == 0 or progress.is_last:
            self._write(progress.snapshot())
        return False

    def after_training(self, estimator):
        self._write(estimator)

    def _write(self, estimator):
        n_iter = getattr(estimator, "n_iter_", None)
        if n_iter is None:
            n_iter = estimator._model.n_trees if getattr(estimator, "_model", None) is not None else len(
                estimator.estimators_)
        path = str(self.path).replace("{n_iter}", str(n_iter))
        if self.written and self.written[-1] == (path, n_iter):
            return  # the last step's checkpoint is already this model
        estimator.save_model(path)
        self.written.append((path, n_iter))
