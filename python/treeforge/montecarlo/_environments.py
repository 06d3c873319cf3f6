"""Environments of ``treeforge.montecarlo`` as arrays the Numba kernels can step: tabular MDPs,
grid worlds and blackjack."""

import numbers

import numpy as np

_TABULAR, _BLACKJACK = 0, 1  # kinds of _kernels


def _check_discount(discount):
    if not isinstance(discount, numbers.Real) or isinstance(discount, bool) or not 0 <= discount <= 1:
        raise ValueError(f"discount must be a number in [0, 1], got {discount!r}")
    return float(discount)


def _cumulative_rows(probs):
    """Row-wise cumulative probabilities ending at exactly 1 from the last positive entry on, so a
    draw ``u < 1`` never lands on a zero-probability entry. probs: (n_rows, n_cols) float64."""
    cum = np.cumsum(probs, axis=1)
    cum /= np.where(cum[:, -1:] > 0, cum[:, -1:], 1.0)
    last_positive = probs.shape[1] - 1 - np.argmax(probs[:, ::-1] > 0, axis=1)
    cum[np.arange(probs.shape[1]) >= last_positive[:, None]] = 1.0
    return cum


class _Environment:
    """What the algorithms need: sizes, discount, terminal mask and the kernels' tuple."""

    n_states: int
    n_actions: int
    discount: float
    is_terminal: np.ndarray

    def _kernel_env(self):
        raise NotImplementedError

    def _start_states(self):
        return np.flatnonzero(~self.is_terminal).astype(np.int64)


