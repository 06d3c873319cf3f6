"""Numba kernels behind ``treeforge.montecarlo``: environment steps, episodes and the parallel
rollouts that accumulate Monte Carlo returns.

Determinism
-----------
Episode ``e`` draws from its own SplitMix64 stream ``_numba.splitmix.stream_start(seed, e)``, never
from a thread. Episodes are cut into a fixed number of blocks that depends only on the problem
size; each block sums its episodes in order into its own arrays, and blocks are added in block
order. The results are therefore bit-identical for any number of threads.

Environment tuple
-----------------
``env = (kind, n_states, n_actions, next_ptr, next_state, next_cum, next_reward, is_terminal,
initial_cum, start_states)``. For ``TABULAR``, the outcomes of the pair ``(s, a)`` are the entries
``next_ptr[s * n_actions + a]`` to ``next_ptr[s * n_actions + a + 1]`` of ``next_state``,
``next_cum`` (cumulative probability, the last one exactly 1) and ``next_reward``; ``initial_cum``
is the cumulative initial distribution (n_states,). ``BLACKJACK`` ignores the outcome arrays and
deals cards. ``start_states`` lists the non-terminal states used by exploring starts.

This module imports Numba at import time; ``treeforge.montecarlo`` imports it only on first use.
"""

import numpy as np
from numba import njit, prange

from .._numba.splitmix import below, stream_start, uniform

TABULAR = 0
BLACKJACK = 1

# How an episode starts.
START_INITIAL = 0  # the environment's initial state, first action from the policy
START_EXPLORING = 1  # a uniform non-terminal state and a uniform action (exploring starts)
START_FIXED = 2  # a given state, first action from the policy

# Blackjack states: (player sum 12..21) x (dealer's card 1..10) x (usable ace 0/1), then terminal.
BLACKJACK_TERMINAL = 200


# --------------------------------------------------------------------------------------------
# Sampling
# --------------------------------------------------------------------------------------------


@njit(cache=True)
def _search_cumulative(cum, lo, hi, u):
    """First index in [lo, hi) with ``u < cum[index]`` (``hi - 1`` if rounding leaves none)."""
    while lo < hi - 1:
        mid = (lo + hi - 1) // 2
        if u < cum[mid]:
            hi = mid + 1
        else:
            lo = mid + 1
    return lo


# --------------------------------------------------------------------------------------------
# Environments
# --------------------------------------------------------------------------------------------


@njit(cache=True)
def _draw_card(rng):
    """A card of an infinite deck: 1 (ace) to 9 with probability 1/13, 10 with 4/13."""
    return min(1 + below(rng, 13), 10)


@njit(cache=True)
def blackjack_state(player_sum, dealer_card, usable_ace):
    return (player_sum - 12) * 20 + (dealer_card - 1) * 2 + usable_ace


@njit(cache=True)
def _blackjack_deal(rng):
    """Deal two cards each; the player draws while below 12 (no decision there)."""
    first, second = _draw_card(rng), _draw_card(rng)
    total = first + second
    usable = 0
    if (first == 1 or second == 1) and total + 10 <= 21:
        total += 10
        usable = 1
    while total < 12:
        card = _draw_card(rng)
        total += card
        if card == 1 and total + 10 <= 21:
            total += 10
            usable = 1
    return blackjack_state(total, _draw_card(rng), usable)


@njit(cache=True)
def _blackjack_step(state, action, rng):
    """(next state, reward) of blackjack; action 0 sticks, 1 hits. Natural 21s are not special."""
    player_sum = 12 + state // 20
    dealer_card = 1 + (state % 20) // 2
    usable = state % 2
    if action == 1:
        player_sum += _draw_card(rng)  # from 12 up, a new ace can only count 1
        if player_sum > 21 and usable == 1:
            player_sum -= 10
            usable = 0
        if player_sum > 21:
            return BLACKJACK_TERMINAL, -1.0
        return blackjack_state(player_sum, dealer_card, usable), 0.0
    # The dealer draws the hidden card, then hits below 17 (and sticks on a soft 17).
    dealer_sum = dealer_card + _draw_card(rng)
    has_ace = dealer_card == 1 or dealer_sum - dealer_card == 1
    while True:
        value = dealer_sum + 10 if has_ace and dealer_sum + 10 <= 21 else dealer_sum
        if value >= 17:
            break
        card = _draw_card(rng)
        dealer_sum += card
        has_ace = has_ace or card == 1
    if value > 21 or player_sum > value:
        return BLACKJACK_TERMINAL, 1.0
    if player_sum == value:
        return BLACKJACK_TERMINAL, 0.0
    return BLACKJACK_TERMINAL, -1.0


