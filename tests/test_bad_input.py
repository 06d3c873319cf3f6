"""Bad input: every mistake is a ValueError/TypeError naming it, and random data never crashes the estimators."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.exceptions import NotFittedError

from treeforge import HistGradientBoostingClassifier, HistGradientBoostingRegressor, RandomForestRegressor

BOTH = [HistGradientBoostingRegressor, HistGradientBoostingClassifier]


def _data(n_samples=40, n_features=3, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_samples, n_features))
    return X, (X[:, 0] > 0).astype(int)


@pytest.mark.parametrize("Estimator", BOTH)
@pytest.mark.parametrize("bad,match", [(np.nan, "Input y contains NaN"), (np.inf, "Input y contains infinity")])
def test_non_finite_target(Estimator, bad, match):
    X, y = _data()
    y = y.astype(float)
    y[3] = bad
    with pytest.raises(ValueError, match=match):
        Estimator().fit(X, y)


@pytest.mark.parametrize("Estimator", BOTH)
def test_feature_with_only_infinite_values(Estimator):
    X, y = _data()
    X[:, 1] = np.where(np.arange(len(y)) % 3 == 0, np.nan, np.inf)
    X[::2, 1] = -np.inf
    with pytest.raises(ValueError, match="Feature 1 has only infinite values"):
        Estimator().fit(X, y)
    X[5, 1] = 0.0  # one finite value is enough
    Estimator(max_iter=2).fit(X, y)


def test_feature_with_only_infinite_values_is_named():
    pd = pytest.importorskip("pandas")
    X, y = _data()
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["c"] = np.inf
    with pytest.raises(ValueError, match=r"Feature 2 \('c'\) has only infinite values"):
        HistGradientBoostingRegressor().fit(frame, y)


def test_all_missing_feature_is_allowed():
    X, y = _data()
    X[:, 2] = np.nan
    model = HistGradientBoostingRegressor(max_iter=3).fit(X, y)
    assert np.all(np.isfinite(model.predict(X)))


@pytest.mark.parametrize("Estimator", BOTH)
@pytest.mark.parametrize(
    "weight,error,match",
    [
        (lambda n: np.where(np.arange(n) == 2, np.nan, 1.0), ValueError, "sample_weight contains NaN"),
        (lambda n: np.where(np.arange(n) == 2, np.inf, 1.0), ValueError, "sample_weight contains infinity"),
        (lambda n: np.where(np.arange(n) == 2, -1.0, 1.0), ValueError, "Negative values in data passed to `sample_weight`"),
        (lambda n: np.zeros(n), ValueError, "non-zero"),
        (lambda n: np.ones(n + 1), ValueError, "sample_weight.shape"),
    ],
    ids=["nan", "inf", "negative", "all-zero", "length"],
)
def test_bad_sample_weight(Estimator, weight, error, match):
    X, y = _data()
    with pytest.raises(error, match=match):
        Estimator().fit(X, y, sample_weight=weight(len(y)))


def test_class_weight_zeroing_every_sample():
    X, y = _data()
    with pytest.raises(ValueError, match="zero for every sample"):
        HistGradientBoostingClassifier(class_weight={0: 0.0, 1: 0.0}).fit(X, y)


@pytest.mark.parametrize("Estimator", BOTH)
def test_empty_and_malformed_X(Estimator):
    X, y = _data()
    with pytest.raises(ValueError, match="0 sample"):
        Estimator().fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="0 feature"):
        Estimator().fit(X[:, :0], y)
    with pytest.raises(ValueError, match="Reshape your data"):
        Estimator().fit(X[:, 0], y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        Estimator().fit(X, y[:-1])
    with pytest.raises(ValueError, match="Complex data not supported"):
        Estimator().fit(X + 1j, y)


@pytest.mark.parametrize("Estimator", BOTH)
def test_non_numeric_X(Estimator):
    X, y = _data()
    text = X.astype(str)
    text[0, 0] = "abc"
    with pytest.raises(ValueError, match="could not convert string to float"):
        Estimator().fit(text, y)
    objects = X.astype(object)
    objects[0, 0] = {"a": 1}
    with pytest.raises(TypeError, match="must be a string or a (real )?number"):
        Estimator().fit(objects, y)


@pytest.mark.parametrize("Estimator", BOTH)
def test_predict_checks(Estimator):
    X, y = _data()
    with pytest.raises(NotFittedError):
        Estimator().predict(X)
    model = Estimator(max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features, but .* is expecting 3 features"):
        model.predict(X[:, :2])
    with pytest.raises(ValueError, match="Reshape your data"):
        model.predict(X[0])


def test_single_class():
    X, y = _data()
    with pytest.raises(ValueError, match="only one class: 'cat'"):
        HistGradientBoostingClassifier().fit(X, np.full(len(y), "cat"))
    with pytest.raises(ValueError, match="only one class: 1"):
        HistGradientBoostingClassifier().fit(X, np.ones(len(y), dtype=int))


def test_continuous_target_for_classifier():
    X, _ = _data()
    with pytest.raises(ValueError, match="Unknown label type"):
        HistGradientBoostingClassifier().fit(X, np.linspace(0, 1, len(X)))


@pytest.mark.parametrize(
    "Estimator,params,match",
    [
        (HistGradientBoostingRegressor, {"learning_rate": 0.0}, "'learning_rate' parameter"),
        (HistGradientBoostingRegressor, {"max_iter": 0}, "'max_iter' parameter"),
        (HistGradientBoostingRegressor, {"max_leaf_nodes": 1}, "'max_leaf_nodes' parameter"),
        (HistGradientBoostingRegressor, {"max_depth": 0}, "'max_depth' parameter"),
        (HistGradientBoostingRegressor, {"min_samples_leaf": 0}, "'min_samples_leaf' parameter"),
        (HistGradientBoostingRegressor, {"max_bins": 256}, "'max_bins' parameter"),
        (HistGradientBoostingRegressor, {"max_features": 0.0}, "'max_features' parameter"),
        (HistGradientBoostingRegressor, {"validation_fraction": 1.5}, "'validation_fraction' parameter"),
        (HistGradientBoostingRegressor, {"early_stopping": "yes"}, "'early_stopping' parameter"),
        (HistGradientBoostingRegressor, {"random_state": "seed"}, "'random_state' parameter"),
        (HistGradientBoostingRegressor, {"l1_regularization": -1.0}, "'l1_regularization' parameter"),
        (HistGradientBoostingRegressor, {"min_split_gain": -1.0}, "'min_split_gain' parameter"),
        (HistGradientBoostingRegressor, {"min_child_weight": -1.0}, "'min_child_weight' parameter"),
        (HistGradientBoostingRegressor, {"subsample": 0.0}, "'subsample' parameter"),
        (HistGradientBoostingRegressor, {"subsample": 1.5}, "'subsample' parameter"),
        (HistGradientBoostingRegressor, {"colsample_bytree": 0.0}, "'colsample_bytree' parameter"),
        (HistGradientBoostingRegressor, {"n_jobs": "all"}, "'n_jobs' parameter"),
        (HistGradientBoostingRegressor, {"n_jobs": 0}, "n_jobs. parameter .* must be an int in the range"),
        (HistGradientBoostingRegressor, {"grow_policy": "levelwise"}, "'grow_policy' parameter"),
        (HistGradientBoostingRegressor, {"loss": "fair"}, "'loss' parameter"),
        (HistGradientBoostingClassifier, {"loss": "squared_error"}, "'loss' parameter"),
        (HistGradientBoostingClassifier, {"class_weight": "uniform"}, "'class_weight' parameter"),
    ],
)
def test_invalid_parameters(Estimator, params, match):
    X, y = _data()
    with pytest.raises((ValueError, TypeError), match=match):
        Estimator(**params).fit(X, y)


@pytest.mark.parametrize("Estimator", BOTH)
def test_unknown_parameter_name(Estimator):
    with pytest.raises(ValueError, match="Invalid parameter 'n_estimators'"):
        Estimator().set_params(n_estimators=10)




def test_log_link_targets():
    X, y = _data()
    with pytest.raises(ValueError, match="requires non-negative y"):
        HistGradientBoostingRegressor(loss="poisson").fit(X, y - 1.0)
    with pytest.raises(ValueError, match="requires strictly positive y"):
        HistGradientBoostingRegressor(loss="gamma").fit(X, y.astype(float))


def test_validation_set_mistakes():
    X, y = _data()
    with pytest.raises(ValueError, match="X_val and y_val must be passed together"):
        HistGradientBoostingClassifier(early_stopping=True).fit(X, y, X_val=X)
    with pytest.raises(ValueError, match="early_stopping is False"):
        HistGradientBoostingClassifier(early_stopping=False).fit(X, y, X_val=X, y_val=y)
    with pytest.raises(ValueError, match=r"y_val contains labels not seen in y: \[7\]"):
        HistGradientBoostingClassifier(early_stopping=True).fit(X, y, X_val=X[:5], y_val=[0, 1, 7, 0, 1])
    with pytest.raises(ValueError, match="expecting 3 features"):
        HistGradientBoostingRegressor(early_stopping=True).fit(X, y, X_val=X[:, :2], y_val=y)


def test_unknown_class_weight_label():
    X, y = _data()
    with pytest.raises(ValueError, match="not in class"):
        HistGradientBoostingClassifier(class_weight={"z": 2.0}).fit(X, np.array(["a", "b"])[y])


# --------------------------------------------------------------------------------------------
# Random data: shapes, NaN patterns, ties, constant columns, 1 row
# --------------------------------------------------------------------------------------------

_VALUES = st.one_of(
    st.sampled_from([0.0, 1.0, -1.0, 2.5, np.nan, np.inf, -np.inf, 1e300]),  # ties, missing, extremes
    st.floats(-1e6, 1e6, allow_nan=False),
)


@st.composite
def _training_sets(draw):
    n_samples = draw(st.integers(1, 40))
    n_features = draw(st.integers(1, 5))
    X = draw(hnp.arrays(np.float64, (n_samples, n_features), elements=_VALUES))
    for column in draw(st.lists(st.integers(0, n_features - 1), max_size=2)):
        X[:, column] = draw(st.sampled_from([0.0, np.nan, 3.0]))  # constant or all-missing columns
    y = draw(hnp.arrays(np.int64, n_samples, elements=st.integers(0, 2)))
    X_test = draw(hnp.arrays(np.float64, (draw(st.integers(1, 10)), n_features), elements=_VALUES))
    params = dict(
        max_iter=draw(st.integers(1, 4)),
        min_samples_leaf=draw(st.integers(1, 5)),
        max_bins=draw(st.sampled_from([2, 3, 16, 255])),
        max_leaf_nodes=draw(st.sampled_from([2, 3, 31, None])),
        max_depth=draw(st.sampled_from([None, 1, 3])),
        l2_regularization=draw(st.sampled_from([0.0, 1.0])),
        l1_regularization=draw(st.sampled_from([0.0, 0.5])),
        subsample=draw(st.sampled_from([1.0, 0.5])),
        colsample_bytree=draw(st.sampled_from([1.0, 0.5])),
        grow_policy=draw(st.sampled_from(["lossguide", "depthwise"])),
        random_state=0,
    )
    return X, y, X_test, params


def _only_infinite_feature(X):
    return bool(np.any(np.isinf(X).any(axis=0) & ~np.isfinite(X).any(axis=0)))


@pytest.mark.parametrize("Estimator", BOTH)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_training_sets())
def test_random_data_never_crashes(Estimator, data):
    X, y, X_test, params = data
    is_classifier = Estimator is HistGradientBoostingClassifier
    y = y if is_classifier else y * 10.0
    model = Estimator(**params)
    if _only_infinite_feature(X):
        with pytest.raises(ValueError, match="only infinite values"):
            model.fit(X, y)
        return
    if is_classifier and len(np.unique(y)) < 2:
        with pytest.raises(ValueError, match="only one class"):
            model.fit(X, y)
        return
    model.fit(X, y)
    prediction = model.predict(X_test)
    assert prediction.shape == (len(X_test),)
    if not is_classifier:
        assert np.all(np.isfinite(prediction))
        assert np.all(prediction >= -1e-9) and np.all(prediction <= 20.0 + 1e-9)  # within the targets' range
        return
    assert set(prediction) <= set(model.classes_)
    proba = model.predict_proba(X_test)
    assert proba.shape == (len(X_test), len(model.classes_))
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-9)


@pytest.mark.parametrize("Estimator", [HistGradientBoostingRegressor, RandomForestRegressor])
def test_an_int_the_core_cannot_hold_is_a_value_error(Estimator):
    """max_leaf_nodes=10**18 passes scikit-learn's validation; the core's 32-bit field refuses it
    with ValueError naming it, not pybind11's TypeError (#22)."""
    X, y = _data()
    with pytest.raises(ValueError, match="max_leaf_nodes=1000000000000000000"):
        Estimator(max_leaf_nodes=10**18).fit(X, y)


