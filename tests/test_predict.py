"""Prediction: margins and leaf indices equal a pure-Python walk of the model arrays (NaN follows
default_left), for float32 and float64 input and any thread count; iteration ranges add up; the
bins and raw thresholds route rows alike; links are sigmoid, softmax and exp."""

import numpy as np
import pytest
from _reference import inverse_link, leaf_of_codes, predict_leaf, predict_margin, tree_slice
from _strategies import KERNEL_SETTINGS, feature_matrices, regression_problem, train_booster
from hypothesis import given
from hypothesis import strategies as st

from treeforge import _core

MODELS = {
    "squared_error": dict(objective="squared_error", n_outputs=1),
    "binary_logloss": dict(objective="binary_logloss", n_outputs=1),
    "multiclass_softmax": dict(objective="multiclass_softmax", n_outputs=3),
    "poisson": dict(objective="poisson", n_outputs=1),
}


def labels_for(objective, y):
    if objective == "binary_logloss":
        return (y > 0.5).astype(float)
    if objective == "multiclass_softmax":
        return np.digitize(y, [-0.5, 1.5]).astype(float)
    if objective == "poisson":
        return np.floor(np.exp(y / 2))
    return y


@pytest.fixture(scope="module")
def models():
    """objective -> (model, X_train): five iterations of at most 8 leaves on data with NaN holes."""
    rng = np.random.default_rng(0)
    X, y = regression_problem(rng, 400, 4, nan_fraction=0.15)
    out = {}
    for name, params in MODELS.items():
        booster = train_booster(X, labels_for(params["objective"], y), 5, learning_rate=0.3, max_leaf_nodes=8,
                                min_samples_leaf=5, **params)
        out[name] = booster.model()
    return out, X


@pytest.fixture(scope="module")
def X_test():
    """Rows unlike the training rows: NaN, +-inf, values beyond the training range, exact edges."""
    rng = np.random.default_rng(1)
    X = rng.normal(scale=2.0, size=(300, 4))
    X[rng.random(X.shape) < 0.2] = np.nan
    X[:5] = [[np.inf, -np.inf, np.nan, 1e300], [-np.inf, np.inf, -1e300, np.nan], [np.nan] * 4,
             [0.0, -0.0, 0.0, 0.0], [1e-300, -1e-300, 5e-324, -5e-324]]
    return X


def with_edge_values(model, X):
    """X with rows equal to the model's split thresholds (the '<=' boundary) appended."""
    arrays = model.to_arrays()
    rows = np.tile(np.nanmedian(X, axis=0), (20, 1))
    internal = np.flatnonzero(arrays["feature"] >= 0)[:20]
    for i, k in enumerate(internal):
        rows[i, arrays["feature"][k]] = arrays["threshold"][k] if np.isfinite(arrays["threshold"][k]) else 1e308
    return np.vstack([X, rows])


@pytest.mark.parametrize("name", MODELS)
def test_predict_margin_equals_reference_walk(models, X_test, name):
    model = models[0][name]
    X = with_edge_values(model, X_test)
    got = model.predict_margin(X)
    assert got.shape == (X.shape[0], MODELS[name]["n_outputs"]) and got.dtype == np.float64
    np.testing.assert_array_equal(got, predict_margin(model.to_arrays(), X))


@pytest.mark.parametrize("name", MODELS)
def test_rows_without_nan_take_the_same_paths(models, X_test, name):
    """Blocks of rows with no NaN take a kernel without default directions: one NaN-free block
    (+-inf and edge values included) beside blocks that hold NaN routes every row as the reference."""
    model = models[0][name]
    X = with_edge_values(model, X_test)
    finite = np.where(np.isnan(X), np.inf, X)
    X_mixed = np.vstack([np.tile(finite, (3, 1)), X, np.tile(-finite, (3, 1))])
    np.testing.assert_array_equal(model.predict_margin(X_mixed, 2), predict_margin(model.to_arrays(), X_mixed))
    np.testing.assert_array_equal(model.predict_leaf(X_mixed, 2), predict_leaf(model.to_arrays(), X_mixed))