@njit(cache=True)
def _draw_action(policy_cum, state, rng):
    """Action drawn from the cumulative policy row of ``state`` (rows end at exactly 1).

    A linear scan of the 2-D array: a row view would cost a reference count per step.
    """
    u = uniform(rng)
    last = policy_cum.shape[1] - 1
    action = 0
    while action < last and u >= policy_cum[state, action]:
        action += 1
    return action


# --------------------------------------------------------------------------------------------
# Episodes
# --------------------------------------------------------------------------------------------


@njit(cache=True)
def _play_tabular(next_ptr, next_state, next_cum, next_reward, is_terminal, n_actions, policy_cum,
                  state, action, rng, max_steps, states, actions, rewards):
    """The step loop of ``run_episode`` for tabular environments.

    The arrays come one by one: passing the environment tuple to a per-step function costs a
    reference count per array and step (measured: 77 against 28 ns per step).
    """
    length = 0
    while True:
        states[length] = state
        actions[length] = action
        pair = state * n_actions + action
        lo, hi = next_ptr[pair], next_ptr[pair + 1]
        outcome = lo if hi - lo == 1 else _search_cumulative(next_cum, lo, hi, uniform(rng))
        rewards[length] = next_reward[outcome]
        state = next_state[outcome]
        length += 1
        if is_terminal[state]:
            return length, True
        if length == max_steps:
            return length, False
        action = _draw_action(policy_cum, state, rng)


@njit(cache=True)
def _play_blackjack(policy_cum, state, action, rng, max_steps, states, actions, rewards):
    """The step loop of ``run_episode`` for blackjack."""
    length = 0
    while True:
        states[length] = state
        actions[length] = action
        state, rewards[length] = _blackjack_step(state, action, rng)
        length += 1
        if state == BLACKJACK_TERMINAL:
            return length, True
        if length == max_steps:
            return length, False
        action = _draw_action(policy_cum, state, rng)


@njit(cache=True)
def run_episode(env, policy_cum, start_mode, start_state, rng, max_steps, states, actions, rewards):
    """Play one episode into ``states``/``actions``/``rewards`` (each (max_steps,)).

    Returns ``(length, terminated)``: ``states[t], actions[t], rewards[t]`` for ``t < length`` hold
    S_t, A_t and R_{t+1}; ``terminated`` is False when the episode was cut at ``max_steps``.
    The environment kind is dispatched once per episode, not per step.
    """
    kind, n_states, n_actions, next_ptr, next_state, next_cum, next_reward = env[:7]
    is_terminal, initial_cum, start_states = env[7], env[8], env[9]
    if start_mode == START_EXPLORING:
        state = start_states[below(rng, start_states.size)]
        action = below(rng, n_actions)
    else:
        if start_mode == START_FIXED:
            state = start_state
        elif kind == BLACKJACK:
            state = _blackjack_deal(rng)
        else:
            state = _search_cumulative(initial_cum, 0, n_states, uniform(rng))
        if is_terminal[state]:
            return 0, True
        action = _draw_action(policy_cum, state, rng)
    if kind == BLACKJACK:
        return _play_blackjack(policy_cum, state, action, rng, max_steps, states, actions, rewards)
    return _play_tabular(
        next_ptr, next_state, next_cum, next_reward, is_terminal, n_actions, policy_cum, state, action, rng,
        max_steps, states, actions, rewards,
    )


@njit(cache=True)
def recorded_steps(length, terminated):
    """Steps whose returns are kept: all of a finished episode, the first half of a cut one.

    The second half of a cut episode only completes the returns of the first, so a kept return
    misses at most ``discount ** (max_steps / 2)`` times the value of the state reached.
    """
    return length if terminated else (length + 1) // 2


