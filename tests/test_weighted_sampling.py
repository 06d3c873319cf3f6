"""Weighted and bootstrap sampling of the core: frequencies match the weights (chi-square, fixed seeds), zeros are never drawn, draws are reproducible."""

import numpy as np
import pytest
from scipy import stats

from treeforge import _core

# Each statistical test uses fixed seeds, so it is deterministic; the threshold is what a correct
# sampler would fail with probability 1e-6 if the seed were random.
P_VALUE_FLOOR = 1e-6


def _chi_square_p(counts, weights):
    """p-value of observed counts against expected counts proportional to the positive weights."""
    positive = weights > 0
    expected = counts.sum() * weights[positive] / weights[positive].sum()
    return stats.chisquare(counts[positive], expected).pvalue


@pytest.fixture
def weights():
    rng = np.random.RandomState(0)
    w = rng.exponential(size=40)
    w[[3, 17, 29]] = 0.0  # never drawn
    w[5] = 25.0  # a heavy row
    return w


def test_alias_sampler_frequencies_match_weights(weights):
    n_draws = 400_000
    counts = _core.sample_weighted(weights, n_draws, seed=123)
    assert counts.dtype == np.uint32 and counts.shape == weights.shape
    assert counts.sum() == n_draws
    assert np.all(counts[weights == 0] == 0)
    assert _chi_square_p(counts, weights) > P_VALUE_FLOOR
    # Every frequency within 5 standard deviations of its probability.
    p = weights / weights.sum()
    sd = np.sqrt(n_draws * p * (1 - p))
    assert np.all(np.abs(counts - n_draws * p) <= 5 * sd + 1e-9)


def test_alias_sampler_detects_wrong_weights(weights):
    """The test above can fail: the same draws are far from a perturbed weight vector."""
    counts = _core.sample_weighted(weights, 400_000, seed=123)
    perturbed = weights.copy()
    perturbed[5] *= 1.05
    assert _chi_square_p(counts, perturbed) < P_VALUE_FLOOR


def test_sampling_is_reproducible_and_seeded(weights):
    a = _core.sample_weighted(weights, 1000, seed=7)
    np.testing.assert_array_equal(a, _core.sample_weighted(weights, 1000, seed=7))
    assert not np.array_equal(a, _core.sample_weighted(weights, 1000, seed=8))


def test_single_positive_weight_takes_every_draw():
    w = np.zeros(10)
    w[4] = 0.3
    counts = _core.sample_weighted(w, 1000, seed=0)
    assert counts[4] == 1000 and counts.sum() == 1000


@pytest.mark.parametrize("bad", [[1.0, -1.0], [np.nan, 1.0], [np.inf, 1.0], [0.0, 0.0], []])
def test_invalid_weights_raise(bad):
    with pytest.raises(ValueError):
        _core.sample_weighted(np.asarray(bad, dtype=np.float64), 10, seed=0)


def test_weighted_subsample_without_replacement(weights):
    """Efraimidis-Spirakis: k distinct rows, zeros never; with k = 1 the row is drawn with p = w / sum(w)."""
    counts = _core.sample_weighted(weights, 10, seed=3, replace=False)
    assert set(np.unique(counts)) <= {0, 1} and counts.sum() == 10
    assert np.all(counts[weights == 0] == 0)
    everything = _core.sample_weighted(weights, 1000, seed=3, replace=False)
    np.testing.assert_array_equal(everything, (weights > 0).astype(np.uint32))
    first = np.zeros_like(weights)
    for seed in range(20_000):
        first += _core.sample_weighted(weights, 1, seed=seed, replace=False)
    assert _chi_square_p(first, weights) > P_VALUE_FLOOR


def _forest_config(bootstrap=True, n_samples_bootstrap=0, seed=0):
    config = _core.ForestConfig()
    config.criterion = "squared_error"
    config.bootstrap = bootstrap
    config.n_samples_bootstrap = n_samples_bootstrap
    config.seed = seed
    return config


def test_uniform_bootstrap_counts():
    """Each tree draws n_samples_bootstrap rows uniformly with replacement; ~63.2% of rows are in a bag of n."""
    n, n_trees = 500, 400
    config = _forest_config()
    counts = np.array([_core.forest_bag_counts(config, n, None, tree) for tree in range(n_trees)])
    assert np.all(counts.sum(axis=1) == n)
    totals = counts.sum(axis=0).astype(np.float64)
    assert _chi_square_p(totals, np.ones(n)) > P_VALUE_FLOOR
    in_bag = (counts > 0).mean()
    assert abs(in_bag - (1 - (1 - 1 / n) ** n)) < 0.005
    # A draw count is Binomial(n, 1/n): its mean and variance.
    assert abs(counts.mean() - 1) < 1e-12 and abs(counts.var() - (1 - 1 / n)) < 0.02
    assert not np.array_equal(counts[0], counts[1])


def test_weighted_bootstrap_counts(weights):
    n_trees = 2000
    config = _forest_config(n_samples_bootstrap=100, seed=5)
    counts = np.array([_core.forest_bag_counts(config, weights.size, weights, tree) for tree in range(n_trees)])
    assert np.all(counts.sum(axis=1) == 100)
    assert np.all(counts[:, weights == 0] == 0)
    assert _chi_square_p(counts.sum(axis=0).astype(np.float64), weights) > P_VALUE_FLOOR


def test_no_bootstrap_uses_every_row():
    counts = _core.forest_bag_counts(_forest_config(bootstrap=False), 50, None, 3)
    np.testing.assert_array_equal(counts, np.ones(50, dtype=np.uint32))
