"""The boosting loop's bookkeeping: per-iteration scores and the early-stopping rule."""

import contextlib
from typing import NamedTuple, Optional

import numpy as np
from sklearn.base import is_classifier
from sklearn.metrics import check_scoring
from sklearn.utils import resample

# Scorers other than 'loss' are evaluated on at most this many training rows (scikit-learn's rule).
SCORER_MAX_TRAIN_ROWS = 10_000


class DataPart(NamedTuple):
    """The rows of one side of the train/validation split."""

    X: np.ndarray  # float32 or float64, C-contiguous: (n_samples, n_features), or all of X when `rows` is set
    y: np.ndarray  # (n_samples,), float64: the core's targets (class indices for classifiers)
    labels: np.ndarray  # (n_samples,): the targets as given, as scorers expect them
    weight: Optional[np.ndarray]  # (n_samples,), float64, or None
    rows: Optional[np.ndarray] = None  # (n_samples,): the rows of X this part holds, in order; None: all
    offset: Optional[np.ndarray] = None  # (n_samples, n_outputs), float64: init_score, or None

    @property
    def n_samples(self):
        return self.y.shape[0]

    def take(self, idx, copy_X=True):
        """The part's rows ``idx`` (an index array or a slice). Without ``copy_X`` their X is not
        copied: the part keeps this X and lists the rows in ``rows``."""
        rows = idx if self.rows is None else self.rows[idx]
        weight = None if self.weight is None else self.weight[idx]
        offset = None if self.offset is None else self.offset[idx]
        if copy_X:
            return DataPart(self.X[rows], self.y[idx], self.labels[idx], weight, offset=offset)
        return DataPart(self.X, self.y[idx], self.labels[idx], weight, rows, offset)


class ScoreRecorder:
    """Appends the train/validation scores after each iteration and applies the stopping rule.

    With ``scoring='loss'`` the scores are the negated core losses. Otherwise the scorer is
    called on the estimator, whose margins are served from the booster while it runs: the
    booster's own margins for predefined scorers, a snapshot of the model for callables.

    The training rows are scored when they decide stopping (no validation set) or when
    ``record_train_score`` asks for it; a warm start continuing a fit that recorded validation
    scores but no training scores records none, so that the two lists stay aligned.
    """

    def __init__(self, estimator, booster, train, valid, n_threads, record_train_score=True):
        self.estimator = estimator
        self.booster = booster
        self.has_validation = valid is not None
        self.n_threads = n_threads
        skipped_before = len(estimator.validation_score_) > len(estimator.train_score_) == 0
        self.records_train = not self.has_validation or (record_train_score and not skipped_before)
        self.scorer = None
        # A score the estimator computes from a part's margins itself (the ranker's NDCG and MAP).
        self.margin_score = estimator._margin_score() if hasattr(estimator, "_margin_score") else None
        if estimator.scoring == "loss" or self.margin_score is not None:
            return
        self.scorer = check_scoring(estimator, estimator.scoring)
        self.uses_margins = not callable(estimator.scoring)
        n_train = train.n_samples
        if not self.records_train:
            self.small_idx = slice(0)
        elif n_train > SCORER_MAX_TRAIN_ROWS:
            self.small_idx = resample(
                np.arange(n_train), n_samples=SCORER_MAX_TRAIN_ROWS, replace=False,
                random_state=estimator._seed, stratify=train.labels if is_classifier(estimator) else None,
            )
        else:
            self.small_idx = slice(None)
        self.train = train.take(self.small_idx)
        self.valid = valid

    def start(self):
        """Score the model before the fit's first iteration (the reference of the stopping rule)."""
        self.record()

    def record(self):
        """Score the current model; True when training should stop."""
        estimator, booster = self.estimator, self.booster
        if self.margin_score is not None:
            if self.records_train:
                estimator.train_score_.append(self.margin_score("train", booster.train_margin()))
            if self.has_validation:
                estimator.validation_score_.append(self.margin_score("valid", booster.valid_margin()))
        elif self.scorer is None:
            if self.records_train:
                estimator.train_score_.append(-booster.train_loss())
            if self.has_validation:
                estimator.validation_score_.append(-booster.valid_loss())
        else:
            if self.uses_margins:
                train_margin = booster.train_margin()[self.small_idx] if self.records_train else None
                valid_margin = booster.valid_margin() if self.has_validation else None
                train_source, valid_source = (lambda X: train_margin), (lambda X: valid_margin)
            else:  # a callable may predict anything: serve it a snapshot of the model
                model = booster.model()
                train_source, valid_source = self._snapshot_source(model, self.train), self._snapshot_source(
                    model, self.valid)
            if self.records_train:
                estimator.train_score_.append(self._score(self.train, train_source))
            if self.has_validation:
                estimator.validation_score_.append(self._score(self.valid, valid_source))
        scores = estimator.validation_score_ if self.has_validation else estimator.train_score_
        return no_recent_improvement(scores, estimator.n_iter_no_change, estimator.tol)

    def _snapshot_source(self, model, part):
        """Margins of a snapshot of the model, plus the part's offsets (init_score) as the booster's have them."""
        def margin_of(X):
            margin = model.predict_margin(np.ascontiguousarray(X), self.n_threads)
            offset = None if part is None else part.offset
            return margin if offset is None or offset.shape != margin.shape else margin + offset
        return margin_of

    def _score(self, part, margin_of):
        with _margins_served_by(self.estimator, margin_of):
            if part.weight is None:
                return float(self.scorer(self.estimator, part.X, part.labels))
            return float(self.scorer(self.estimator, part.X, part.labels, sample_weight=part.weight))


@contextlib.contextmanager
def _margins_served_by(estimator, margin_of):
    """Make the estimator's predictions come from ``margin_of(X)`` while scoring inside fit."""
    estimator._margin_override = margin_of
    try:
        yield
    finally:
        del estimator._margin_override


def iteration_message(estimator, iteration, seconds, has_validation):
    """The line ``verbose=2`` prints after an iteration: its trees, scores recorded and time."""
    message = f"[{iteration + 1}/{estimator.max_iter}] {estimator.n_trees_per_iteration_} tree(s), "
    if estimator.do_early_stopping_:
        sign, name = (-1, "loss") if estimator.scoring == "loss" else (1, "score")
        if len(estimator.train_score_):
            message += f"train {name}: {sign * estimator.train_score_[-1]:.5f}, "
        if has_validation:
            message += f"val {name}: {sign * estimator.validation_score_[-1]:.5f}, "
    return message + f"in {seconds:0.3f}s"


def no_recent_improvement(scores, n_iter_no_change, tol):
    """True when none of the last ``n_iter_no_change`` scores beats the one before them by ``tol``."""
    if len(scores) <= n_iter_no_change:
        return False
    reference = scores[-n_iter_no_change - 1]
    return max(scores[-n_iter_no_change:]) <= reference + tol