@njit(cache=True)
def _mark_first_visits(states, actions, length, n_actions, episode, seen_state, seen_pair, first_state,
                       first_pair):
    """Flag the first visit of each state and of each (state, action) pair in one episode.

    ``seen_*`` hold the last episode that visited each state/pair, so they never need clearing.
    """
    for t in range(length):
        state = states[t]
        pair = state * n_actions + actions[t]
        first_state[t] = seen_state[state] != episode
        seen_state[state] = episode
        first_pair[t] = seen_pair[pair] != episode
        seen_pair[pair] = episode


@njit(cache=True)
def _block_bounds(block, n_blocks, n_episodes):
    size = (n_episodes + n_blocks - 1) // n_blocks
    return min(block * size, n_episodes), min((block + 1) * size, n_episodes)


@njit(cache=True)
def _discounted_returns(rewards, length, discount, returns):
    """returns[t] = the discounted return from step t, for t < length; the episode's return."""
    ret = 0.0
    for t in range(length - 1, -1, -1):
        ret = discount * ret + rewards[t]
        returns[t] = ret
    return ret


@njit(cache=True)
def _add_returns(states, actions, returns, length, n_recorded, first_state, first_pair, ratio, state_sum,
                 state_weight, pair_sum, pair_weight):
    """Adds an episode's recorded (first or every) visits to the sums, from its last step back:
    W * G and W per pair, with W the importance weight of the steps after the pair (1 without
    ``ratio``), and without ``ratio`` G and 1 per state too."""
    weighted = ratio.size > 0
    weight = 1.0
    for t in range(length - 1, -1, -1):
        state, action = states[t], actions[t]
        if t < n_recorded:
            if first_pair[t]:
                pair_sum[state, action] += weight * returns[t]
                pair_weight[state, action] += weight
            if first_state[t] and not weighted:
                state_sum[state] += returns[t]
                state_weight[state] += 1.0
        if weighted:
            weight *= ratio[state, action]
            if weight == 0.0:
                break  # every earlier step would carry weight 0


@njit(cache=True)
def _keep_visits(states, returns, n_recorded, first_state, slot_states, slot_returns):
    """Copies an episode's recorded visits of states into its slots; how many there are."""
    kept = 0
    for t in range(n_recorded):
        if first_state[t]:
            slot_states[kept] = states[t]
            slot_returns[kept] = returns[t]
            kept += 1
    return kept


