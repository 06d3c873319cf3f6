"""SplitMix64 in Numba: the 64-bit mixing function and the seeded random streams built on it, shared
by the n-gram hashing and Monte Carlo kernels.

SplitMix64 (Steele, Lea & Flood, 2014) advances its state by the golden-ratio constant and mixes
it; a stream is fully determined by its starting state, so a stream per (seed, episode) needs no
thread state. This module imports Numba at import time; public modules import it only on use.
"""

import numpy as np
from numba import njit

GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True)
def mix64(z):
    """SplitMix64 finaliser: a bijective mix of a uint64 in which every input bit moves the output."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def stream_start(seed, index):
    """Starting state (uint64) of stream ``index`` under ``seed`` (both non-negative int64)."""
    return mix64(np.uint64(seed) * GOLDEN_GAMMA + mix64(np.uint64(index) + GOLDEN_GAMMA))


@njit(cache=True)
def uniform(rng):
    """Next float64 in [0, 1) (53 random bits) of the stream whose state is ``rng[0]`` (uint64 (1,))."""
    rng[0] += GOLDEN_GAMMA
    return np.float64(mix64(rng[0]) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def below(rng, n):
    """Uniform int64 in [0, n) from the stream ``rng``."""
    return min(np.int64(uniform(rng) * n), n - 1)
