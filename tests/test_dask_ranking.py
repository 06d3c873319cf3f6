"""treeforge.dask's ranker on a real LocalCluster (2 worker processes): the single-machine ranker to the bit
for any blocks cut at query boundaries and any placement, each loss, subsamples of whole queries;
predictions on dask collections; queries that are not sorted or that span blocks refused by name."""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from _dask_cluster import client, placed, same_model  # noqa: E402, F401

from treeforge import HistGradientBoostingRanker  # noqa: E402
from treeforge.dask import DaskHistGradientBoostingRanker  # noqa: E402

PARAMS = dict(max_iter=4, max_leaf_nodes=7, random_state=3)


@pytest.fixture(scope="module")
def data():
    # 60 queries of 3 to 17 documents, ids increasing with gaps; labels from the first features.
    rng = np.random.default_rng(11)
    sizes = rng.integers(3, 18, size=60)
    qid = np.repeat(np.cumsum(rng.integers(1, 4, size=60)), sizes)
    X = rng.normal(size=(qid.shape[0], 4))
    X[rng.random(X.shape) < 0.05] = np.nan
    y = np.clip(np.round(np.nan_to_num(X[:, 0]) + 0.5 * np.nan_to_num(X[:, 1]) + rng.normal(0, 0.5, qid.shape[0]) + 1),
                0, 4)
    weight = np.repeat(rng.uniform(0.5, 2.0, size=60), sizes)  # one weight a query
    return X, y, qid, weight, np.concatenate([[0], np.cumsum(sizes)])


@pytest.mark.parametrize("n_blocks, owners", [(1, [0]), (2, [0, 1]), (2, [1, 1]), (7, [1, 0, 0, 1, 1, 0, 1])])
@pytest.mark.parametrize("loss", ["lambdarank", "pairwise", "listwise"])
def test_the_dask_ranker_fits_the_single_machine_model(client, data, n_blocks, owners, loss):
    X, y, qid, weight, begin = data
    cuts = begin[np.linspace(0, len(begin) - 1, n_blocks + 1).round().astype(int)]  # at query boundaries
    dX, dy, dq, dw = placed(client, [X, y, qid, weight], cuts, owners)
    model = DaskHistGradientBoostingRanker(loss=loss, **PARAMS, client=client).fit(dX, dy, dw, qid=dq)
    local = HistGradientBoostingRanker(loss=loss, **PARAMS, early_stopping=False).fit(X, y, weight, qid=qid)
    same_model(model, local)
    np.testing.assert_array_equal(model.predict(dX).compute(), local.predict(X))
    assert type(model.to_local()) is HistGradientBoostingRanker
    if n_blocks == 2 and owners == [0, 1]:  # the test can fail: another weight, another model
        other = weight.copy()
        other[begin[5]:begin[6]] *= 3.0
        changed = HistGradientBoostingRanker(loss=loss, **PARAMS, early_stopping=False).fit(X, y, other, qid=qid)
        assert not np.array_equal(changed.predict(X), local.predict(X))


@pytest.mark.parametrize("subsample", [0.5, 0.8])
def test_a_subsample_of_whole_queries_is_the_single_machine_draw(client, data, subsample):
    X, y, qid, _, begin = data
    cuts = begin[[0, 17, 41, 60]]
    dX, dy, dq = placed(client, [X, y, qid], cuts, [1, 0, 1])
    params = dict(PARAMS, max_iter=6, subsample=subsample)
    model = DaskHistGradientBoostingRanker(**params, client=client).fit(dX, dy, qid=dq)
    local = HistGradientBoostingRanker(**params, early_stopping=False).fit(X, y, qid=qid)
    same_model(model, local)
    whole = HistGradientBoostingRanker(**dict(params, subsample=1.0), early_stopping=False).fit(X, y, qid=qid)
    assert not np.array_equal(whole.predict(X), local.predict(X))  # the draw matters


def test_queries_cut_apart_or_unsorted_are_refused(client, data):
    X, y, qid, _, begin = data
    middle = begin[10] + 1  # inside query 10
    dX, dy, dq = (da.from_array(a, chunks=((middle, len(y) - middle),) + ((4,) if a.ndim == 2 else ()))
                  for a in (X, y, qid))
    with pytest.raises(ValueError, match=r"query \d+ spans two blocks \(block 1\): rechunk the rows"):
        DaskHistGradientBoostingRanker(**PARAMS, client=client).fit(dX, dy, qid=dq)
    shuffled = qid[::-1].copy()
    with pytest.raises(ValueError, match="qid must be sorted .* block 0 of the rows is not"):
        DaskHistGradientBoostingRanker(**PARAMS, client=client).fit(
            da.from_array(X, chunks=(200, 4)), da.from_array(y, chunks=200), qid=da.from_array(shuffled, chunks=200))


def test_the_dask_ranker_names_what_it_needs(client, data):
    X, y, qid, _, _ = data
    dX, dy, dq = da.from_array(X, chunks=(len(y), 4)), da.from_array(y, chunks=len(y)), da.from_array(qid)
    with pytest.raises(ValueError, match="needs qid="):
        DaskHistGradientBoostingRanker(**PARAMS, client=client).fit(dX, dy)
    with pytest.raises(ValueError, match="relevance labels"):
        DaskHistGradientBoostingRanker(**PARAMS, client=client).fit(dX, dy + 0.5, qid=dq)
    with pytest.raises(TypeError, match="qid must be a dask"):
        DaskHistGradientBoostingRanker(**PARAMS, client=client).fit(dX, dy, qid=qid)
    weight = np.ones(len(y))
    weight[1] = 2.0  # two weights in the first query: the worker holding it refuses them
    with pytest.raises(ValueError, match="the rows of a query must share one sample weight"):
        DaskHistGradientBoostingRanker(**PARAMS, client=client).fit(dX, dy, da.from_array(weight, chunks=len(y)),
                                                                    qid=dq)
    assert client.submit(sum, [1, 2]).result() == 3  # the client usable afterwards