@pytest.mark.parametrize("name", MODELS)
def test_small_batches_equal_reference_walk(models, X_test, name):
    """Batches smaller than a lane group walk several trees per row at once; rows one at a
    time and in small batches, with and without NaN, give the reference's margins."""
    model = models[0][name]
    X = with_edge_values(model, X_test)
    expected = predict_margin(model.to_arrays(), X)
    for i in range(0, 60):
        np.testing.assert_array_equal(model.predict_margin(X[i:i + 1]), expected[i:i + 1])
    for lo in range(0, 60, 7):
        np.testing.assert_array_equal(model.predict_margin(X[lo:lo + 7], 2), expected[lo:lo + 7])
    np.testing.assert_array_equal(model.predict_margin(X[:3], 1, 1, 4),
                                  predict_margin(model.to_arrays(), X[:3], 1, 4))


@pytest.mark.parametrize("name", MODELS)
def test_partial_lane_groups_equal_reference_walk(models, X_test, name):
    """Blocks are copied lane-major in groups of 16 rows, the last group padded: batches of every
    size around a group and a block boundary, float32 and float64, give the reference's margins
    and leaves."""
    model = models[0][name]
    X = with_edge_values(model, X_test)
    X = np.vstack([X, X])[:530]
    for dtype in (np.float64, np.float32):
        with np.errstate(over="ignore"):  # +-1e300 become +-inf in float32
            Xd = X.astype(dtype)
        arrays = model.to_arrays()
        for n in [16, 17, 23, 31, 33, 47, 511, 513, 530]:
            np.testing.assert_array_equal(model.predict_margin(Xd[:n], 2), predict_margin(arrays, Xd[:n]))
            np.testing.assert_array_equal(model.predict_leaf(Xd[-n:], 1), predict_leaf(arrays, Xd[-n:]))


def test_wide_data_predicts_as_the_reference_walk():
    """Wide rows take smaller blocks (a block's lane-major copy is bounded): 300 features,
    batches across several blocks, margins and leaves equal the reference walk."""
    rng = np.random.default_rng(3)
    X, y = regression_problem(rng, 600, 300, nan_fraction=0.05)
    y = y + 3.0 * (X[:, 250] > 0) - 2.0 * (X[:, 299] > 0.5)  # splits on the last columns too
    model = train_booster(X, y, 4, max_leaf_nodes=16, min_samples_leaf=5).model()
    arrays = model.to_arrays()
    X_new = rng.normal(size=(1000, 300))
    X_new[rng.random(X_new.shape) < 0.05] = np.nan
    np.testing.assert_array_equal(model.predict_margin(X_new, 2), predict_margin(arrays, X_new))
    np.testing.assert_array_equal(model.predict_leaf(X_new, 2), predict_leaf(arrays, X_new))


@pytest.mark.parametrize("name", MODELS)
def test_predict_leaf_equals_reference_walk(models, X_test, name):
    model = models[0][name]
    arrays = model.to_arrays()
    X = with_edge_values(model, X_test)
    leaves = model.predict_leaf(X)
    assert leaves.shape == (X.shape[0], model.n_trees) and leaves.dtype == np.int32
    np.testing.assert_array_equal(leaves, predict_leaf(arrays, X))
    for t in range(model.n_trees):  # every index is a leaf of its own tree
        lo, hi = tree_slice(arrays, t)
        assert np.all(leaves[:, t] < hi - lo) and np.all(arrays["feature"][lo + leaves[:, t]] == -1)


@pytest.mark.parametrize("name", MODELS)
def test_bins_and_raw_thresholds_route_rows_alike(models, X_test, name):
    model = models[0][name]
    arrays = model.to_arrays()
    X = with_edge_values(model, X_test)
    mapper = model.bin_mapper
    codes = mapper.transform(X).codes()
    by_codes = np.array([[leaf_of_codes(arrays, t, c, mapper.n_bins) for t in range(model.n_trees)] for c in codes])
    np.testing.assert_array_equal(by_codes, model.predict_leaf(X))


@pytest.mark.parametrize("name", MODELS)
def test_float32_float64_and_layouts_agree(models, X_test, name):
    model = models[0][name]
    with np.errstate(over="ignore"):  # +-1e300 become +-inf in float32, which is still a valid input
        X32 = X_test.astype(np.float32)
    X64 = X32.astype(np.float64)
    want = model.predict_margin(X64)
    np.testing.assert_array_equal(model.predict_margin(X32), want)
    np.testing.assert_array_equal(model.predict_leaf(X32), model.predict_leaf(X64))
    np.testing.assert_array_equal(model.predict_margin(np.asfortranarray(X64)), want)
    np.testing.assert_array_equal(model.predict_margin(np.asfortranarray(X32)), want)
    wide = np.zeros((X64.shape[0], 8))
    wide[:, ::2] = X64
    np.testing.assert_array_equal(model.predict_margin(wide[:, ::2]), want)  # strided view


