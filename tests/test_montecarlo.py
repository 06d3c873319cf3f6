"""Tests of treeforge.montecarlo: MC prediction against Bellman solutions, control against value
iteration, blackjack against an independent NumPy simulation, thread-count invariance."""

import numpy as np
import pytest

from treeforge.montecarlo import (
    Blackjack,
    GridWorld,
    TabularMDP,
    estimate_return,
    fit_value_function,
    greedy_policy,
    mc_control,
    mc_off_policy_prediction,
    mc_prediction,
)

# ---------------------------------------------------------------------------------------------
# Exact solutions (dense linear algebra on the environment's arrays)
# ---------------------------------------------------------------------------------------------


def policy_values(env, policy):
    """(V, Q) of a policy from the Bellman equation V = r_pi + gamma P_pi V (terminal V = 0)."""
    P, R = env.transition_matrix(), env.expected_rewards()
    P_pi = np.einsum("sa,sat->st", policy, P)
    r_pi = np.sum(policy * R, axis=1)
    P_pi[env.is_terminal], r_pi[env.is_terminal] = 0.0, 0.0
    V = np.linalg.solve(np.eye(env.n_states) - env.discount * P_pi, r_pi)
    Q = R + env.discount * P @ V
    Q[env.is_terminal] = 0.0
    return V, Q


def value_iteration(env, tol=1e-12):
    """(V*, Q*) by value iteration."""
    P, R = env.transition_matrix(), env.expected_rewards()
    V = np.zeros(env.n_states)
    while True:
        Q = R + env.discount * P @ V
        Q[env.is_terminal] = 0.0
        if np.max(np.abs(Q.max(axis=1) - V)) < tol:
            return Q.max(axis=1), Q
        V = Q.max(axis=1)


def random_mdp(seed, n_states=5, n_actions=2, stop=0.4):
    """Random MDP whose last state is terminal and reached with probability ``stop`` per step."""
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(n_states), size=(n_states, n_actions)) * (1 - stop)
    P[:, :, -1] += stop
    R = rng.normal(size=(n_states, n_actions, n_states))
    return TabularMDP(P, R, terminal_states=[n_states - 1], discount=0.9)


def uniform_policy(env):
    return np.full((env.n_states, env.n_actions), 1.0 / env.n_actions)


SMALL_WORLD = dict(shape=(4, 4), target=(2, 3), forbidden=[(1, 1), (2, 1), (1, 3)])

# ---------------------------------------------------------------------------------------------
# Prediction
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["first_visit", "every_visit"])
def test_prediction_converges_to_bellman_values_on_a_random_mdp(method):
    mdp = random_mdp(0)
    policy = 0.25 + 0.5 * np.random.default_rng(1).dirichlet(np.ones(mdp.n_actions), size=mdp.n_states)
    V, Q = policy_values(mdp, policy)
    errors = []
    for n_episodes in (2_000, 64_000):
        result = mc_prediction(mdp, policy, n_episodes, method=method, random_state=3)
        error = max(np.max(np.abs(result.state_values - V)), np.max(np.abs(result.action_values - Q)))
        assert error < 12.0 / np.sqrt(n_episodes)
        errors.append(error)
    assert errors[1] < errors[0] / 2


@pytest.mark.parametrize("method", ["first_visit", "every_visit"])
def test_prediction_converges_to_bellman_values_on_a_grid_world(method):
    world = GridWorld(**SMALL_WORLD)  # continuing task, discount 0.9
    policy = np.random.default_rng(2).dirichlet(np.ones(world.n_actions), size=world.n_states)
    V, _ = policy_values(world, policy)
    errors = []
    for n_episodes in (500, 6_000):
        result = mc_prediction(world, policy, n_episodes, method=method, max_steps=200, random_state=4)
        errors.append(np.max(np.abs(result.state_values - V)))
        assert errors[-1] < 30.0 / np.sqrt(n_episodes)
    assert errors[1] < errors[0] / 2