class TabularMDP(_Environment):
    """A finite Markov decision process given by arrays.

    Parameters
    ----------
    transitions : array-like of shape (n_states, n_actions, n_states), float
        ``transitions[s, a, s2]`` is P(s2 | s, a). Rows of non-terminal states sum to 1; rows of
        terminal states are ignored.
    rewards : array-like of shape (n_states, n_actions) or (n_states, n_actions, n_states), float
        Reward of taking ``a`` in ``s`` (and landing in ``s2``).
    terminal_states : array-like of int or of bool with shape (n_states,), default=()
        States that end an episode.
    initial_distribution : array-like of shape (n_states,), float, optional
        Distribution of the first state; default uniform over the non-terminal states.
    discount : float in [0, 1], default=1.0
        Discount factor gamma of returns.

    Attributes
    ----------
    n_states, n_actions : int
    is_terminal : ndarray of shape (n_states,), bool
    initial_distribution : ndarray of shape (n_states,), float64

    Examples
    --------
    >>> import numpy as np
    >>> P = np.zeros((2, 1, 2)); P[0, 0, 1] = 1.0          # state 0 -> state 1 (terminal)
    >>> mdp = TabularMDP(P, rewards=np.array([[2.0], [0.0]]), terminal_states=[1])
    >>> float(mdp.expected_rewards()[0, 0])
    2.0
    """

    def __init__(self, transitions, rewards, terminal_states=(), initial_distribution=None, discount=1.0):
        transitions = np.asarray(transitions, dtype=np.float64)
        if transitions.ndim != 3 or transitions.shape[0] != transitions.shape[2] or 0 in transitions.shape:
            raise ValueError(
                f"transitions must have shape (n_states, n_actions, n_states), got {transitions.shape}"
            )
        n_states, n_actions, _ = transitions.shape
        rewards = np.asarray(rewards, dtype=np.float64)
        if rewards.shape == (n_states, n_actions):
            rewards = np.broadcast_to(rewards[:, :, None], transitions.shape)
        elif rewards.shape != transitions.shape:
            raise ValueError(
                f"rewards must have shape {(n_states, n_actions)} or {transitions.shape}, got {rewards.shape}"
            )
        if not np.all(np.isfinite(rewards)):
            raise ValueError("rewards must be finite")
        is_terminal = self._terminal_mask(terminal_states, n_states)
        live = transitions[~is_terminal]
        if not np.all(np.isfinite(live)) or np.any(live < 0):
            raise ValueError("transition probabilities must be finite and non-negative")
        bad = np.flatnonzero(np.abs(live.sum(axis=2) - 1.0).max(axis=1) > 1e-8)
        if bad.size:
            state = np.flatnonzero(~is_terminal)[bad[0]]
            raise ValueError(f"transition probabilities of state {state} do not sum to 1 for every action")
        pairs, next_state = np.nonzero(transitions.reshape(n_states * n_actions, n_states) > 0)
        pairs_live = ~is_terminal[pairs // n_actions]
        pairs, next_state = pairs[pairs_live], next_state[pairs_live]
        probs = transitions.reshape(-1, n_states)[pairs, next_state]
        self._set_arrays(
            n_states, n_actions, pairs, next_state, probs,
            rewards.reshape(-1, n_states)[pairs, next_state], is_terminal, initial_distribution, discount,
        )

    @staticmethod
    def _terminal_mask(terminal_states, n_states):
        terminal = np.asarray(terminal_states)
        if terminal.dtype == bool:
            if terminal.shape != (n_states,):
                raise ValueError(f"a boolean terminal_states must have shape ({n_states},)")
            return terminal.copy()
        if terminal.size and (
            not np.issubdtype(terminal.dtype, np.integer) or terminal.min() < 0 or terminal.max() >= n_states
        ):
            raise ValueError(f"terminal_states must be state indices in [0, {n_states})")
        mask = np.zeros(n_states, dtype=bool)
        mask[terminal.astype(np.int64).ravel()] = True
        return mask

    def _set_arrays(self, n_states, n_actions, pairs, next_state, probs, rewards, is_terminal,
                    initial_distribution, discount):
        """Store outcomes sorted by (pair, next state): the sparse form the kernels step."""
        if is_terminal.all():
            raise ValueError("every state is terminal: there is nothing to play")
        order = np.lexsort((next_state, pairs))
        pairs, next_state, probs, rewards = pairs[order], next_state[order], probs[order], rewards[order]
        self.n_states, self.n_actions = int(n_states), int(n_actions)
        self.discount = _check_discount(discount)
        self.is_terminal = is_terminal
        self._next_ptr = np.zeros(n_states * n_actions + 1, dtype=np.int64)
        np.cumsum(np.bincount(pairs, minlength=n_states * n_actions), out=self._next_ptr[1:])
        self._next_state = next_state.astype(np.int64)
        self._next_prob = probs.astype(np.float64)
        self._next_reward = rewards.astype(np.float64)
        # Cumulative probability within each pair's outcomes, the last exactly 1.
        cum = np.cumsum(self._next_prob)
        starts = self._next_ptr[:-1][np.diff(self._next_ptr) > 0]
        ends = self._next_ptr[1:][np.diff(self._next_ptr) > 0]
        cum -= np.repeat(cum[starts] - self._next_prob[starts], ends - starts)
        cum[ends - 1] = 1.0
        self._next_cum = cum
        if initial_distribution is None:
            initial = (~is_terminal).astype(np.float64)
            initial /= initial.sum()
        else:
            initial = np.asarray(initial_distribution, dtype=np.float64)
            if initial.shape != (n_states,) or np.any(initial < 0) or abs(initial.sum() - 1.0) > 1e-8:
                raise ValueError(f"initial_distribution must be {n_states} non-negative numbers summing to 1")
        self.initial_distribution = initial
        self._initial_cum = _cumulative_rows(initial[None, :])[0]

    def _kernel_env(self):
        return (
            _TABULAR, self.n_states, self.n_actions, self._next_ptr, self._next_state, self._next_cum,
            self._next_reward, self.is_terminal, self._initial_cum, self._start_states(),
        )

    def transition_matrix(self):
        """P(s2 | s, a) as a dense array of shape (n_states, n_actions, n_states), float64 (zero
        rows for terminal states)."""
        dense = np.zeros((self.n_states * self.n_actions, self.n_states))
        pairs = np.repeat(np.arange(self.n_states * self.n_actions), np.diff(self._next_ptr))
        dense[pairs, self._next_state] = self._next_prob
        return dense.reshape(self.n_states, self.n_actions, self.n_states)

    def expected_rewards(self):
        """E[reward | s, a] as an array of shape (n_states, n_actions), float64."""
        pairs = np.repeat(np.arange(self.n_states * self.n_actions), np.diff(self._next_ptr))
        expected = np.bincount(
            pairs, weights=self._next_prob * self._next_reward, minlength=self.n_states * self.n_actions
        )
        return expected.reshape(self.n_states, self.n_actions)


class GridWorld(TabularMDP):
    """A grid of cells with forbidden cells and a target; states are cells ``row * n_cols + col``.

    Actions are 0 up, 1 right, 2 down, 3 left, 4 stay. A move off the grid leaves the agent in
    place with ``reward_boundary``; otherwise the agent moves and the reward depends on the cell
    reached: ``reward_target`` for the target, ``reward_forbidden`` for a forbidden cell (which can
    be entered), ``reward_step`` elsewhere. With ``terminal_target`` the target ends the episode;
    otherwise the task is continuing (staying at the target keeps earning ``reward_target``).

    Parameters
    ----------
    shape : tuple (n_rows, n_cols), default=(5, 5)
    target : tuple (row, col), default=(3, 2)
    forbidden : sequence of (row, col), default=((1, 1), (1, 2), (2, 2), (3, 1), (3, 3), (4, 1))
    reward_boundary, reward_forbidden, reward_target, reward_step : float
        Defaults -1, -1, 1 and 0.
    discount : float in [0, 1], default=0.9
    terminal_target : bool, default=False
    start : tuple (row, col) or None, default=None
        Cell of the first state; default uniform over non-terminal cells.

    Examples
    --------
    >>> world = GridWorld(shape=(2, 2), target=(1, 1), forbidden=[])
    >>> world.n_states, world.n_actions, world.state_features()[3].tolist()
    (4, 5, [1.0, 1.0])
    """

    MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1), (0, 0))
    ACTION_NAMES = ("up", "right", "down", "left", "stay")

    def __init__(
        self,
        shape=(5, 5),
        target=(3, 2),
        forbidden=((1, 1), (1, 2), (2, 2), (3, 1), (3, 3), (4, 1)),
        reward_boundary=-1.0,
        reward_forbidden=-1.0,
        reward_target=1.0,
        reward_step=0.0,
        discount=0.9,
        terminal_target=False,
        start=None,
    ):
        if len(shape) != 2 or not all(isinstance(v, numbers.Integral) and v >= 1 for v in shape):
            raise ValueError(f"shape must be two positive integers, got {shape!r}")
        self.shape = (int(shape[0]), int(shape[1]))
        self.target = self._check_cell(target, "target")
        self.forbidden = tuple(self._check_cell(cell, "forbidden cell") for cell in forbidden)
        if self.target in self.forbidden:
            raise ValueError("the target cannot be a forbidden cell")
        for name, value in [("reward_boundary", reward_boundary), ("reward_forbidden", reward_forbidden),
                            ("reward_target", reward_target), ("reward_step", reward_step)]:
            if not isinstance(value, numbers.Real) or not np.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
        n_rows, n_cols = self.shape
        n_states, n_actions = n_rows * n_cols, len(self.MOVES)
        cell_reward = np.full(n_states, float(reward_step))
        for row, col in self.forbidden:
            cell_reward[self.state_index(row, col)] = reward_forbidden
        target_state = self.state_index(*self.target)
        cell_reward[target_state] = reward_target
        rows, cols = np.divmod(np.arange(n_states), n_cols)
        next_state = np.empty((n_states, n_actions), dtype=np.int64)
        rewards = np.empty((n_states, n_actions))
        for action, (d_row, d_col) in enumerate(self.MOVES):
            new_rows, new_cols = rows + d_row, cols + d_col
            inside = (new_rows >= 0) & (new_rows < n_rows) & (new_cols >= 0) & (new_cols < n_cols)
            next_state[:, action] = np.where(inside, new_rows * n_cols + new_cols, np.arange(n_states))
            rewards[:, action] = np.where(inside, cell_reward[next_state[:, action]], reward_boundary)
        is_terminal = np.zeros(n_states, dtype=bool)
        is_terminal[target_state] = bool(terminal_target)
        live = np.repeat(~is_terminal, n_actions)
        pairs = np.arange(n_states * n_actions)[live]
        initial = None
        if start is not None:
            start_state = self.state_index(*self._check_cell(start, "start"))
            if is_terminal[start_state]:
                raise ValueError("the start cell cannot be the terminal target")
            initial = np.eye(n_states)[start_state]
        self._set_arrays(
            n_states, n_actions, pairs, next_state.ravel()[live], np.ones(pairs.size),
            rewards.ravel()[live], is_terminal, initial, discount,
        )

    def _check_cell(self, cell, name):
        if (
            len(cell) != 2
            or not all(isinstance(v, numbers.Integral) for v in cell)
            or not (0 <= cell[0] < self.shape[0] and 0 <= cell[1] < self.shape[1])
        ):
            raise ValueError(f"{name} must be a (row, col) inside the grid {self.shape}, got {cell!r}")
        return int(cell[0]), int(cell[1])

    def state_index(self, row, col):
        """State of the cell (row, col)."""
        return row * self.shape[1] + col

    def state_features(self):
        """(row, col) of every state, as an array of shape (n_states, 2), float64."""
        rows, cols = np.divmod(np.arange(self.shape[0] * self.shape[1]), self.shape[1])
        return np.column_stack([rows, cols]).astype(np.float64)


