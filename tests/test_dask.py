"""treeforge.dask on a real LocalCluster (2 worker processes): the single-machine model to the bit for any
blocks and placement, predictions on dask collections, clear errors, and a lost worker ending the fit."""

import pickle

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

from _dask_cluster import (  # noqa: E402, F401
    assert_a_killed_worker_ends_the_fit,
    client,
    placed,
    same_model,
    workers_of,
)

from treeforge import HistGradientBoostingClassifier, HistGradientBoostingRegressor  # noqa: E402
from treeforge.dask import DaskHistGradientBoostingClassifier, DaskHistGradientBoostingRegressor  # noqa: E402
from treeforge.ensemble import _base  # noqa: E402

N_ROWS, N_FEATURES = 2_000, 6


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N_ROWS, N_FEATURES))
    X[:, 3] = np.round(X[:, 3], 1)  # a feature of few distinct values
    X[rng.random(X.shape) < 0.05] = np.nan
    signal = np.nan_to_num(X[:, 0]) * 2 + np.nan_to_num(X[:, 1]) ** 2 - np.nan_to_num(X[:, 2])
    y = signal + rng.normal(size=N_ROWS)
    labels = (signal + rng.logistic(size=N_ROWS) > 1).astype(np.int64)
    weight = rng.uniform(0.5, 2.0, size=N_ROWS)
    return X, y, labels, weight


PARAMS = dict(max_iter=6, max_leaf_nodes=15, random_state=3, min_samples_leaf=10)


@pytest.mark.parametrize("bounds, owners", [
    ([0, N_ROWS], [0]),
    ([0, 900, N_ROWS], [0, 1]),
    ([0, 300, 301, 700, 1000, 1500, 1990, N_ROWS], [1, 0, 1, 1, 0, 0, 1]),
    ([0, 100, 1200, 1300, N_ROWS], [1, 1, 0, 0]),
])
def test_regressor_is_the_single_machine_model(client, data, bounds, owners):
    X, y, _, _ = data
    workers = workers_of(client)
    dX, dy = placed(client, [X, y], bounds, [workers[o] for o in owners])
    model = DaskHistGradientBoostingRegressor(**PARAMS, client=client).fit(dX, dy)
    local = HistGradientBoostingRegressor(**PARAMS, early_stopping=False).fit(X, y)
    same_model(model, local)
    assert sorted(model.communication_["rows_per_worker"]) == sorted(
        sum(hi - lo for (lo, hi), o in zip(zip(bounds[:-1], bounds[1:]), owners) if o == w) for w in set(owners))
    np.testing.assert_array_equal(model.predict(dX).compute(), local.predict(X))


@pytest.mark.parametrize("params", [
    dict(subsample=0.6, colsample_bytree=0.8, max_features=0.7),
    dict(grow_policy="depthwise", max_depth=4, l2_regularization=1.0),
])
def test_classifier_is_the_single_machine_model(client, data, params):
    X, _, labels, weight = data
    workers = workers_of(client)
    bounds = [0, 500, 1100, 1400, N_ROWS]
    dX, dlabels, dweight = placed(client, [X, labels, weight], bounds, [workers[i % 2] for i in range(4)])
    model = DaskHistGradientBoostingClassifier(**PARAMS, **params, client=client).fit(dX, dlabels, dweight)
    local = HistGradientBoostingClassifier(**PARAMS, **params, early_stopping=False).fit(X, labels, weight)
    same_model(model, local)
    np.testing.assert_array_equal(model.classes_, local.classes_)
    np.testing.assert_array_equal(model.predict_proba(dX).compute(), local.predict_proba(X))
    np.testing.assert_array_equal(model.predict(dX).compute(), local.predict(X))


def test_multiclass_is_the_single_machine_model(client, data):
    X, y, _, weight = data
    labels = np.digitize(y, [-1.0, 1.0, 3.0]).astype(str)  # four classes, by name
    workers = workers_of(client)
    bounds = [0, 0, 700, 1300, N_ROWS]  # an empty block too
    dX, dlabels, dweight = placed(client, [X, labels, weight], bounds, [workers[i % 2] for i in range(4)])
    model = DaskHistGradientBoostingClassifier(**PARAMS, client=client).fit(dX, dlabels, dweight)
    local = HistGradientBoostingClassifier(**PARAMS, early_stopping=False).fit(X, labels, weight)
    same_model(model, local)
    np.testing.assert_array_equal(model.predict(dX).compute(), local.predict(X))
    np.testing.assert_array_equal(model.predict_proba(dX).compute(), local.predict_proba(X))


