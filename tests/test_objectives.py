"""Objectives: gradients and hessians equal the closed forms (weighted, output-major), losses equal
the NumPy formulas, the gradient is the derivative of the loss, base scores are the best constants,
and labels outside a loss's domain are rejected."""

import numpy as np
import pytest
import scipy.special
from _reference import (
    base_margin,
    from_output_major,
    mean_loss,
    to_output_major,
    unweighted_gradients,
)
from _strategies import KERNEL_SETTINGS, bin_matrix, gbdt_config
from hypothesis import given
from hypothesis import strategies as st

from treeforge import _core

OBJECTIVES = [("squared_error", 1), ("binary_logloss", 1), ("multiclass_softmax", 3), ("multiclass_softmax", 2),
              ("poisson", 1), ("gamma", 1)]


def gradients(objective, n_outputs, y, margin_rows, sample_weight=None):
    """The core's (grad, hess) as (n, K) arrays and its mean loss, for (n, K) margins."""
    g, h, loss = _core._testing.gradients(objective, n_outputs, y, to_output_major(margin_rows), sample_weight)
    return from_output_major(g, n_outputs), from_output_major(h, n_outputs), loss


def valid_labels(objective, n_outputs, rng, n):
    """(n,) float64 labels inside the objective's domain."""
    if objective == "squared_error":
        return rng.normal(scale=3.0, size=n)
    if objective in ("binary_logloss", "multiclass_softmax"):
        return rng.integers(0, max(n_outputs, 2), size=n).astype(np.float64)
    if objective == "poisson":
        return rng.poisson(2.0, size=n).astype(np.float64)
    return rng.gamma(2.0, 1.5, size=n)  # gamma


def problem(objective, n_outputs, seed, n=300, weighted=False):
    rng = np.random.default_rng(seed)
    y = valid_labels(objective, n_outputs, rng, n)
    margin = rng.uniform(-3, 3, size=(n, n_outputs))
    weight = rng.uniform(0.1, 4.0, size=n) if weighted else None
    return y, margin, weight


@pytest.mark.parametrize("objective, n_outputs", OBJECTIVES)
@pytest.mark.parametrize("weighted", [False, True])
def test_gradients_equal_closed_forms(objective, n_outputs, weighted):
    y, margin, weight = problem(objective, n_outputs, seed=n_outputs, weighted=weighted)
    g, h, _ = gradients(objective, n_outputs, y, margin, weight)
    want_g, want_h = unweighted_gradients(objective, y, margin)
    if weighted:
        want_g, want_h = want_g * weight[:, None], want_h * weight[:, None]
    # Stored as float32, possibly rounded twice (before and after the weight): 2 ulp of float32.
    np.testing.assert_allclose(g, want_g, rtol=2.5e-7, atol=1e-12)
    np.testing.assert_allclose(h, want_h, rtol=2.5e-7, atol=1e-12)
    assert np.all(h > 0) or objective == "gamma"


@pytest.mark.parametrize("objective, n_outputs", OBJECTIVES)
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_equals_weighted_mean_of_formula(objective, n_outputs, weighted):
    y, margin, weight = problem(objective, n_outputs, seed=10 + n_outputs, weighted=weighted)
    _, _, loss = gradients(objective, n_outputs, y, margin, weight)
    assert loss == pytest.approx(mean_loss(objective, y, margin, weight), rel=1e-12)


def test_binary_log_loss_is_accurate_to_a_few_ulp_at_any_margin():
    # The core's max(m, 0) + log(1 + e^-|m|) - y m has no library calls (so that it vectorises):
    # per row it must match log(1 + e^(+-m)) to a few ulp, tiny losses of confident right
    # answers included, where y m does not cancel the rest; where it does (y = 1, m > 0), to a
    # few ulp of m, as the formula with library calls.
    rng = np.random.default_rng(3)
    margins = np.concatenate([
        [0.0, 1e-300, -1e-300, 1e-17, 1e-9, -1e-9, 0.5, -0.5, 1.0, 36.7, 37.0, 40.0, 700.0, 745.0, 800.0, -800.0],
        rng.uniform(-50, 50, size=300), rng.normal(scale=3.0, size=300), np.exp(rng.uniform(-40, 6, size=300)),
    ])
    for m in margins:
        for y in (0.0, 1.0):
            _, _, loss = gradients("binary_logloss", 1, np.array([y]), np.array([[m]]))
            want = np.logaddexp(0.0, -m if y == 1.0 else m)
            cancelled = 4.5e-16 * abs(m) if y * m > 0 else 0.0
            # 1e-307: exp without a library call keeps to normal results (e^-800 -> e^-708).
            assert abs(loss - want) <= 8e-16 * want + cancelled + 1e-307, (y, m)