@pytest.mark.parametrize("name", MODELS)
def test_thread_counts_give_identical_predictions(models, name):
    model = models[0][name]
    rng = np.random.default_rng(2)
    X = rng.normal(size=(2_000, 4))  # many 64-row blocks
    X[rng.random(X.shape) < 0.1] = np.nan
    np.testing.assert_array_equal(model.predict_margin(X, 2), model.predict_margin(X, 1))
    np.testing.assert_array_equal(model.predict_leaf(X, 2), model.predict_leaf(X, 1))


@pytest.mark.parametrize("name", MODELS)
def test_iteration_ranges_add_up(models, X_test, name):
    model = models[0][name]
    arrays = model.to_arrays()
    n_iter = model.n_iter
    assert n_iter == 5 and model.n_trees == 5 * MODELS[name]["n_outputs"]
    full = model.predict_margin(X_test)
    np.testing.assert_array_equal(model.predict_margin(X_test, 1, 0, n_iter), full)
    np.testing.assert_array_equal(model.predict_margin(X_test, 1, 0, n_iter + 3), full)  # clamped
    base = np.broadcast_to(arrays["base_score"], full.shape)
    np.testing.assert_array_equal(model.predict_margin(X_test, 1, 0, 0), base)
    for k in range(1, n_iter + 1):
        head = model.predict_margin(X_test, 1, 0, k)
        tail = model.predict_margin(X_test, 1, k, -1)
        np.testing.assert_allclose(head + tail, full, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(tail, predict_margin(arrays, X_test, k, n_iter))
        # The base score belongs to the first range only.
        np.testing.assert_array_equal(model.predict_margin(X_test, 1, k, k), np.zeros_like(full))


def test_invalid_iteration_range_and_feature_count_raise(models):
    model = models[0]["squared_error"]
    with pytest.raises(ValueError):
        model.predict_margin(np.zeros((3, 4)), 1, 3, 2)
    with pytest.raises(ValueError):
        model.predict_margin(np.zeros((3, 5)))
    with pytest.raises(ValueError):
        model.predict_leaf(np.zeros((3, 3)))


@pytest.mark.parametrize("objective, n_outputs", [("squared_error", 1), ("binary_logloss", 1),
                                                  ("multiclass_softmax", 3), ("poisson", 1), ("gamma", 1)])
def test_apply_link(objective, n_outputs):
    rng = np.random.default_rng(3)
    margin = rng.normal(scale=3.0, size=(50, n_outputs))
    margin[:2] = [[700.0] * n_outputs, [-700.0] * n_outputs]
    if n_outputs > 1:
        margin[2] = [900.0, -900.0, 0.0]
    before = margin.copy()
    got = _core.apply_link(objective, margin)
    np.testing.assert_array_equal(margin, before)  # the input is not modified
    assert got.shape == margin.shape and np.all(np.isfinite(got))
    np.testing.assert_allclose(got, inverse_link(objective, margin), rtol=1e-13, atol=1e-300)
    if objective == "multiclass_softmax":
        np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-15)


@KERNEL_SETTINGS
@given(X=feature_matrices(min_rows=2, max_rows=80), seed=st.integers(0, 2**32 - 1),
       n_iter=st.integers(1, 4), max_leaf_nodes=st.sampled_from([2, 4, 16]))
def test_random_models_predict_as_the_reference_walk(X, seed, n_iter, max_leaf_nodes):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=X.shape[0])
    model = train_booster(X, y, n_iter, learning_rate=0.5, max_leaf_nodes=max_leaf_nodes, min_samples_leaf=1).model()
    arrays = model.to_arrays()
    X_new = np.vstack([X, rng.normal(scale=3.0, size=(10, X.shape[1])), np.full((1, X.shape[1]), np.nan)])
    np.testing.assert_array_equal(model.predict_margin(X_new), predict_margin(arrays, X_new))
    np.testing.assert_array_equal(model.predict_leaf(X_new), predict_leaf(arrays, X_new))