def test_bins_from_a_sample_by_global_row_id(client, data, monkeypatch):
    # Fewer rows than X's sample its bins: the same rows are drawn by global id on the cluster.
    monkeypatch.setattr(_base, "BINNING_SUBSAMPLE", 700)
    X, y, _, _ = data
    dX, dy = da.from_array(X, chunks=(600, N_FEATURES)), da.from_array(y, chunks=600)
    model = DaskHistGradientBoostingRegressor(**PARAMS, client=client).fit(dX, dy)
    local = HistGradientBoostingRegressor(**PARAMS, early_stopping=False).fit(X, y)
    same_model(model, local)


def test_dataframes_and_the_local_estimator(client, data, tmp_path):
    import pandas as pd

    X, y, _, _ = data
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(N_FEATURES)])
    dframe = dd.from_pandas(frame, npartitions=3)
    dy = dd.from_pandas(pd.Series(y), npartitions=3)
    model = DaskHistGradientBoostingRegressor(**PARAMS, client=client).fit(dframe, dy)
    local = HistGradientBoostingRegressor(**PARAMS, early_stopping=False).fit(frame, y)
    same_model(model, local)
    predicted = model.predict(dframe).compute()
    np.testing.assert_array_equal(predicted.to_numpy(), local.predict(frame))
    np.testing.assert_array_equal(predicted.index.to_numpy(), frame.index.to_numpy())
    plain = model.to_local()
    assert type(plain) is HistGradientBoostingRegressor
    plain.save_model(tmp_path / "model.json")
    from treeforge import load_model

    np.testing.assert_array_equal(load_model(tmp_path / "model.json").predict(frame), local.predict(frame))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict(frame), local.predict(frame))


def test_input_errors(client, data):
    X, y, labels, _ = data
    dX, dy = da.from_array(X, chunks=500), da.from_array(y, chunks=500)
    with pytest.raises(TypeError, match="X must be a dask.array.Array or a dask.dataframe.DataFrame"):
        DaskHistGradientBoostingRegressor(client=client).fit(X, y)
    with pytest.raises(TypeError, match="y must be a dask"):
        DaskHistGradientBoostingRegressor(client=client).fit(dX, y)
    with pytest.raises(ValueError, match="X has 2000 rows but y has 1999"):
        DaskHistGradientBoostingRegressor(client=client).fit(dX, dy[:-1])
    with pytest.raises(TypeError, match="client must be a distributed.Client"):
        DaskHistGradientBoostingRegressor(client="tcp://127.0.0.1:8786").fit(dX, dy)
    with pytest.raises(ValueError, match="does not support early_stopping=True"):
        DaskHistGradientBoostingRegressor(client=client, early_stopping=True).fit(dX, dy)
    with pytest.raises(ValueError, match="loss='squared_error' only"):
        DaskHistGradientBoostingRegressor(client=client, loss="poisson").fit(dX, dy)
    with pytest.raises(ValueError, match="at least 2 classes"):
        DaskHistGradientBoostingClassifier(client=client).fit(dX, da.zeros(N_ROWS, chunks=500))
    bad = X.copy()
    bad[5, 1] = np.inf
    with pytest.raises(ValueError, match="X has no infinite values"):
        DaskHistGradientBoostingRegressor(client=client).fit(da.from_array(bad, chunks=500), dy)


def test_the_base_score_fold_is_the_cores_mean():
    # Blocks of any sizes across the core's 16384-row blocks of the mean, with and without weights.
    from treeforge import _core
    from treeforge.dask._training import MeanState, fold_mean

    rng = np.random.default_rng(1)
    y = rng.normal(size=50_000) * 1e3 + 1e6
    weight = rng.uniform(0, 3, size=y.shape[0])
    cuts = [0, 1, 16_383, 16_384, 20_000, 32_768, 49_999, 50_000]
    for w in (None, weight):
        state = MeanState()
        for lo, hi in zip(cuts[:-1], cuts[1:]):
            state = fold_mean(state, y[lo:hi], None if w is None else w[lo:hi])
        expected = _core.objective_base_score("squared_error", 1, y, w)
        assert _core.objective_base_score("squared_error", 1, [state.mean()]) == expected


def test_many_rows_weights_and_uneven_blocks(client):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40_000, 3))
    y = X[:, 0] + rng.normal(size=40_000)
    weight = rng.uniform(0.1, 1.0, size=40_000)
    chunks = ((7_001, 16_384, 9_000, 7_615),)
    dX = da.from_array(X, chunks=(chunks[0], 3))
    dy, dw = da.from_array(y, chunks=chunks), da.from_array(weight, chunks=chunks)
    params = dict(max_iter=2, max_leaf_nodes=7, random_state=0, subsample=0.5)
    model = DaskHistGradientBoostingRegressor(**params, client=client).fit(dX, dy, dw)
    local = HistGradientBoostingRegressor(**params, early_stopping=False).fit(X, y, weight)
    same_model(model, local)


