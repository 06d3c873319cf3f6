"""Monte Carlo prediction and control on array environments, with the episodes played in Numba.

Episodes run in parallel, each on its own random stream derived from ``(random_state, episode
index)``, so every result is identical whatever the number of threads (``numba.set_num_threads``).
A policy is an array of action probabilities of shape (n_states, n_actions). Numba is imported on
the first call that plays episodes, so ``import treeforge.montecarlo`` costs only NumPy. The modules
here are private: ``_algorithms`` (prediction, control and their results), ``_environments``
(:class:`TabularMDP`, :class:`GridWorld`, :class:`Blackjack` as arrays) and ``_kernels`` (Numba).

Episodes longer than ``max_steps`` are cut; the returns of a cut episode are kept for its first
half only, which the second half completes (see ``_kernels.recorded_steps``). Choose
``max_steps`` so that ``discount ** (max_steps / 2)`` is negligible in continuing tasks.

Examples
--------
>>> import numpy as np
>>> from treeforge.montecarlo import GridWorld, mc_prediction
>>> world = GridWorld(shape=(3, 3), target=(2, 2), forbidden=[(1, 1)])
>>> uniform = np.full((world.n_states, world.n_actions), 1 / world.n_actions)
>>> result = mc_prediction(world, uniform, n_episodes=2000, max_steps=200, random_state=0)
>>> result.state_values.shape
(9,)
"""

from ._algorithms import (
    ControlResult,
    PredictionResult,
    ReturnEstimate,
    estimate_return,
    fit_value_function,
    greedy_policy,
    mc_control,
    mc_off_policy_prediction,
    mc_prediction,
)
from ._environments import Blackjack, GridWorld, TabularMDP

__all__ = [
    "Blackjack",
    "ControlResult",
    "GridWorld",
    "PredictionResult",
    "ReturnEstimate",
    "TabularMDP",
    "estimate_return",
    "fit_value_function",
    "greedy_policy",
    "mc_control",
    "mc_off_policy_prediction",
    "mc_prediction",
]
