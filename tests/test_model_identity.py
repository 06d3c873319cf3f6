"""Models stay bit-identical across refactors: hashes of fitted models, recorded before a change.

Each configuration fits on fixed synthetic data and hashes every field of the core model that
format version 1 has (trees, bins, base score, weights). The hashes were recorded at ea360f4, the
commit before the core was laid out by stage (issue #20); a change that alters any model fails
here. Record new hashes only for a change meant to alter models, and say so in its commit.
Run this file as a script to print the current hashes.
"""

import hashlib
from pathlib import Path

import numpy as np
import pytest

import treeforge as tf

# The fields of a version-1 model; later versions add fields that must hold their numeric-only
# form for the models these configurations grow (version 2: split_kind all 0, no category set).
V1_FIELDS = (
    "objective", "aggregation", "n_features", "n_outputs", "leaf_dim", "max_bins", "base_score",
    "edge_offsets", "edges", "tree_offsets", "feature", "bin", "left", "right", "default_left",
    "threshold", "count", "cover", "gain", "value", "tree_weight",
)


def _data(n_rows, n_features, seed, missing=0.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_features))
    X[:, 1] = np.round(X[:, 1] * 2)  # a few distinct values: a feature bundled with others
    X[:, 2] = rng.integers(0, 4, n_rows)
    signal = X[:, 0] + 0.5 * X[:, 3] ** 2 - X[:, 1] * X[:, 2] * 0.3 + rng.normal(scale=0.5, size=n_rows)
    if missing:
        X[rng.random(X.shape) < missing] = np.nan
    return X, signal


def _binary(n_rows=20_000, missing=0.0):
    X, s = _data(n_rows, 8, 1, missing)
    return X, (s > np.median(s)).astype(int)


def _multiclass(n_rows=6_000):
    X, s = _data(n_rows, 6, 2)
    return X, np.digitize(s, np.quantile(s, [0.3, 0.6]))


def _regression(n_rows=20_000):
    return _data(n_rows, 8, 3)


def _positive(n_rows=8_000):
    X, s = _data(n_rows, 6, 4)
    return X, np.exp(0.3 * s)


def _counts(n_rows=8_000):
    X, s = _data(n_rows, 6, 5)
    return X, np.random.default_rng(6).poisson(np.exp(0.3 * s))


GB = dict(max_iter=12, random_state=0, early_stopping=False)


def _configs():
    clf, reg = tf.HistGradientBoostingClassifier, tf.HistGradientBoostingRegressor
    return {
        "binary_leafwise": (clf(max_leaf_nodes=63, **GB), _binary),
        "binary_depth8": (clf(max_depth=8, max_leaf_nodes=None, grow_policy="depthwise", **GB), _binary),
        "binary_missing": (clf(**GB), lambda: _binary(missing=0.1)),
        "binary_subsample": (clf(subsample=0.7, colsample_bytree=0.6, max_features=0.8, **GB), _binary),
        "regression_leafwise": (reg(max_leaf_nodes=63, l2_regularization=1.0, **GB), _regression),
        "regression_depthwise": (reg(max_depth=5, grow_policy="depthwise", **GB), _regression),
        "multiclass_leafwise": (clf(**GB), _multiclass),
        "multiclass_depthwise": (clf(max_depth=4, grow_policy="depthwise", **GB), _multiclass),
        "poisson": (reg(loss="poisson", **GB), _counts),
        "gamma": (reg(loss="gamma", **GB), _positive),
        "early_stopping": (clf(max_iter=40, random_state=0, early_stopping=True, validation_fraction=0.2), _binary),
        "forest_classifier": (tf.RandomForestClassifier(n_estimators=8, random_state=0), lambda: _binary(5_000)),
        "forest_regressor": (tf.RandomForestRegressor(n_estimators=8, max_features=0.5, min_samples_leaf=3,
                                                      random_state=0), lambda: _regression(5_000)),
        "adaboost_samme": (tf.AdaBoostClassifier(n_estimators=15, random_state=0), _multiclass),
        "adaboost_r2": (tf.AdaBoostRegressor(n_estimators=15, random_state=0), lambda: _regression(5_000)),
    }


def model_hash(estimator):
    arrays = estimator._model.to_arrays()
    assert not arrays["split_kind"].any() and list(arrays["cat_offsets"]) == [0] and arrays["cat_words"].size == 0
    digest = hashlib.sha256()
    for name in V1_FIELDS:
        value = arrays[name]
        if isinstance(value, np.ndarray):
            digest.update(f"{name}:{value.dtype.str}:{value.shape}".encode())
            digest.update(np.ascontiguousarray(value).tobytes())
        else:
            digest.update(f"{name}={value!r}".encode())
    return digest.hexdigest()[:16]


def fit_and_hash(name, n_jobs):
    estimator, make_data = _configs()[name]
    X, y = make_data()
    estimator.set_params(n_jobs=n_jobs)
    return model_hash(estimator.fit(X, y))


# Recorded at ea360f4 (python tests/test_model_identity.py).
RECORDED = {
    "binary_leafwise": "a4f6828b386de2d1",
    "binary_depth8": "787e66028dfa0d0e",
    "binary_missing": "12104e64037f3bff",
    "binary_subsample": "f7467d8c80127ca2",
    "regression_leafwise": "3c8c63b9d13f0004",
    "regression_depthwise": "84b4f1dc91031b44",
    "multiclass_leafwise": "e0e9c54d2f74cd73",
    "multiclass_depthwise": "fd0f94909676a0e5",
    "poisson": "1b6a66390790ec70",
    "gamma": "92c639531eb08edd",
    "early_stopping": "9e319dce0269b436",
    "forest_classifier": "89e799c2548e07e1",
    "forest_regressor": "87876f3fcb20d71f",
    "adaboost_samme": "8938ff88261bff27",
    "adaboost_r2": "dcf02c5e15605fe9",
}


@pytest.mark.parametrize("name", sorted(RECORDED))
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_model_matches_recorded_hash(name, n_jobs):
    assert fit_and_hash(name, n_jobs) == RECORDED[name]


def test_every_configuration_has_a_hash():
    assert set(RECORDED) == set(_configs())


# Model files written by format version 1 (at ea360f4), with the predictions they gave then: every
# later version must keep loading them and predict the same, to the bit.
FIXTURES = Path(__file__).parent / "fixtures" / "model_v1"
V1_FILES = ("gbdt_binary", "gbdt_multiclass", "gbdt_regression", "forest_classifier", "adaboost_r2")


@pytest.mark.parametrize("name", V1_FILES)
def test_version_1_files_load_and_predict_as_written(name, tmp_path):
    expected = np.load(FIXTURES / "expected.npz")
    X = np.nan_to_num(expected["X"]) if name.startswith("adaboost") else expected["X"]
    model = tf.load_model(FIXTURES / f"{name}.json")
    predict = model.predict_proba if hasattr(model, "predict_proba") else model.predict
    np.testing.assert_array_equal(predict(X), expected[name])
    # Saved again (in the current version), the model still predicts the same.
    model.save_model(tmp_path / "again.json")
    np.testing.assert_array_equal(predict.__func__(tf.load_model(tmp_path / "again.json"), X), expected[name])


if __name__ == "__main__":
    for config in _configs():
        print(f'    "{config}": "{fit_and_hash(config, 2)}",  # n_jobs=1: {fit_and_hash(config, 1)}')
