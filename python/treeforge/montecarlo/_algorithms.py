"""Monte Carlo prediction and control: the public functions, their result types and argument checks."""

import numbers
from dataclasses import dataclass

import numpy as np

from ._environments import _cumulative_rows, _Environment

_START_INITIAL, _START_EXPLORING, _START_FIXED = 0, 1, 2  # start modes of the kernels
_METHODS = ("first_visit", "every_visit")


def _load_kernels():
    """The Numba kernels (``_kernels``), compiled or loaded from Numba's cache on first use."""
    from . import _kernels

    return _kernels


# ------------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------------


@dataclass
class ReturnEstimate:
    """Monte Carlo estimate of the expected return from the start of an episode.

    Attributes
    ----------
    mean : float
        Average return.
    standard_error : float
        Standard deviation of the returns over sqrt(n_episodes).
    returns : ndarray of shape (n_episodes,), float64
        Return of each episode.
    """

    mean: float
    standard_error: float
    returns: np.ndarray


@dataclass
class PredictionResult:
    """Monte Carlo estimates of a policy's values.

    Attributes
    ----------
    state_values : ndarray of shape (n_states,), float64
        V(s); NaN where no return was recorded, 0 for terminal states.
    action_values : ndarray of shape (n_states, n_actions), float64
        Q(s, a); NaN where no return was recorded, 0 for terminal states.
    state_visits : ndarray of shape (n_states,), float64
        Number of returns averaged into V (the summed importance weights off-policy).
    action_visits : ndarray of shape (n_states, n_actions), float64
        Number of returns averaged into Q (the summed importance weights off-policy).
    """

    state_values: np.ndarray
    action_values: np.ndarray
    state_visits: np.ndarray
    action_visits: np.ndarray


@dataclass
class ControlResult:
    """Outcome of Monte Carlo control.

    Attributes
    ----------
    policy : ndarray of shape (n_states, n_actions), float64
        The final policy: greedy for exploring starts, epsilon-greedy (with the last epsilon) for
        on-policy control. ``greedy_policy(action_values)`` gives its greedy part.
    action_values : ndarray of shape (n_states, n_actions), float64
        Q(s, a) averaged over every return recorded (0 where none).
    action_visits : ndarray of shape (n_states, n_actions), float64
        Number of returns averaged into each Q(s, a).
    """

    policy: np.ndarray
    action_values: np.ndarray
    action_visits: np.ndarray


# ------------------------------------------------------------------------------------------------
# Validation
# ------------------------------------------------------------------------------------------------


def _check_env(env):
    if not isinstance(env, _Environment):
        raise TypeError(f"env must be a TabularMDP, GridWorld or Blackjack, got {type(env).__name__}")
    return env


