"""The one training-data struct: base margins and query groups, validated in one place."""

import numpy as np
import pytest

from treeforge import _core
from test_objectives import bin_matrix, gbdt_config


def _problem(n=3_000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] + rng.normal(scale=0.5, size=n) > 0).astype(np.float64)
    mapper, binned, _ = bin_matrix(X)
    return mapper, binned, y


def _trees(model):
    arrays = model.to_arrays()
    return {k: v for k, v in arrays.items() if k not in ("base_score", "format_version")}


def _grow(booster, rounds=5):
    for _ in range(rounds):
        booster.update()
    return booster


def test_base_margin_of_the_base_score_grows_the_same_trees():
    mapper, binned, y = _problem()
    config = gbdt_config(objective="binary_logloss", n_outputs=1)
    plain = _grow(_core.Booster(config, mapper, binned, y))
    base = plain.model().to_arrays()["base_score"][0]
    offset = _grow(_core.Booster(config, mapper, binned, y, base_margin=np.full(len(y), base)))
    # The margins start from the rows' base margins instead of the base score: the same margins,
    # the same trees, and a model whose own base score is 0.
    np.testing.assert_array_equal(offset.train_margin(), plain.train_margin())
    assert offset.model().to_arrays()["base_score"].tolist() == [0.0]
    a, b = _trees(plain.model()), _trees(offset.model())
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_base_margin_shifts_the_starting_margins():
    mapper, binned, y = _problem()
    margin = np.random.default_rng(1).normal(size=len(y))
    booster = _core.Booster(gbdt_config(objective="binary_logloss", n_outputs=1), mapper, binned, y,
                            base_margin=margin)
    np.testing.assert_array_equal(booster.train_margin()[:, 0], margin)


@pytest.mark.parametrize("kwargs, message", [
    (dict(base_margin=np.zeros(5)), "base_margin has 5 values for 3000 rows of 1 outputs"),
    (dict(base_margin=np.full(3_000, np.nan)), "base_margin is not finite"),
    (dict(group_begin=np.array([0, 10, 2_999])), "query groups must cover the 3000 rows"),
    (dict(group_begin=np.array([1, 3_000])), "query groups must cover"),
    (dict(group_begin=np.array([0, 10, 10, 3_000])), "query group 1 is empty or out of order"),
    (dict(sample_weight=np.zeros(3_000)), "sample weights must not all be 0"),
    (dict(sample_weight=np.ones(7)), "sample_weight has 7 values for 3000 rows"),
])
def test_bad_training_data_names_the_problem(kwargs, message):
    mapper, binned, y = _problem()
    with pytest.raises(ValueError, match=f"^training data: {message}"):
        _core.Booster(gbdt_config(objective="binary_logloss", n_outputs=1), mapper, binned, y, **kwargs)


def test_query_groups_that_cover_the_rows_are_accepted():
    mapper, binned, y = _problem()
    _core.Booster(gbdt_config(objective="binary_logloss", n_outputs=1), mapper, binned, y,
                  group_begin=np.array([0, 1_000, 1_001, 3_000]))


def test_base_margin_for_training_needs_one_for_validation():
    mapper, binned, y = _problem()
    with pytest.raises(ValueError, match="base_margin for both the training and the validation data"):
        _core.Booster(gbdt_config(objective="binary_logloss", n_outputs=1), mapper, binned, y,
                      valid=binned, y_valid=y, base_margin=np.zeros(len(y)))
