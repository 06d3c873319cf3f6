"""Shared fixtures of the estimator tests: small datasets and model comparison helpers."""

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression


@pytest.fixture
def regression_data():
    """(X, y): 300 rows, 6 continuous features (float64)."""
    X, y = make_regression(n_samples=300, n_features=6, n_informative=4, noise=5.0, random_state=0)
    return X, y


@pytest.fixture
def binary_data():
    """(X, y): 300 rows, 6 continuous features, labels 0/1."""
    X, y = make_classification(n_samples=300, n_features=6, n_informative=4, random_state=0)
    return X, y


@pytest.fixture
def multiclass_data():
    """(X, y): 300 rows, 6 continuous features, 3 classes."""
    X, y = make_classification(
        n_samples=300, n_features=6, n_informative=4, n_classes=3, n_clusters_per_class=1, random_state=0
    )
    return X, y


def _assert_arrays_dict_equal(left, right):
    assert sorted(left) == sorted(right)
    for key in left:
        a, b = left[key], right[key]
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            a, b = np.asarray(a), np.asarray(b)
            assert a.dtype == b.dtype, key
            np.testing.assert_array_equal(a, b, err_msg=key, strict=True)
        elif isinstance(a, (list, tuple)):
            assert len(a) == len(b), key
            for x, y in zip(a, b):
                np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=key)
        else:
            assert a == b, key


@pytest.fixture
def assert_same_model():
    """Function asserting two fitted estimators hold bit-identical core models."""

    def check(left, right):
        _assert_arrays_dict_equal(left._model.to_arrays(), right._model.to_arrays())

    return check