def _check_count(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return int(value)


def _check_policy(env, policy, name="policy"):
    """``policy`` as float64 (n_states, n_actions), rows of non-terminal states summing to 1."""
    policy = np.asarray(policy, dtype=np.float64)
    if policy.shape != (env.n_states, env.n_actions):
        raise ValueError(f"{name} must have shape {(env.n_states, env.n_actions)}, got {policy.shape}")
    live = policy[~env.is_terminal]
    if not np.all(np.isfinite(live)) or np.any(live < 0):
        raise ValueError(f"{name} probabilities must be finite and non-negative")
    bad = np.flatnonzero(np.abs(live.sum(axis=1) - 1.0) > 1e-8)
    if bad.size:
        state = np.flatnonzero(~env.is_terminal)[bad[0]]
        raise ValueError(f"{name} probabilities of state {state} do not sum to 1")
    policy = policy.copy()
    policy[env.is_terminal] = 1.0 / env.n_actions  # never used; keeps the cumulative rows valid
    return policy


def _check_method(method):
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    return method == "first_visit"


def _seed(random_state):
    """A seed in [0, 2**63) from an int (or None: a fresh one)."""
    if random_state is None:
        return int(np.random.default_rng().integers(2**63))
    if isinstance(random_state, bool) or not isinstance(random_state, numbers.Integral) or random_state < 0:
        raise ValueError(f"random_state must be a non-negative integer or None, got {random_state!r}")
    return int(random_state) % 2**63


def _start(env, start_state, exploring_starts):
    """(start mode, start state) of the kernels."""
    if exploring_starts:
        if start_state is not None:
            raise ValueError("start_state and exploring_starts exclude each other")
        return _START_EXPLORING, -1
    if start_state is None:
        return _START_INITIAL, -1
    if isinstance(start_state, bool) or not isinstance(start_state, numbers.Integral) or not (
        0 <= start_state < env.n_states
    ):
        raise ValueError(f"start_state must be a state index in [0, {env.n_states}), got {start_state!r}")
    return _START_FIXED, int(start_state)


def _n_blocks(n_episodes, n_states, n_actions):
    """Episode blocks of the reductions: a function of the problem size only (never of threads),
    at most 64, about 16 episodes or more each, and at most 64 MB of per-block sums."""
    memory_cap = max(1, 2**22 // ((n_actions + 1) * n_states))
    return int(max(1, min(64, -(-n_episodes // 16), memory_cap)))


def _rollout(env, policy, n_episodes, *, ratio=None, seed, first_episode=0, start=(_START_INITIAL, -1),
             max_steps, first_visit=True, keep_visits=False):
    """Play episodes in Numba; see ``_kernels.rollout_returns`` for the 7 outputs."""
    return _load_kernels().rollout_returns(
        env._kernel_env(),
        _cumulative_rows(policy),
        np.zeros((0, 0)) if ratio is None else ratio,
        seed,
        first_episode,
        n_episodes,
        start[0],
        start[1],
        max_steps,
        env.discount,
        first_visit,
        _n_blocks(n_episodes, env.n_states, env.n_actions),
        keep_visits,
    )


def _averages(sums, weights, is_terminal):
    """sums / weights, NaN where the weight is 0, and 0 for terminal states."""
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(weights > 0, sums / np.where(weights > 0, weights, 1.0), np.nan)
    values[is_terminal] = 0.0
    return values


# ------------------------------------------------------------------------------------------------
# Algorithms
# ------------------------------------------------------------------------------------------------


def estimate_return(env, policy, n_episodes, *, start_state=None, max_steps=1000, random_state=0):
    """Monte Carlo mean of the discounted return of ``policy`` from the start of an episode.

    Parameters
    ----------
    env : TabularMDP, GridWorld or Blackjack
    policy : array-like of shape (n_states, n_actions), float
        Action probabilities per state.
    n_episodes : int
    start_state : int, optional
        Start every episode here instead of from the environment's initial distribution.
    max_steps : int, default=1000
        Episodes are cut after this many steps (the return of a cut episode is that of its steps).
    random_state : int or None, default=0
        Seed of the episodes' random streams.

    Returns
    -------
    ReturnEstimate
    """
    env = _check_env(env)
    policy = _check_policy(env, policy)
    n_episodes = _check_count(n_episodes, "n_episodes")
    returns = _rollout(
        env, policy, n_episodes, seed=_seed(random_state), start=_start(env, start_state, False),
        max_steps=_check_count(max_steps, "max_steps"),
    )[4]
    spread = returns.std(ddof=1) if n_episodes > 1 else 0.0
    return ReturnEstimate(float(returns.mean()), float(spread / np.sqrt(n_episodes)), returns)


def mc_prediction(env, policy, n_episodes, *, method="first_visit", exploring_starts=False,
                  max_steps=1000, random_state=0):
    """First-visit or every-visit Monte Carlo prediction of V and Q for a policy.

    V(s) and Q(s, a) are the averages of the returns that followed visits of s and of (s, a),
    as in Sutton & Barto (2018), section 5.1.

    Parameters
    ----------
    env : TabularMDP, GridWorld or Blackjack
    policy : array-like of shape (n_states, n_actions), float
        Action probabilities per state; rows of non-terminal states sum to 1.
    n_episodes : int
    method : {"first_visit", "every_visit"}, default="first_visit"
    exploring_starts : bool, default=False
        Start each episode from a uniform non-terminal state and a uniform first action, so Q is
        estimated for every pair even for a deterministic policy. V then averages the returns of
        visits whatever their first action, and no longer equals V of ``policy``.
    max_steps : int, default=1000
    random_state : int or None, default=0

    Returns
    -------
    PredictionResult
    """
    env = _check_env(env)
    policy = _check_policy(env, policy)
    state_sum, state_n, pair_sum, pair_n, *_ = _rollout(
        env, policy, _check_count(n_episodes, "n_episodes"), seed=_seed(random_state),
        start=_start(env, None, bool(exploring_starts)), max_steps=_check_count(max_steps, "max_steps"),
        first_visit=_check_method(method),
    )
    return PredictionResult(
        _averages(state_sum, state_n, env.is_terminal), _averages(pair_sum, pair_n, env.is_terminal),
        state_n, pair_n,
    )


def mc_off_policy_prediction(env, target_policy, behaviour_policy, n_episodes, *, method="every_visit",
                             max_steps=1000, random_state=0):
    """Off-policy Monte Carlo prediction of Q (and V) with weighted importance sampling.

    Episodes follow ``behaviour_policy``; the return after (s, a) gets the weight
    ``W = prod_{k>t} target(A_k | S_k) / behaviour(A_k | S_k)``, and
    ``Q(s, a) = sum W G / sum W`` (Sutton & Barto (2018), section 5.6).
    ``V(s) = sum_a target(a | s) Q(s, a)``.

    Parameters
    ----------
    env : TabularMDP, GridWorld or Blackjack
    target_policy, behaviour_policy : array-like of shape (n_states, n_actions), float
        The behaviour policy must give positive probability to every action the target takes.
    n_episodes : int
    method : {"every_visit", "first_visit"}, default="every_visit"
    max_steps : int, default=1000
    random_state : int or None, default=0

    Returns
    -------
    PredictionResult
        ``state_visits`` and ``action_visits`` hold summed weights; V is NaN where a Q it needs is.
    """
    env = _check_env(env)
    target = _check_policy(env, target_policy, "target_policy")
    behaviour = _check_policy(env, behaviour_policy, "behaviour_policy")
    uncovered = (target > 0) & (behaviour == 0) & ~env.is_terminal[:, None]
    if uncovered.any():
        state, action = np.argwhere(uncovered)[0]
        raise ValueError(f"behaviour_policy must cover target_policy: action {action} in state {state}")
    ratio = np.divide(target, behaviour, out=np.zeros_like(target), where=behaviour > 0)
    _, _, pair_sum, pair_weight, *_ = _rollout(
        env, behaviour, _check_count(n_episodes, "n_episodes"), ratio=ratio, seed=_seed(random_state),
        max_steps=_check_count(max_steps, "max_steps"), first_visit=_check_method(method),
    )
    action_values = _averages(pair_sum, pair_weight, env.is_terminal)
    needed = np.where(target > 0, action_values, 0.0)  # a NaN Q matters only where target acts
    state_values = np.sum(target * needed, axis=1)
    state_values[env.is_terminal] = 0.0
    return PredictionResult(state_values, action_values, pair_weight.sum(axis=1), pair_weight)


def greedy_policy(action_values, epsilon=0.0):
    """The (epsilon-)greedy policy of action values; ties go to the lowest action.

    Parameters
    ----------
    action_values : array-like of shape (n_states, n_actions), float
    epsilon : float in [0, 1], default=0.0
        Probability of a uniform action instead of the greedy one.

    Returns
    -------
    policy : ndarray of shape (n_states, n_actions), float64
    """
    action_values = np.asarray(action_values, dtype=np.float64)
    if action_values.ndim != 2 or 0 in action_values.shape:
        raise ValueError(f"action_values must have shape (n_states, n_actions), got {action_values.shape}")
    if not isinstance(epsilon, numbers.Real) or not 0 <= epsilon <= 1:
        raise ValueError(f"epsilon must be in [0, 1], got {epsilon!r}")
    n_states, n_actions = action_values.shape
    policy = np.full((n_states, n_actions), epsilon / n_actions)
    policy[np.arange(n_states), np.argmax(np.nan_to_num(action_values, nan=-np.inf), axis=1)] += 1 - epsilon
    return policy


def mc_control(env, n_episodes, *, method="exploring_starts", epsilon=0.1, epsilon_decay=1.0,
               min_epsilon=0.0, step_size=None, batch_size=32, max_steps=1000, random_state=0):
    """Monte Carlo control: generalised policy iteration on first-visit returns.

    Episodes are played in batches of ``batch_size`` (in parallel within a batch) with the
    current policy; Q is then updated from the batch's first-visit returns and the policy made
    (epsilon-)greedy in Q. The batch size, not the thread count, fixes the results.

    With ``step_size=None`` Q averages every return recorded so far, as in the book; returns of
    early, poor policies then weigh on Q for long. A constant ``step_size`` alpha (constant-alpha
    MC, Sutton & Barto (2018), eq. 6.1) forgets them geometrically: each batch moves Q(s, a)
    towards the mean of its returns of (s, a) by ``1 - (1 - alpha) ** n``, n the number of those
    returns (a pair's first returns set Q).

    * ``"exploring_starts"``: episodes start from a uniform (state, action) pair and follow the
      greedy policy (Sutton & Barto (2018), section 5.3).
    * ``"epsilon_greedy"``: on-policy control of epsilon-soft policies (section 5.4) from the
      environment's initial states; the batch starting at episode ``e`` uses
      ``max(min_epsilon, epsilon * epsilon_decay ** e)``.

    Parameters
    ----------
    env : TabularMDP, GridWorld or Blackjack
    n_episodes : int
    method : {"exploring_starts", "epsilon_greedy"}, default="exploring_starts"
    epsilon : float in [0, 1], default=0.1
    epsilon_decay : float in (0, 1], default=1.0
        Factor applied to epsilon per episode.
    min_epsilon : float in [0, 1], default=0.0
    step_size : float in (0, 1] or None, default=None
        None averages all returns; a number is the constant-alpha step size.
    batch_size : int, default=32
    max_steps : int, default=1000
    random_state : int or None, default=0

    Returns
    -------
    ControlResult
    """
    env = _check_env(env)
    n_episodes = _check_count(n_episodes, "n_episodes")
    batch_size = _check_count(batch_size, "batch_size")
    max_steps = _check_count(max_steps, "max_steps")
    if method not in ("exploring_starts", "epsilon_greedy"):
        raise ValueError(f"method must be 'exploring_starts' or 'epsilon_greedy', got {method!r}")
    for name, value in [("epsilon", epsilon), ("min_epsilon", min_epsilon)]:
        if not isinstance(value, numbers.Real) or not 0 <= value <= 1:
            raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    if not isinstance(epsilon_decay, numbers.Real) or not 0 < epsilon_decay <= 1:
        raise ValueError(f"epsilon_decay must be in (0, 1], got {epsilon_decay!r}")
    if step_size is not None and (not isinstance(step_size, numbers.Real) or not 0 < step_size <= 1):
        raise ValueError(f"step_size must be None or in (0, 1], got {step_size!r}")
    seed = _seed(random_state)
    exploring = method == "exploring_starts"
    start = _start(env, None, exploring)
    pair_sum = np.zeros((env.n_states, env.n_actions))
    pair_n = np.zeros((env.n_states, env.n_actions))
    action_values = np.zeros((env.n_states, env.n_actions))

    def current_epsilon(episode):
        return 0.0 if exploring else max(min_epsilon, epsilon * epsilon_decay**episode)

    for first in range(0, n_episodes, batch_size):
        policy = greedy_policy(action_values, current_epsilon(first))
        _, _, batch_sum, batch_n, *_ = _rollout(
            env, policy, min(batch_size, n_episodes - first), seed=seed, first_episode=first,
            start=start, max_steps=max_steps,
        )
        if step_size is None:
            pair_sum += batch_sum
            np.divide(pair_sum, pair_n + batch_n, out=action_values, where=batch_n > 0)
        else:
            visited = batch_n > 0
            batch_mean = batch_sum[visited] / batch_n[visited]
            move = np.where(pair_n[visited] > 0, 1 - (1 - step_size) ** batch_n[visited], 1.0)
            action_values[visited] += move * (batch_mean - action_values[visited])
        pair_n += batch_n
    action_values[env.is_terminal] = 0.0
    return ControlResult(greedy_policy(action_values, current_epsilon(n_episodes)), action_values, pair_n)


def fit_value_function(env, policy, n_episodes, *, features=None, estimator=None, max_steps=1000,
                       random_state=0):
    """Fit a regressor of the value V(s) to (state features, first-visit Monte Carlo return) pairs.

    Every first visit of a state in ``n_episodes`` episodes of ``policy`` gives one training row:
    the state's features and the return that followed. The regressor averages the noisy returns
    and shares them between similar states, so values generalise over large state spaces.

    Parameters
    ----------
    env : TabularMDP, GridWorld or Blackjack
    policy : array-like of shape (n_states, n_actions), float
    n_episodes : int
    features : array-like of shape (n_states, n_features), float, optional
        Features of every state; default ``env.state_features()`` ((row, col) for a grid world).
    estimator : scikit-learn regressor, optional
        Cloned and fitted; default ``treeforge.HistGradientBoostingRegressor(random_state=...)``.
    max_steps : int, default=1000
    random_state : int or None, default=0
        Seed of the episodes (and of the default regressor).

    Returns
    -------
    estimator
        The fitted regressor; ``estimator.predict(features)`` estimates V.
    """
    from sklearn.base import clone

    env = _check_env(env)
    policy = _check_policy(env, policy)
    n_episodes = _check_count(n_episodes, "n_episodes")
    if features is None:
        if not hasattr(env, "state_features"):
            raise ValueError(f"{type(env).__name__} has no state_features(); pass features")
        features = env.state_features()
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] != env.n_states:
        raise ValueError(f"features must have shape ({env.n_states}, n_features), got {features.shape}")
    seed = _seed(random_state)
    if estimator is None:
        import treeforge

        if not hasattr(treeforge, "HistGradientBoostingRegressor"):
            raise ImportError("treeforge.HistGradientBoostingRegressor is not available; pass estimator=")
        estimator = treeforge.HistGradientBoostingRegressor(random_state=seed % 2**32)
    states, returns = _rollout(
        env, policy, n_episodes, seed=seed, max_steps=_check_count(max_steps, "max_steps"), keep_visits=True
    )[5:]
    if states.size == 0:
        raise ValueError("no state was visited: every episode started in a terminal state")
    return clone(estimator).fit(features[states], returns)
