"""AdaBoost's rounds around a user's own estimator, in Python, by scikit-learn's rules (the default trees boost in C++)."""

import warnings

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state

from ._training_steps import user_round_progress


# Seeds handed to a user's estimators, as scikit-learn's _set_random_states draws them.
_MAX_INT = np.iinfo(np.int32).max
OVERFLOW_WARNING = (
    "Sample weights have reached infinite values, at iteration {}, causing overflow. Iterations "
    "stopped. Try lowering the learning rate."
)


def fit_user_rounds(ensemble, X, y, sample_weight, callbacks):
    """scikit-learn's BaseWeightBoosting.fit loop; each round is ``ensemble._boost``, the callbacks
    after it (one asking to stop ends the rounds there).

    X is passed to the estimator as given (any dtype and dimensionality); only its rows are indexed.
    """
    ensemble.estimators_ = []
    ensemble.estimator_weights_ = np.zeros(ensemble.n_estimators, dtype=np.float64)
    ensemble.estimator_errors_ = np.ones(ensemble.n_estimators, dtype=np.float64)
    random_state = check_random_state(ensemble._seed)
    epsilon = np.finfo(sample_weight.dtype).eps
    zero_weight_mask = sample_weight == 0.0
    for iboost in range(ensemble.n_estimators):
        sample_weight = np.clip(sample_weight, a_min=epsilon, a_max=None)
        sample_weight[zero_weight_mask] = 0.0
        sample_weight, estimator_weight, estimator_error = ensemble._boost(iboost, X, y, sample_weight, random_state)
        if sample_weight is None:
            break
        ensemble.estimator_weights_[iboost] = estimator_weight
        ensemble.estimator_errors_[iboost] = estimator_error
        if callbacks and callbacks.after_iteration(ensemble, user_round_progress(
                ensemble, iboost + 1, estimator_error == 0 or iboost + 1 == ensemble.n_estimators)):
            break
        if estimator_error == 0:
            break
        total = np.sum(sample_weight)
        if not np.isfinite(total):
            warnings.warn(OVERFLOW_WARNING.format(iboost), stacklevel=4)
            break
        if total <= 0:
            break
        if iboost < ensemble.n_estimators - 1:
            sample_weight /= total


def make_estimator(ensemble, random_state):
    """A fresh clone of the user's estimator with every ``*random_state`` parameter seeded, appended
    to ``estimators_``."""
    estimator = clone(ensemble.estimator)
    seeds = {name: random_state.randint(_MAX_INT) for name in sorted(estimator.get_params(deep=True))
             if name == "random_state" or name.endswith("__random_state")}
    if seeds:
        estimator.set_params(**seeds)
    ensemble.estimators_.append(estimator)
    return estimator


def resampled_rows(sample_weight, random_state):
    """Indices of n rows drawn from the weights with replacement, in draw order.

    scikit-learn's draw (``random_state.choice`` with ``p=sample_weight``, as its
    ``AdaBoostRegressor._boost``), so that a user's estimator is boosted on the very rows
    scikit-learn gives it for the same ``random_state``. ``sample_weight`` sums to 1 (the rounds
    normalise it).
    """
    n = sample_weight.shape[0]
    return random_state.choice(np.arange(n), size=n, replace=True, p=sample_weight)