def test_a_silent_peer_ends_the_reduction_within_the_timeout():
    import threading

    from treeforge import _core

    rings = [_core.TcpRing("127.0.0.1", 0.5) for _ in range(2)]
    ports = [ring.port for ring in rings]
    joined = [threading.Thread(target=ring.connect, args=(["127.0.0.1"] * 2, ports, rank, 7))
              for rank, ring in enumerate(rings)]
    for thread in joined:
        thread.start()
    for thread in joined:
        thread.join(30)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(200, 2)), rng.normal(size=200)
    mapper = _core.BinMapper(255, 200_000, 0).fit(X)
    booster = _core.Booster(_core.GbdtConfig(), mapper, mapper.transform(X), y, base_score=[0.0],
                            reduction=rings[0], global_rows=np.arange(200), n_global_rows=400)
    with pytest.raises(ConnectionError, match="worker 0 of 2 lost worker 1: it sent no data for the timeout"):
        booster.update()  # rank 1 never reduces
    rings[1].close()


def test_a_worker_killed_mid_fit_ends_the_fit():
    assert_a_killed_worker_ends_the_fit(
        lambda client: DaskHistGradientBoostingRegressor(max_iter=20_000, client=client, timeout=20),
        "train_on_worker", 2_000)


@pytest.mark.parametrize("n_ranks", [3, 5])
def test_rings_of_more_workers_give_the_single_machine_model(data, n_ranks):
    # Rings of more participants than the cluster's two (threads of this process, uneven shares).
    import threading

    from treeforge import _core
    from treeforge.ensemble._base import make_config

    X, y, _, _ = data
    local = HistGradientBoostingRegressor(**PARAMS, subsample=0.8, early_stopping=False).fit(X, y)
    config = make_config(_core.GbdtConfig(), local._config_values("squared_error", 1))
    rings = [_core.TcpRing("127.0.0.1", 10.0) for _ in range(n_ranks)]
    ports = [ring.port for ring in rings]
    bounds = np.sort(np.random.default_rng(n_ranks).choice(np.arange(1, N_ROWS), n_ranks - 1, replace=False))
    shares = np.split(np.arange(N_ROWS), bounds)
    mapper = local._model.bin_mapper
    start = list(np.asarray(local._model.to_arrays()["base_score"]))
    models = [None] * n_ranks

    def participant(rank):
        rings[rank].connect(["127.0.0.1"] * n_ranks, ports, rank, 11)
        rows = shares[rank]
        booster = _core.Booster(config, mapper, mapper.transform(X[rows]), y[rows], base_score=start,
                                reduction=rings[rank], global_rows=rows, n_global_rows=N_ROWS)
        for _ in range(PARAMS["max_iter"]):
            booster.update()
        models[rank] = booster.finish()
        rings[rank].close()

    threads = [threading.Thread(target=participant, args=(rank,)) for rank in range(n_ranks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    expected = local._model.to_arrays()
    for model in models:
        arrays = model.to_arrays()
        for key in expected:
            assert np.array_equal(np.asarray(arrays[key]), np.asarray(expected[key])), key


@pytest.mark.parametrize("n_ranks, length", [(2, 1), (3, 7), (4, 100_003)])
def test_a_ring_sums_every_participants_values(n_ranks, length):
    # The ring's reduce-scatter and all-gather of arrays shorter than, and not divisible by, the
    # number of participants: each ends with the sum, exact in int64 near its range's ends.
    import threading

    from treeforge import _core

    rings = [_core.TcpRing("127.0.0.1", 10.0) for _ in range(n_ranks)]
    ports = [ring.port for ring in rings]
    rng = np.random.default_rng(length)
    values = [rng.integers(-(2**60), 2**60, size=length, dtype=np.int64) for _ in range(n_ranks)]
    sums = [v.copy() for v in values]

    def participant(rank):
        rings[rank].connect(["127.0.0.1"] * n_ranks, ports, rank, 5)
        rings[rank].sum(sums[rank])
        rings[rank].close()

    threads = [threading.Thread(target=participant, args=(rank,)) for rank in range(n_ranks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    expected = np.sum(values, axis=0, dtype=np.int64)
    for rank in range(n_ranks):
        np.testing.assert_array_equal(sums[rank], expected, err_msg=f"rank {rank}")
        assert rings[rank].stats()["reductions"] == 1
    with pytest.raises(TypeError):
        rings[0].sum(np.zeros(3))  # float64: not the ring's integers