def test_exploring_starts_estimate_q_of_a_deterministic_policy():
    world = GridWorld(**SMALL_WORLD, terminal_target=True)
    policy = np.eye(world.n_actions)[np.random.default_rng(0).integers(0, world.n_actions, world.n_states)]
    _, Q = policy_values(world, policy)
    result = mc_prediction(world, policy, 4_000, exploring_starts=True, max_steps=400, random_state=0)
    live = ~world.is_terminal
    assert np.all(result.action_visits[live] > 0)
    # Transitions and the policy are deterministic: every return of a pair is exact (up to the cut).
    np.testing.assert_allclose(result.action_values[live], Q[live], atol=1e-6)


def test_mean_return_from_a_start_state():
    mdp = random_mdp(4)
    policy = uniform_policy(mdp)
    V, _ = policy_values(mdp, policy)
    estimate = estimate_return(mdp, policy, 50_000, start_state=1, random_state=0)
    assert estimate.returns.shape == (50_000,)
    assert abs(estimate.mean - V[1]) < 4 * estimate.standard_error
    everywhere = estimate_return(mdp, policy, 50_000, random_state=0)  # uniform initial states
    assert abs(everywhere.mean - V[:-1].mean()) < 4 * everywhere.standard_error


def test_off_policy_weighted_importance_sampling_converges():
    mdp = random_mdp(0)
    rng = np.random.default_rng(5)
    target = 0.1 + 0.8 * np.eye(mdp.n_actions)[rng.integers(0, mdp.n_actions, mdp.n_states)]
    behaviour = uniform_policy(mdp)
    V, Q = policy_values(mdp, target)
    for method in ("every_visit", "first_visit"):
        errors = []
        for n_episodes in (4_000, 256_000):
            result = mc_off_policy_prediction(
                mdp, target, behaviour, n_episodes, method=method, random_state=1
            )
            errors.append(
                max(np.max(np.abs(result.action_values - Q)), np.max(np.abs(result.state_values - V)))
            )
            assert errors[-1] < 10.0 / np.sqrt(n_episodes)
        assert errors[1] < errors[0] / 2
    # The behaviour policy's own returns would give its own values, not the target's.
    V_behaviour, _ = policy_values(mdp, behaviour)
    assert np.max(np.abs(V_behaviour - V)) > 0.1


# ---------------------------------------------------------------------------------------------
# Control
# ---------------------------------------------------------------------------------------------


def assert_optimal(world, action_values):
    V_star, Q_star = value_iteration(world)
    greedy = greedy_policy(action_values).argmax(axis=1)
    live = ~world.is_terminal
    chosen = Q_star[np.arange(world.n_states), greedy]
    assert np.all(chosen[live] >= V_star[live] - 1e-6), np.flatnonzero(chosen < V_star - 1e-6)
    V_greedy, _ = policy_values(world, greedy_policy(action_values))
    np.testing.assert_allclose(V_greedy, V_star, atol=1e-6)


@pytest.mark.parametrize("terminal_target", [False, True])
def test_exploring_starts_control_finds_the_optimal_policy(terminal_target):
    world = GridWorld(terminal_target=terminal_target)  # 5x5, six forbidden cells
    result = mc_control(world, 6_000, method="exploring_starts", step_size=0.2, max_steps=200, random_state=0)
    assert_optimal(world, result.action_values)
    assert np.all(result.policy.sum(axis=1) == 1) and set(np.unique(result.policy)) == {0.0, 1.0}


def test_sample_average_exploring_starts_on_a_small_world():
    world = GridWorld(shape=(3, 3), target=(2, 2), forbidden=[(1, 1)])
    result = mc_control(world, 50_000, method="exploring_starts", max_steps=100, random_state=0)
    assert_optimal(world, result.action_values)


@pytest.mark.parametrize("random_state", [0, 1])
def test_epsilon_greedy_control_with_decaying_epsilon_finds_the_optimal_policy(random_state):
    world = GridWorld(shape=(3, 3), target=(2, 2), forbidden=[(1, 1)])
    result = mc_control(
        world, 20_000, method="epsilon_greedy", epsilon=0.5, epsilon_decay=0.9998, step_size=0.05,
        max_steps=150, random_state=random_state,
    )
    assert_optimal(world, result.action_values)
    final_epsilon = 0.5 * 0.9998**20_000
    np.testing.assert_allclose(result.policy.min(axis=1), final_epsilon / world.n_actions)


