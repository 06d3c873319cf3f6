"""Training callbacks: what a ``fit(..., callback=...)`` of the gradient-boosting estimators sees after each iteration.

A callback is any callable taking one :class:`BoostingProgress`; an exception it raises aborts the
fit, which then leaves the estimator as it was. Until the fit ends the estimator keeps its previous
fit (the new one is published whole at the end): ``snapshot()`` gives the fit in progress. The command line's progress bar and checkpoints
(``treeforge.cli``) are such callables.

Examples
--------
>>> import numpy as np
>>> from treeforge import HistGradientBoostingRegressor
>>> X, y = np.arange(200.0).reshape(-1, 1), np.arange(200.0) % 7
>>> seen = []
>>> model = HistGradientBoostingRegressor(max_iter=3).fit(X, y, callback=lambda p: seen.append(p.n_iter))
>>> seen
[1, 2, 3]
"""

import copy

import numpy as np


class BoostingProgress:
    """What a ``fit`` callback sees after each iteration: ``n_iter`` (iterations in the model so
    far), ``max_iter``, ``is_last`` (max_iter reached or early stopping) and the ``train_score``
    and ``validation_score`` lists recorded so far (empty without early stopping; ``train_score``
    also beside a validation set under ``fit(..., record_train_score=False)``)."""

    def __init__(self, estimator, booster, is_last, max_iter=None):
        self._estimator, self._booster = estimator, booster
        self.n_iter, self.is_last = booster.n_iter, is_last
        self.max_iter = estimator.max_iter if max_iter is None else max_iter
        self.train_score, self.validation_score = estimator.train_score_, estimator.validation_score_
        self.evals_result = getattr(estimator, "evals_result_", {})

    def snapshot(self):
        """Fitted copy of the estimator with the model so far: a checkpoint, which a
        ``warm_start=True`` fit on the same data continues into the uninterrupted fit's trees."""
        estimator = copy.copy(self._estimator)
        estimator._model = self._booster.model()
        estimator.n_iter_ = estimator._model.n_iter
        estimator.train_score_ = np.asarray(self.train_score, dtype=np.float64)
        estimator.validation_score_ = np.asarray(self.validation_score, dtype=np.float64)
        return estimator
