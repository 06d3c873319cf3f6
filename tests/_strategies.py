"""Hypothesis strategies (matrices with NaN, ties, constant columns, infinities and single rows;
gradients; split and tree parameters) and small builders shared by the kernel tests."""

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from treeforge import _core

#: Settings of every property test of the kernels: modest example counts, no deadline (shared CPUs).
KERNEL_SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

COLUMN_KINDS = ("continuous", "ties", "constant", "nan_mixed", "all_nan", "with_inf")


def make_column(kind, n_rows, rng):
    """(n_rows,) float64 column of the given kind (see COLUMN_KINDS)."""
    if kind == "continuous":
        return rng.normal(size=n_rows)
    if kind == "ties":
        return rng.integers(0, 4, size=n_rows).astype(np.float64)
    if kind == "constant":
        return np.full(n_rows, 3.5)
    if kind == "nan_mixed":
        column = rng.normal(size=n_rows)
        column[rng.random(n_rows) < 0.3] = np.nan
        return column
    if kind == "all_nan":
        return np.full(n_rows, np.nan)
    if kind == "with_inf":
        column = rng.uniform(-2, 2, size=n_rows)
        column[rng.random(n_rows) < 0.15] = -np.inf
        column[rng.random(n_rows) < 0.15] = np.inf
        return column
    raise ValueError(kind)


@st.composite
def feature_matrices(draw, min_rows=1, max_rows=120, max_features=4, kinds=COLUMN_KINDS):
    """C-contiguous float64 (n_rows, n_features) matrix whose columns are drawn from ``kinds``."""
    n_rows = draw(st.integers(min_rows, max_rows))
    n_features = draw(st.integers(1, max_features))
    column_kinds = draw(st.lists(st.sampled_from(kinds), min_size=n_features, max_size=n_features))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return np.ascontiguousarray(np.column_stack([make_column(k, n_rows, rng) for k in column_kinds]))


def random_gradients(rng, n_rows, grad_scale=5.0):
    """(grad, hess): float64 arrays of float32-representable values, grad in +-grad_scale, hess in (0.05, 2)."""
    grad = rng.uniform(-grad_scale, grad_scale, size=n_rows).astype(np.float32).astype(np.float64)
    hess = rng.uniform(0.05, 2.0, size=n_rows).astype(np.float32).astype(np.float64)
    return grad, hess


@st.composite
def split_params(draw):
    """Keyword parameters of the split constraints (names of _reference.split_candidates)."""
    maybe_zero = lambda hi: st.one_of(st.just(0.0), st.floats(0.0, hi))  # noqa: E731
    return {
        "l2": draw(maybe_zero(10.0)),
        "l1": draw(maybe_zero(3.0)),
        "min_samples_leaf": draw(st.integers(1, 30)),
        "min_child_weight": draw(st.one_of(maybe_zero(5.0), st.sampled_from([50.0, 1e3, 1e30]))),
        "min_split_gain": draw(maybe_zero(2.0)),
    }


def tree_config(l2=0.0, l1=0.0, min_samples_leaf=1, min_child_weight=0.0, min_split_gain=0.0):
    """A _core.TreeConfig holding the split constraints of ``split_params``."""
    config = _core.TreeConfig()
    config.l2_regularization = l2
    config.l1_regularization = l1
    config.min_samples_leaf = min_samples_leaf
    config.min_child_weight = min_child_weight
    config.min_split_gain = min_split_gain
    return config


def bin_matrix(X, max_bins=255, n_threads=1):
    """(mapper, binned, codes) of X binned with bins fitted on X itself."""
    mapper = _core.BinMapper(max_bins=max_bins).fit(X, n_threads)
    binned = mapper.transform(X, n_threads)
    return mapper, binned, binned.codes()


def gbdt_config(**params):
    """A _core.GbdtConfig with the given attributes set (learning_rate 1 unless given)."""
    config = _core.GbdtConfig()
    config.learning_rate = 1.0
    for name, value in params.items():
        setattr(config, name, value)
    return config


def train_booster(X, y, n_iter=1, sample_weight=None, max_bins=255, **params):
    """A _core.Booster on X (bins fitted on X) after ``n_iter`` updates; params set GbdtConfig fields."""
    mapper, binned, _ = bin_matrix(X, max_bins)
    booster = _core.Booster(gbdt_config(**params), mapper, binned, np.asarray(y, dtype=np.float64), sample_weight)
    for _ in range(n_iter):
        booster.update()
    return booster


def regression_problem(rng, n_rows, n_features, nan_fraction=0.1):
    """(X, y): float64 X with NaN holes, y a noisy nonlinear function of the first two features."""
    X = rng.normal(size=(n_rows, n_features))
    y = np.where(X[:, 0] > 0.2, 2.0, -1.0) + np.sin(3 * X[:, 1 % n_features]) + 0.1 * rng.normal(size=n_rows)
    X[rng.random(X.shape) < nan_fraction] = np.nan
    return X, y


def low_cardinality_columns(rng, n_rows):
    """X of binary, 3- and 4-valued features (the 4-valued one 10% missing) and two continuous ones,
    from a np.random.RandomState: features of few bins, which the core bundles in column order."""
    X = np.column_stack([rng.randint(0, 2, n_rows), rng.uniform(size=n_rows), rng.randint(0, 3, n_rows),
                         rng.randint(0, 4, n_rows), rng.randint(0, 2, n_rows), rng.uniform(size=n_rows),
                         rng.randint(0, 3, n_rows)]).astype(float)
    X[rng.uniform(size=n_rows) < 0.1, 3] = np.nan
    return X


def assert_invariant_to_column_order(make_estimator, X, y, seeds=(1, 2)):
    """A permutation of X's columns regroups its bundled features: the fitted model must not change."""
    model = make_estimator().fit(X, y)
    for seed in seeds:
        columns = np.random.RandomState(seed).permutation(X.shape[1])
        permuted = make_estimator().fit(X[:, columns], y)
        np.testing.assert_array_equal(permuted.predict_proba(X[:, columns]), model.predict_proba(X))
