"""The distributed seam, proven without Dask: rows cut into k shards, each shard's histograms built
apart and summed in the grower's sync step, with scales from the shards' ranges merged, grow the
same models bit for bit as the unsharded fit, for every learner, objective and grow policy."""

import numpy as np
import pytest

from treeforge import _core
from test_model_identity import RECORDED, fit_and_hash


@pytest.fixture
def row_shards():
    def set_shards(k):
        _core._testing.set_row_shards(k)

    yield set_shards
    _core._testing.set_row_shards(1)


@pytest.mark.parametrize("k", [1, 2, 3, 5])
@pytest.mark.parametrize("name", sorted(RECORDED))
def test_sharded_fit_grows_the_unsharded_model(name, k, row_shards):
    row_shards(k)
    builds = _core._testing.shard_builds()
    assert fit_and_hash(name, n_jobs=2) == RECORDED[name]
    # The hook ran: with k > 1 every histogram came from shards built apart.
    assert (_core._testing.shard_builds() > builds) == (k > 1)


def test_sharded_fit_on_one_thread(row_shards):
    row_shards(3)
    assert fit_and_hash("binary_depth8", n_jobs=1) == RECORDED["binary_depth8"]


def test_row_shards_must_be_positive():
    with pytest.raises(ValueError, match="row shards must be >= 1"):
        _core._testing.set_row_shards(0)
    assert _core._testing.row_shards() == 1