def _misaligned(array):
    """A copy of ``array`` whose elements sit one byte off their alignment (as arrays over pickled or
    shared buffers can: Dask's transfers make them)."""
    raw = np.zeros(array.nbytes + 1, dtype=np.uint8)
    out = np.frombuffer(raw.data, dtype=array.dtype, count=array.size, offset=1).reshape(array.shape)
    out[...] = array
    assert not out.flags.aligned
    return out


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse", [False, True])
def test_misaligned_arrays_give_what_aligned_ones_give(dtype, sparse):
    # The core reads elements of their type: an unaligned array is copied aligned on the way in,
    # never read in place (UBSan reports a misaligned load; some CPUs fault on it).
    from scipy import sparse as sp

    import treeforge as tf

    rng = np.random.default_rng(4)
    X = np.where(rng.random((300, 5)) < 0.5, 0.0, rng.normal(size=(300, 5))).astype(dtype)
    y, w = (X[:, 0] > 0).astype(np.float64), rng.uniform(0.5, 2.0, 300)
    if sparse:
        aligned = sp.csr_matrix(X)
        odd = sp.csr_matrix((_misaligned(aligned.data), _misaligned(aligned.indices.astype(np.int32)),
                             _misaligned(aligned.indptr.astype(np.int64))), shape=aligned.shape)
    else:
        aligned, odd = X, _misaligned(X)
    for make in (lambda: tf.HistGradientBoostingClassifier(max_iter=5, random_state=0),
                 lambda: tf.RandomForestClassifier(n_estimators=3, random_state=0)):
        want = make().fit(aligned, y, sample_weight=w)
        got = make().fit(odd, _misaligned(y), sample_weight=_misaligned(w))
        np.testing.assert_array_equal(got.predict_proba(odd), want.predict_proba(aligned))
