"""The callbacks of a fit (``fit(..., callbacks=[...])``, see ``treeforge.callback``), checked and run
around its steps: boosting iterations, forest batches of trees, AdaBoost rounds."""

import copy
import time

from ..callback import TrainingProgress

_HOOKS = ("before_training", "after_iteration", "after_training")


class Callbacks:
    """A fit's callbacks (and the boosting estimators' single ``callback=`` callable, called first)."""

    def __init__(self, callbacks, callback=None):
        if callbacks is None:
            callbacks = []
        if not isinstance(callbacks, (list, tuple)):
            raise TypeError(f"callbacks must be a list of callback objects, got {type(callbacks).__name__}.")
        for i, item in enumerate(callbacks):
            if not any(callable(getattr(item, hook, None)) for hook in _HOOKS):
                hint = " (a plain function of the progress goes to callback=)" if callable(item) else ""
                raise TypeError(f"callbacks[{i}] ({type(item).__name__}) has none of the methods "
                                f"before_training, after_iteration, after_training{hint}.")
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable, got {type(callback).__name__}.")
        schedulers = [item for item in callbacks if callable(getattr(item, "learning_rate", None))]
        if len(schedulers) > 1:
            raise ValueError("callbacks holds more than one LearningRateScheduler.")
        self.items, self.callback = list(callbacks), callback
        self.scheduler = schedulers[0] if schedulers else None

    def __bool__(self):
        return bool(self.items) or self.callback is not None

    def before_training(self, estimator):
        for item in self.items:
            hook = getattr(item, "before_training", None)
            if hook is not None:
                hook(estimator)

    def after_iteration(self, estimator, progress):
        """Run every callback on this step; True when one of them asks to stop."""
        if self.callback is not None:
            self.callback(progress)
        stop = False
        for item in self.items:
            hook = getattr(item, "after_iteration", None)
            if hook is not None and hook(estimator, progress):
                stop = True
        return stop

    def after_training(self, estimator):
        for item in self.items:
            hook = getattr(item, "after_training", None)
            if hook is not None:
                hook(estimator)


def refuse_learning_rate_schedule(callbacks, estimator):
    """ValueError for a LearningRateScheduler given to an estimator other than gradient boosting."""
    if callbacks.scheduler is not None:
        raise ValueError(f"LearningRateScheduler applies to the gradient boosting estimators, not "
                         f"{type(estimator).__name__}.")


def copy_with(estimator, **attributes):
    """A shallow copy of ``estimator`` with ``attributes`` set: a snapshot of a fit in progress."""
    snapshot = copy.copy(estimator)
    for name, value in attributes.items():
        setattr(snapshot, name, value)
    return snapshot


def run_forest_batches(forest, trainer, batch, callbacks):
    """Grow the forest's trees in batches of ``batch`` up to ``n_estimators``, the callbacks after each
    batch; a callback asking to stop keeps the trees grown so far."""
    while trainer.n_trees < forest.n_estimators:
        tic = time.perf_counter()
        n_new = min(batch, forest.n_estimators - trainer.n_trees)
        trainer.grow(n_new)  # a LongCall: Ctrl-C raises KeyboardInterrupt mid-tree
        if forest.verbose >= 2:
            print(f"[{trainer.n_trees}/{forest.n_estimators}] {n_new} trees in {time.perf_counter() - tic:.3f}s")
        if callbacks:
            progress = TrainingProgress(trainer.n_trees, forest.n_estimators, trainer.n_trees == forest.n_estimators,
                                        lambda: copy_with(forest, _model=trainer.model()))
            if callbacks.after_iteration(forest, progress):
                return


def run_adaboost_rounds(ensemble, trainer, callbacks):
    """Every AdaBoost round in C++ with the GIL released. Without callbacks in calls of about 50 ms
    (each a LongCall, which Ctrl-C stops mid-round; between calls Python's own checks run too);
    with callbacks one round per call, the callbacks after each."""
    rounds = 1
    while True:
        tic = time.perf_counter()
        going_on = trainer.fit_rounds(1 if callbacks else rounds)
        if callbacks and trainer.n_trees > 0:
            progress = TrainingProgress(trainer.n_trees, ensemble.n_estimators, not going_on,
                                        lambda: _adaboost_snapshot(ensemble, trainer))
            if callbacks.after_iteration(ensemble, progress):
                return
        if not going_on:
            return
        seconds = max(time.perf_counter() - tic, 1e-6)
        rounds = max(1, min(2 * rounds, int(rounds * 0.05 / seconds)))


def _adaboost_snapshot(ensemble, trainer):
    return copy_with(ensemble, _model=trainer.model(), estimator_weights_=trainer.estimator_weights,
                     estimator_errors_=trainer.estimator_errors)


def user_round_progress(ensemble, n_done, is_last):
    """The progress after round ``n_done`` of AdaBoost around a user's estimator."""
    return TrainingProgress(n_done, ensemble.n_estimators, is_last, lambda: copy_with(
        ensemble, estimators_=list(ensemble.estimators_), estimator_weights_=ensemble.estimator_weights_.copy(),
        estimator_errors_=ensemble.estimator_errors_.copy()))