@KERNEL_SETTINGS
@given(objective_outputs=st.sampled_from(OBJECTIVES), seed=st.integers(0, 2**32 - 1))
def test_gradient_and_hessian_are_derivatives_of_the_loss(objective_outputs, seed):
    objective, n_outputs = objective_outputs
    y, margin, _ = problem(objective, n_outputs, seed, n=4)
    for i in range(len(y)):  # one row at a time: the mean loss is that row's loss
        yi, mi = y[i:i + 1], margin[i:i + 1]
        g, h, loss = gradients(objective, n_outputs, yi, mi)
        for k in range(n_outputs):
            eps = 1e-4
            step = np.zeros_like(mi)
            step[0, k] = eps
            up = gradients(objective, n_outputs, yi, mi + step)[2]
            down = gradients(objective, n_outputs, yi, mi - step)[2]
            scale = abs(loss) + 1
            assert (up - down) / (2 * eps) == pytest.approx(g[0, k], rel=1e-5, abs=1e-6 * scale)
            # Multiclass hessians are the second derivative times K/(K-1) (Friedman's step size).
            factor = n_outputs / (n_outputs - 1) if objective == "multiclass_softmax" else 1.0
            assert factor * (up - 2 * loss + down) / eps**2 == pytest.approx(h[0, k], rel=1e-3, abs=1e-3 * scale)


def test_multiclass_layout_is_output_major():
    # Margins differ per class so that a transposed layout gives other gradients.
    y = np.array([0.0, 2.0])
    margin_rows = np.array([[0.0, 1.0, 2.0], [3.0, -1.0, 0.5]])
    flat = to_output_major(margin_rows)
    np.testing.assert_array_equal(flat, [0.0, 3.0, 1.0, -1.0, 2.0, 0.5])
    g, _, _ = _core._testing.gradients("multiclass_softmax", 3, y, flat, None)
    want, _ = unweighted_gradients("multiclass_softmax", y, margin_rows)
    np.testing.assert_allclose(from_output_major(g, 3), want, rtol=2.5e-7)


def test_binary_gradients_over_the_whole_margin_range():
    """The binary gradient's exp is computed without a library call (range reduction by powers of
    two, then a polynomial): across margins from -700 to 700, on both sides of every power-of-two
    boundary, gradient and hessian equal scipy's expit to float32 rounding."""
    margin = np.concatenate([np.linspace(-700, 700, 4001), np.linspace(-40, 40, 4001),
                             np.log(2) * np.arange(-60, 61) + 1e-12])
    for label in (0.0, 1.0):
        y = np.full(margin.size, label)
        g, h, _ = gradients("binary_logloss", 1, y, margin[:, None])
        p = scipy.special.expit(margin)
        np.testing.assert_allclose(g[:, 0], (p - y).astype(np.float32), rtol=2.5e-7, atol=1e-37)
        np.testing.assert_allclose(h[:, 0], np.maximum(p * (1 - p), 1e-16).astype(np.float32), rtol=2.5e-7, atol=1e-37)


def test_extreme_margins_stay_finite():
    y = np.array([0.0, 1.0, 0.0, 1.0])
    margin = np.array([[-800.0], [-800.0], [800.0], [800.0]])
    g, h, loss = gradients("binary_logloss", 1, y, margin)
    np.testing.assert_allclose(g[:, 0], [0.0, -1.0, 1.0, 0.0], atol=1e-300)
    assert np.all(np.isfinite(h)) and np.all(h > 0)
    assert loss == pytest.approx(800.0 / 2)
    g, h, loss = gradients("multiclass_softmax", 2, np.array([0.0]), np.array([[-900.0, 900.0]]))
    np.testing.assert_allclose(g[0], [-1.0, 1.0])
    assert loss == pytest.approx(1800.0)