# ---------------------------------------------------------------------------------------------
# Blackjack
# ---------------------------------------------------------------------------------------------


def reference_blackjack_run(n_episodes, seed, stick_from=20):
    """Independent vectorised simulation: V(s) of "stick on stick_from or more", first visits."""
    rng = np.random.default_rng(seed)

    def cards(size):
        return np.minimum(rng.integers(1, 14, size), 10)

    first, second = cards(n_episodes), cards(n_episodes)
    total = first + second
    usable = ((first == 1) | (second == 1)) & (total <= 11)
    total = total + 10 * usable
    while np.any(total < 12):
        low = np.flatnonzero(total < 12)
        card = cards(low.size)
        soft = (card == 1) & (total[low] + card <= 11)
        total[low] += card + 10 * soft
        usable[low] |= soft
    dealer_card = cards(n_episodes)
    reward = np.zeros(n_episodes)
    visited_states, visited_episodes, sticking = [], [], []
    playing = np.arange(n_episodes)
    while playing.size:
        visited_states.append((total[playing] - 12) * 20 + (dealer_card[playing] - 1) * 2 + usable[playing])
        visited_episodes.append(playing)
        hits = playing[total[playing] < stick_from]
        sticking.append(playing[total[playing] >= stick_from])
        total[hits] += cards(hits.size)
        soft_bust = (total[hits] > 21) & usable[hits]
        total[hits] -= 10 * soft_bust
        usable[hits] &= ~soft_bust
        bust = hits[total[hits] > 21]
        reward[bust] = -1.0
        playing = hits[total[hits] <= 21]
    stuck = np.concatenate(sticking)
    hidden = cards(stuck.size)
    dealer_sum = dealer_card[stuck] + hidden
    dealer_ace = (dealer_card[stuck] == 1) | (hidden == 1)

    def dealer_value():
        return np.where(dealer_ace & (dealer_sum + 10 <= 21), dealer_sum + 10, dealer_sum)

    while np.any(dealer_value() < 17):
        drawing = dealer_value() < 17
        card = cards(drawing.sum())
        dealer_sum[drawing] += card
        dealer_ace[drawing] |= card == 1
    value = dealer_value()
    player = total[stuck]
    reward[stuck] = np.where((value > 21) | (player > value), 1.0, np.where(player == value, 0.0, -1.0))
    states, episodes = np.concatenate(visited_states), np.concatenate(visited_episodes)
    visits = np.bincount(states, minlength=200)
    with np.errstate(invalid="ignore"):
        values = np.bincount(states, weights=reward[episodes], minlength=200) / visits
    return values, visits, reward.mean(), reward.std() / np.sqrt(n_episodes)


def test_blackjack_values_match_a_long_reference_run():
    env = Blackjack()
    policy = np.zeros((env.n_states, env.n_actions))
    player_sum = 12 + np.arange(200) // 20
    policy[:200, 1] = player_sum < 20  # hit below 20
    policy[:200, 0] = player_sum >= 20
    policy[200] = 0.5
    ours = mc_prediction(env, policy, 300_000, random_state=0)
    ref_values, ref_visits, ref_mean, ref_se = reference_blackjack_run(1_000_000, seed=1)
    both = (ours.state_visits[:200] >= 100) & (ref_visits >= 100)
    assert both.sum() >= 195
    # Rewards lie in [-1, 1], so each mean's variance is at most 1 / visits.
    tolerance = 4.5 * np.sqrt(1 / ours.state_visits[:200][both] + 1 / ref_visits[both])
    assert np.all(np.abs(ours.state_values[:200][both] - ref_values[both]) < tolerance)
    estimate = estimate_return(env, policy, 300_000, random_state=2)
    assert abs(estimate.mean - ref_mean) < 4 * np.hypot(estimate.standard_error, ref_se)
    # Known shape (Sutton & Barto, figure 5.1): sticking on 20 or 21 mostly wins.
    assert ours.state_values[env.state_index(20, 5, 0)] > 0.5
    assert ours.state_values[env.state_index(13, 10, 0)] < -0.4


