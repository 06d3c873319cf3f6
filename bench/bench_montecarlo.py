"""Monte Carlo rollouts: episodes per second of treeforge.montecarlo.mc_prediction (Numba, 1 and 2
threads) beside a plain-Python rollout loop of the same environment and the same first-visit
return accumulation.

Workloads: the default 5x5 GridWorld (continuing, uniform random policy, episodes cut at 100
steps) and Blackjack with the "stick on 20 or 21" policy. Medians of ``--repeats`` runs, after an
untimed warm-up call that loads (or compiles) the Numba kernels.

    python bench/bench_montecarlo.py               # about half a minute
    python bench/bench_montecarlo.py --scale 0.1   # quick look
"""

import argparse
import os
import random
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

import numba  # noqa: E402

from treeforge.montecarlo import Blackjack, GridWorld, mc_prediction  # noqa: E402

GRID_STEPS = 100


# ------------------------------------------------------------------------------- plain Python


def python_grid_prediction(world, n_episodes, seed):
    """First-visit MC prediction of a uniform random policy, one Python step at a time."""
    P, R = world.transition_matrix(), world.expected_rewards()
    next_state = P.argmax(axis=2).tolist()
    reward = R.tolist()
    n_states, n_actions, discount = world.n_states, world.n_actions, world.discount
    rng = random.Random(seed)
    value_sum, visits = [0.0] * n_states, [0] * n_states
    for _ in range(n_episodes):
        state = rng.randrange(n_states)
        states, rewards = [], []
        for _ in range(GRID_STEPS):
            action = rng.randrange(n_actions)
            states.append(state)
            rewards.append(reward[state][action])
            state = next_state[state][action]
        first = {}
        for t, s in enumerate(states):
            first.setdefault(s, t)
        ret = 0.0
        kept = (GRID_STEPS + 1) // 2  # the same half-episode rule as treeforge for cut episodes
        for t in range(GRID_STEPS - 1, -1, -1):
            ret = discount * ret + rewards[t]
            if t < kept and first[states[t]] == t:
                value_sum[states[t]] += ret
                visits[states[t]] += 1
    return value_sum, visits


def _card(rng):
    return min(rng.randint(1, 13), 10)


def python_blackjack_prediction(n_episodes, seed):
    """First-visit MC prediction of "stick on 20 or 21" in blackjack, in plain Python."""
    rng = random.Random(seed)
    value_sum, visits = [0.0] * 200, [0] * 200
    for _ in range(n_episodes):
        first, second = _card(rng), _card(rng)
        total, usable = first + second, 0
        if (first == 1 or second == 1) and total + 10 <= 21:
            total, usable = total + 10, 1
        while total < 12:
            card = _card(rng)
            total += card
            if card == 1 and total + 10 <= 21:
                total, usable = total + 10, 1
        dealer_card = _card(rng)
        visited = []
        reward = None
        while reward is None:
            visited.append((total - 12) * 20 + (dealer_card - 1) * 2 + usable)
            if total < 20:
                total += _card(rng)
                if total > 21 and usable:
                    total, usable = total - 10, 0
                if total > 21:
                    reward = -1.0
                continue
            dealer_sum = dealer_card + (hidden := _card(rng))
            has_ace = dealer_card == 1 or hidden == 1
            while True:
                value = dealer_sum + 10 if has_ace and dealer_sum + 10 <= 21 else dealer_sum
                if value >= 17:
                    break
                card = _card(rng)
                dealer_sum += card
                has_ace = has_ace or card == 1
            reward = 1.0 if value > 21 or total > value else (0.0 if total == value else -1.0)
        for state in visited:  # states never repeat within a hand; undiscounted returns
            value_sum[state] += reward
            visits[state] += 1
    return value_sum, visits


# ------------------------------------------------------------------------------------ harness


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def stick_on_20():
    policy = np.zeros((201, 2))
    player_sum = 12 + np.arange(200) // 20
    policy[:200, 0] = player_sum >= 20
    policy[:200, 1] = player_sum < 20
    policy[200] = 0.5
    return policy


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every episode count")
    args = parser.parse_args()

    world, blackjack = GridWorld(), Blackjack()
    uniform = np.full((world.n_states, world.n_actions), 1 / world.n_actions)
    cases = [
        ("GridWorld 5x5, 100 steps", int(200_000 * args.scale), int(2_000 * args.scale),
         lambda n: mc_prediction(world, uniform, n, max_steps=GRID_STEPS, random_state=0),
         lambda n: python_grid_prediction(world, n, seed=0)),
        ("Blackjack, stick on 20", int(2_000_000 * args.scale), int(100_000 * args.scale),
         lambda n: mc_prediction(blackjack, stick_on_20(), n, random_state=0),
         lambda n: python_blackjack_prediction(n, seed=0)),
    ]
    max_threads = numba.config.NUMBA_NUM_THREADS
    thread_counts = [1, 2] if max_threads >= 2 else [1]
    print(f"\nload average {os.getloadavg()[0]:.1f}; Numba threads available: {max_threads}\n")
    print("| environment | method | episodes | median s | episodes/s | vs plain Python |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for name, n_numba, n_python, run_numba, run_python in cases:
        run_numba(100)  # load the kernels
        python_rate = n_python / median_time(lambda: run_python(n_python), args.repeats)
        print(f"| {name} | plain-Python loop | {n_python:,} | {n_python / python_rate:.2f} | "
              f"{python_rate:,.0f} | 1.0x |")
        for n_threads in thread_counts:
            numba.set_num_threads(n_threads)
            seconds = median_time(lambda: run_numba(n_numba), args.repeats)
            print(f"| {name} | treeforge, {n_threads} thread{'s' if n_threads > 1 else ''} | {n_numba:,} | "
                  f"{seconds:.2f} | {n_numba / seconds:,.0f} | {n_numba / seconds / python_rate:.0f}x |")
        numba.set_num_threads(max_threads)


if __name__ == "__main__":
    main()