def booster_for(objective, n_outputs, y, sample_weight=None):
    X = np.arange(len(y), dtype=np.float64)[:, None]
    mapper, binned, _ = bin_matrix(X)
    config = gbdt_config(objective=objective, n_outputs=n_outputs)
    return _core.Booster(config, mapper, binned, np.asarray(y, dtype=np.float64), sample_weight)


@pytest.mark.parametrize("objective, n_outputs", OBJECTIVES)
@pytest.mark.parametrize("weighted", [False, True])
def test_base_score_and_training_loss(objective, n_outputs, weighted):
    y, _, weight = problem(objective, n_outputs, seed=20, n=200, weighted=weighted)
    booster = booster_for(objective, n_outputs, y, weight)
    margin = booster.train_margin()
    want = base_margin(objective, y, n_outputs, weight)
    np.testing.assert_allclose(margin, np.broadcast_to(want, margin.shape), rtol=1e-12, atol=1e-12)
    assert booster.train_loss() == pytest.approx(mean_loss(objective, y, margin, weight), rel=1e-12)


@pytest.mark.parametrize("objective, n_outputs, bad_label", [
    ("binary_logloss", 1, 2.0),
    ("binary_logloss", 1, 0.5),
    ("poisson", 1, -1.0),
    ("poisson", 1, np.inf),
    ("gamma", 1, 0.0),
    ("gamma", 1, -2.0),
    ("multiclass_softmax", 3, 3.0),
    ("multiclass_softmax", 3, -1.0),
    ("multiclass_softmax", 3, 1.5),
    ("squared_error", 1, np.nan),
])
def test_bad_labels_raise_value_error(objective, n_outputs, bad_label):
    y = np.array([1.0, 1.0, bad_label, 1.0])
    # The message names the objective, the value and its row (built only when the check fails).
    with pytest.raises(ValueError, match=rf"^{objective} needs .*, got y={bad_label:f} at row 2$"):
        booster_for(objective, n_outputs, y)


def test_gradient_kernel_rejects_bad_labels():
    # Core bug (bindings.cpp, _testing.gradients): labels are never checked, so bad labels give
    # numbers, and an out-of-range class index makes the multiclass loss read margin[y * n + i]
    # past the end of the margin buffer.
    accepted = []
    for objective, n_outputs, bad_label in [("binary_logloss", 1, 2.0), ("poisson", 1, -1.0), ("gamma", 1, 0.0),
                                            ("multiclass_softmax", 3, 5.0)]:
        try:
            _core._testing.gradients(objective, n_outputs, np.array([1.0, bad_label]), np.zeros(2 * n_outputs), None)
            accepted.append((objective, bad_label))
        except ValueError:
            pass
    assert not accepted, f"labels accepted without ValueError: {accepted}"


def test_sample_weight_is_optional_as_in_the_stub():
    # _core.pyi: gradients(objective, n_outputs, y, margin, sample_weight=None). The binding declares
    # no default and no argument names, so the documented call fails with TypeError.
    y, margin = np.array([0.0, 1.0]), np.array([0.5, -0.5])
    want = _core._testing.gradients("binary_logloss", 1, y, margin, None)
    got = _core._testing.gradients("binary_logloss", 1, y, margin)
    np.testing.assert_array_equal(got[0], want[0])
    got = _core._testing.gradients(objective="binary_logloss", n_outputs=1, y=y, margin=margin)
    np.testing.assert_array_equal(got[0], want[0])


@pytest.mark.parametrize("objective, n_outputs", [("logloss", 1), ("squared_error", 2), ("multiclass_softmax", 1)])
def test_unknown_objective_or_output_count_raises(objective, n_outputs):
    with pytest.raises(ValueError):
        _core._testing.gradients(objective, n_outputs, np.zeros(2), np.zeros(2 * n_outputs), None)