# ---------------------------------------------------------------------------------------------
# Determinism, environments, tree fitting, validation
# ---------------------------------------------------------------------------------------------


def test_results_are_identical_for_one_and_two_threads():
    numba = pytest.importorskip("numba")
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("Numba has a single thread here")
    mdp, world = random_mdp(1), GridWorld(**SMALL_WORLD)
    behaviour = uniform_policy(mdp)
    target = greedy_policy(np.random.default_rng(0).normal(size=(mdp.n_states, mdp.n_actions)), 0.2)

    def run():
        return [
            mc_prediction(mdp, behaviour, 2_000, method="every_visit", random_state=9),
            mc_off_policy_prediction(mdp, target, behaviour, 2_000, random_state=9),
            mc_control(world, 300, method="epsilon_greedy", max_steps=100, random_state=9),
            estimate_return(Blackjack(), uniform_policy(Blackjack()), 2_000, random_state=9).returns,
        ]

    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        single = run()
        numba.set_num_threads(2)
        double = run()
    finally:
        numba.set_num_threads(previous)
    for one, two in zip(single, double):
        for name in ("state_values", "action_values", "action_visits", "policy"):
            if hasattr(one, name):
                np.testing.assert_array_equal(getattr(one, name), getattr(two, name))
    np.testing.assert_array_equal(single[3], double[3])
    other_seed = mc_prediction(mdp, behaviour, 2_000, method="every_visit", random_state=10)
    assert not np.array_equal(other_seed.state_values, single[0].state_values)


def test_grid_world_rules():
    world = GridWorld(shape=(3, 4), target=(2, 3), forbidden=[(1, 1)], reward_boundary=-2.0,
                      reward_forbidden=-5.0, reward_target=3.0, reward_step=-0.5)
    P, R = world.transition_matrix(), world.expected_rewards()
    up, right, down, left, stay = range(5)
    s = world.state_index
    assert P[s(0, 0), up, s(0, 0)] == 1 and R[s(0, 0), up] == -2.0  # bump into the boundary
    assert P[s(0, 1), down, s(1, 1)] == 1 and R[s(0, 1), down] == -5.0  # enter a forbidden cell
    assert P[s(1, 1), stay, s(1, 1)] == 1 and R[s(1, 1), stay] == -5.0
    assert P[s(1, 3), down, s(2, 3)] == 1 and R[s(1, 3), down] == 3.0  # reach the target
    assert R[s(2, 3), stay] == 3.0 and R[s(2, 3), right] == -2.0
    assert P[s(2, 0), right, s(2, 1)] == 1 and R[s(2, 0), right] == -0.5
    np.testing.assert_array_equal(world.state_features()[s(2, 1)], [2.0, 1.0])
    assert not world.is_terminal.any()
    episodic = GridWorld(shape=(3, 4), target=(2, 3), forbidden=[(1, 1)], terminal_target=True, start=(0, 0))
    assert np.flatnonzero(episodic.is_terminal).tolist() == [s(2, 3)]
    assert episodic.initial_distribution[s(0, 0)] == 1.0


def test_tabular_mdp_from_arrays():
    P = np.zeros((3, 2, 3))
    P[0, 0] = [0.0, 0.5, 0.5]
    P[0, 1] = [1.0, 0.0, 0.0]
    P[1, :, 2] = 1.0
    rewards = np.arange(18, dtype=float).reshape(3, 2, 3)
    mdp = TabularMDP(P, rewards, terminal_states=np.array([False, False, True]), discount=0.5)
    np.testing.assert_array_equal(mdp.transition_matrix()[:2], P[:2])
    assert mdp.expected_rewards()[0, 0] == 0.5 * 1 + 0.5 * 2
    assert mdp.n_states == 3 and mdp.n_actions == 2 and mdp.discount == 0.5
    per_pair = TabularMDP(P, rewards[:, :, 0], terminal_states=[2])
    np.testing.assert_array_equal(per_pair.expected_rewards()[:2], rewards[:2, :, 0])