@njit(parallel=True, cache=True)
def rollout_returns(env, policy_cum, ratio, seed, first_episode, n_episodes, start_mode, start_state,
                    max_steps, discount, first_visit, n_blocks, keep_visits):
    """Play many episodes; sum their (weighted) returns per state and pair, and optionally keep them.

    Parameters
    ----------
    env : tuple
        See the module docstring.
    policy_cum : ndarray of shape (n_states, n_actions), float64
        Cumulative action probabilities of the policy that acts (the behaviour policy).
    ratio : ndarray of shape (n_states, n_actions) or (0, 0), float64
        Target over behaviour probabilities for weighted importance sampling; empty when the
        returns are for the acting policy itself (every weight 1).
    seed, first_episode : int
        Episode ``first_episode + i`` uses the stream ``stream_start(seed, first_episode + i)``.
    start_mode, start_state : int
        ``START_INITIAL``, ``START_EXPLORING`` or ``START_FIXED`` (then from ``start_state``).
    max_steps : int
        Episodes are cut after this many steps (see ``recorded_steps``).
    first_visit : bool
        Count only the first visit of a state or pair in an episode (else every visit).
    n_blocks : int
        Number of episode blocks; must not depend on the thread count.
    keep_visits : bool
        Also return every recorded (state, return) pair; memory ``n_episodes * max_steps``.

    Returns
    -------
    state_sum, state_weight : ndarray of shape (n_states,), float64
        Sum of returns and number of returns per state (acting policy only).
    pair_sum, pair_weight : ndarray of shape (n_states, n_actions), float64
        Sum of W * G and of W per pair, where W is the importance weight of the steps after the
        pair (1 without ``ratio``).
    episode_returns : ndarray of shape (n_episodes,), float64
        Discounted return from the start of each episode (of the steps played, if cut).
    visit_states, visit_returns : ndarray of shape (n_visits,), int64 and float64
        With ``keep_visits``, the recorded (first or every) visits of states, episode by episode
        in time order; empty otherwise.
    """
    n_states, n_actions = env[1], env[2]
    (block_state_sum, block_state_weight, block_pair_sum, block_pair_weight, episode_returns, slot_states,
     slot_returns, n_kept) = _outputs(n_blocks, n_states, n_actions, n_episodes, max_steps, keep_visits)
    for block in prange(n_blocks):
        states = np.empty(max_steps, dtype=np.int64)
        actions = np.empty(max_steps, dtype=np.int64)
        rewards = np.empty(max_steps, dtype=np.float64)
        returns = np.empty(max_steps, dtype=np.float64)
        first_state = np.ones(max_steps, dtype=np.bool_)
        first_pair = np.ones(max_steps, dtype=np.bool_)
        seen_state = np.full(n_states, -1, dtype=np.int64)
        seen_pair = np.full(n_states * n_actions, -1, dtype=np.int64)
        rng = np.empty(1, dtype=np.uint64)
        start, stop = _block_bounds(block, n_blocks, n_episodes)
        for i in range(start, stop):
            episode = first_episode + i
            rng[0] = stream_start(seed, episode)
            length, terminated = run_episode(
                env, policy_cum, start_mode, start_state, rng, max_steps, states, actions, rewards
            )
            if first_visit:
                _mark_first_visits(
                    states, actions, length, n_actions, episode, seen_state, seen_pair, first_state,
                    first_pair,
                )
            episode_returns[i] = _discounted_returns(rewards, length, discount, returns)
            n_recorded = recorded_steps(length, terminated)
            _add_returns(states, actions, returns, length, n_recorded, first_state, first_pair, ratio,
                         block_state_sum[block], block_state_weight[block], block_pair_sum[block],
                         block_pair_weight[block])
            if keep_visits:
                n_kept[i + 1] = _keep_visits(states, returns, n_recorded, first_state, slot_states[i],
                                             slot_returns[i])
    visit_states, visit_returns = _compact_visits(slot_states, slot_returns, n_kept)
    return (
        _sum_blocks(block_state_sum).reshape(n_states),
        _sum_blocks(block_state_weight).reshape(n_states),
        _sum_blocks(block_pair_sum).reshape(n_states, n_actions),
        _sum_blocks(block_pair_weight).reshape(n_states, n_actions),
        episode_returns,
        visit_states,
        visit_returns,
    )


# Serial helpers of the parallel kernel. Kept out of it on purpose: inside a parallel function
# every array expression becomes its own parallel region, and hundreds of tiny regions cost more
# than the rollouts once threads must wake up for each (measured: 2 threads 12x slower than 1).


@njit(cache=True)
def _outputs(n_blocks, n_states, n_actions, n_episodes, max_steps, keep_visits):
    """Zeroed per-block sums, episode returns and visit slots of ``rollout_returns``."""
    n_slots = n_episodes if keep_visits else 0
    return (
        np.zeros((n_blocks, n_states)),
        np.zeros((n_blocks, n_states)),
        np.zeros((n_blocks, n_states, n_actions)),
        np.zeros((n_blocks, n_states, n_actions)),
        np.zeros(n_episodes),
        np.empty((n_slots, max_steps), dtype=np.int64),
        np.empty((n_slots, max_steps), dtype=np.float64),
        np.zeros(n_episodes + 1, dtype=np.int64),
    )


@njit(cache=True)
def _sum_blocks(blocks):
    """Sum over the first axis in block order, flattened: float64 (prod(blocks.shape[1:]),)."""
    flat = blocks.reshape(blocks.shape[0], -1)
    total = np.zeros(flat.shape[1])
    for block in range(flat.shape[0]):
        for j in range(flat.shape[1]):
            total[j] += flat[block, j]
    return total


@njit(cache=True)
def _compact_visits(slot_states, slot_returns, n_kept):
    """The first ``n_kept[i + 1]`` slots of every episode ``i``, concatenated."""
    offsets = np.cumsum(n_kept)
    n_episodes = n_kept.size - 1
    visit_states = np.empty(offsets[n_episodes], dtype=np.int64)
    visit_returns = np.empty(offsets[n_episodes], dtype=np.float64)
    for i in range(slot_states.shape[0]):
        for j in range(n_kept[i + 1]):
            visit_states[offsets[i] + j] = slot_states[i, j]
            visit_returns[offsets[i] + j] = slot_returns[i, j]
    return visit_states, visit_returns