class Blackjack(_Environment):
    """Blackjack as in Sutton & Barto (2018), Example 5.1, with an infinite deck.

    States are (player sum 12..21, dealer's showing card 1..10, usable ace 0/1), numbered
    ``(player_sum - 12) * 20 + (dealer_card - 1) * 2 + usable_ace``, plus the terminal state 200.
    Actions are 0 stick and 1 hit. The player draws automatically below 12; the dealer hits below
    17 and sticks on any 17 (soft ones too). Rewards are +1 win, 0 draw, -1 loss, at the end only;
    a natural is an ordinary 21. No discount.

    Attributes
    ----------
    n_states : int
        201.
    n_actions : int
        2.
    """

    n_states = 201
    n_actions = 2
    discount = 1.0
    TERMINAL = 200

    def __init__(self):
        self.is_terminal = np.zeros(self.n_states, dtype=bool)
        self.is_terminal[self.TERMINAL] = True

    def _kernel_env(self):
        no_outcomes = np.zeros(0, dtype=np.int64)
        return (
            _BLACKJACK, self.n_states, self.n_actions,
            np.zeros(self.n_states * self.n_actions + 1, dtype=np.int64), no_outcomes, np.zeros(0),
            np.zeros(0), self.is_terminal, np.ones(self.n_states), self._start_states(),
        )

    @staticmethod
    def state_index(player_sum, dealer_card, usable_ace):
        """State of a (player sum in 12..21, dealer card in 1..10, usable ace 0/1) situation."""
        if not (12 <= player_sum <= 21 and 1 <= dealer_card <= 10 and usable_ace in (0, 1)):
            raise ValueError(f"no blackjack state for {(player_sum, dealer_card, usable_ace)}")
        return (player_sum - 12) * 20 + (dealer_card - 1) * 2 + int(usable_ace)

    def state_features(self):
        """(player sum, dealer card, usable ace) of every state, shape (201, 3), float64; the
        terminal state is (0, 0, 0)."""
        states = np.arange(200)
        features = np.zeros((self.n_states, 3))
        features[:200] = np.column_stack([12 + states // 20, 1 + (states % 20) // 2, states % 2])
        return features