def test_tree_value_function_on_grid_world_features():
    world = GridWorld(shape=(6, 6), target=(4, 3), forbidden=[(1, 1), (2, 3), (3, 1), (4, 4)])
    policy = uniform_policy(world)
    V, _ = policy_values(world, policy)
    from sklearn.tree import DecisionTreeRegressor

    tree = DecisionTreeRegressor(min_samples_leaf=20)
    fitted = fit_value_function(world, policy, 300, estimator=tree, max_steps=200)
    assert fitted is not tree and not hasattr(tree, "tree_")  # the given estimator is cloned
    assert 1 - np.mean((fitted.predict(world.state_features()) - V) ** 2) / np.var(V) > 0.9
    import treeforge

    if not hasattr(treeforge, "HistGradientBoostingRegressor"):
        pytest.skip("treeforge.HistGradientBoostingRegressor is not built yet")
    model = fit_value_function(world, policy, 1_500, max_steps=200, random_state=0)
    assert isinstance(model, treeforge.HistGradientBoostingRegressor)
    predicted = model.predict(world.state_features())
    assert 1 - np.mean((predicted - V) ** 2) / np.var(V) > 0.98
    assert np.max(np.abs(predicted - V)) < 0.25


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda w, p: mc_prediction(w, p[:, :2], 10), ValueError, "shape"),
        (lambda w, p: mc_prediction(w, p * 2, 10), ValueError, "sum to 1"),
        (lambda w, p: mc_prediction(w, -p, 10), ValueError, "non-negative"),
        (lambda w, p: mc_prediction(w, p, 0), ValueError, "n_episodes"),
        (lambda w, p: mc_prediction(w, p, 10.0), TypeError, "n_episodes"),
        (lambda w, p: mc_prediction(w, p, 10, method="sometimes"), ValueError, "method"),
        (lambda w, p: mc_prediction(w, p, 10, random_state=-1), ValueError, "random_state"),
        (lambda w, p: mc_prediction("grid", p, 10), TypeError, "env"),
        (lambda w, p: estimate_return(w, p, 10, start_state=99), ValueError, "start_state"),
        (lambda w, p: mc_control(w, 10, method="sarsa"), ValueError, "method"),
        (lambda w, p: mc_control(w, 10, epsilon=1.5), ValueError, "epsilon"),
        (lambda w, p: mc_control(w, 10, step_size=0), ValueError, "step_size"),
        (lambda w, p: mc_off_policy_prediction(w, p, np.eye(5)[[0] * 16], 10), ValueError, "cover"),
        (lambda w, p: fit_value_function(w, p, 10, features=np.zeros((3, 2))), ValueError, "features"),
    ],
)
def test_bad_algorithm_input_raises(call, error, message):
    world = GridWorld(**SMALL_WORLD)
    with pytest.raises(error, match=message):
        call(world, uniform_policy(world))


HALVES = np.full((2, 1, 2), 0.5)  # two states, one action, uniform transitions


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: TabularMDP(np.ones((2, 1, 3)), np.zeros((2, 1))), "shape"),
        (lambda: TabularMDP(np.full((2, 1, 2), 0.4), np.zeros((2, 1))), "sum to 1"),
        (lambda: TabularMDP(HALVES, np.zeros((3, 1))), "rewards"),
        (lambda: TabularMDP(HALVES, np.zeros((2, 1)), terminal_states=[5]), "terminal"),
        (lambda: TabularMDP(HALVES, np.zeros((2, 1)), terminal_states=[0, 1]), "every state"),
        (lambda: TabularMDP(HALVES, np.zeros((2, 1)), discount=1.5), "discount"),
        (lambda: TabularMDP(HALVES, np.zeros((2, 1)), initial_distribution=[0.5, 0.6]), "initial"),
        (lambda: GridWorld(shape=(3, 3), target=(3, 0)), "target"),
        (lambda: GridWorld(shape=(3, 3), target=(1, 1), forbidden=[(1, 1)]), "forbidden"),
    ],
)
def test_bad_environment_raises(build, message):
    with pytest.raises(ValueError, match=message):
        build()
