"""treeforge.dask's random forests on a real LocalCluster (2 worker processes): the single-machine forest to
the bit for any blocks and placement, options and tasks; predictions on dask collections; clear errors."""

import pickle
import re
import threading

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

from treeforge import RandomForestClassifier, RandomForestRegressor, _core  # noqa: E402
from treeforge.dask import DaskRandomForestClassifier, DaskRandomForestRegressor  # noqa: E402
from treeforge.ensemble._base import make_config  # noqa: E402

N_ROWS, N_FEATURES = 600, 5
PARAMS = dict(n_estimators=4, random_state=5, max_depth=7)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(N_ROWS, N_FEATURES))
    X[:, 3] = np.round(X[:, 3], 1)  # a feature of few distinct values
    X[rng.random(X.shape) < 0.08] = np.nan
    signal = np.nan_to_num(X[:, 0]) * 2 + np.nan_to_num(X[:, 1]) ** 2 - np.nan_to_num(X[:, 2])
    y = signal + rng.normal(size=N_ROWS)
    binary = (signal + rng.logistic(size=N_ROWS) > 1).astype(np.int64)
    multiclass = np.digitize(y, [-1.0, 1.0, 3.0]).astype(str)  # four classes, by name
    weight = rng.uniform(0.2, 3.0, size=N_ROWS)
    return X, {"regression": y, "binary": binary, "multiclass": multiclass}, weight


def _arrays(model):
    return {key: np.asarray(value) for key, value in model._model.to_arrays().items()}


def _fit_both(client, data, task, params, bounds, owners, weighted):
    X, targets, weight = data
    y = targets[task]
    arrays = placed(client, [X, y, weight] if weighted else [X, y], bounds, owners)
    dask_class, local_class = ((DaskRandomForestRegressor, RandomForestRegressor) if task == "regression"
                               else (DaskRandomForestClassifier, RandomForestClassifier))
    model = dask_class(**params, client=client).fit(*arrays)
    local = local_class(**params).fit(X, y, weight if weighted else None)
    return model, local, arrays[0]


PLACEMENTS = [
    ([0, N_ROWS], [0]),                                         # 1 partition, one worker
    ([0, 250, N_ROWS], [1, 1]),                                 # 2 partitions, both on one worker
    ([0, 330, N_ROWS], [1, 0]),                                 # 2 partitions, one per worker
    ([0, 80, 81, 200, 200, 390, 470, N_ROWS], [1, 0, 1, 1, 0, 0, 1]),  # 7 partitions (one row, one empty)
]


@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
@pytest.mark.parametrize("bounds, owners", PLACEMENTS)
def test_forest_is_the_single_machine_model(client, data, task, bounds, owners):
    model, local, dX = _fit_both(client, data, task, PARAMS, bounds, owners, weighted=task != "binary")
    same_model(model, local)
    used = {o for (lo, hi), o in zip(zip(bounds[:-1], bounds[1:]), owners) if hi > lo}
    assert model.communication_["n_workers"] == len(used)
    assert sum(model.communication_["rows_per_worker"]) == N_ROWS
    if task == "regression":
        np.testing.assert_array_equal(model.predict(dX).compute(), local.predict(data[0]))
    else:
        np.testing.assert_array_equal(model.classes_, local.classes_)
        np.testing.assert_array_equal(model.predict_proba(dX).compute(), local.predict_proba(data[0]))


@pytest.mark.parametrize("task, params", [
    ("regression", dict(bootstrap=False)),
    ("regression", dict(max_features="sqrt", max_samples=0.6, criterion="friedman_mse")),
    ("regression", dict(max_leaf_nodes=9, min_weight_fraction_leaf=0.05, min_impurity_decrease=0.01)),
    ("binary", dict(bootstrap=False, max_features=2, criterion="entropy")),
    ("binary", dict(max_features=None, max_leaf_nodes=12, min_samples_leaf=5)),
    ("multiclass", dict(bootstrap=False, max_features=0.6, min_weight_fraction_leaf=0.02)),
    ("multiclass", dict(max_samples=250, min_samples_split=10, criterion="log_loss")),
])
def test_options_give_the_single_machine_model(client, data, task, params):
    bounds, owners = [0, 120, 260, 300, 450, N_ROWS], [0, 1, 0, 1, 0]
    params = {**PARAMS, **params}
    model, local, _ = _fit_both(client, data, task, params, bounds, owners, weighted=True)
    same_model(model, local)
    # The comparison sees a small change: one row's weight a little larger gives another forest.
    weight = data[2].copy()
    weight[N_ROWS // 2] *= 1.5
    other = type(local)(**params).fit(data[0], data[1][task], weight)
    assert any(not np.array_equal(a, b) for a, b in zip(_arrays(other).values(), _arrays(model).values()))


@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
def test_out_of_bag_score_is_the_single_machine_one(client, data, task):
    params = {**PARAMS, "oob_score": True, "n_estimators": 6}
    model, local, _ = _fit_both(client, data, task, params, [0, 100, 330, 480, N_ROWS], [1, 0, 1, 0], weighted=True)
    same_model(model, local)
    assert model.oob_score_ == local.oob_score_
    if task == "regression":
        np.testing.assert_array_equal(model.oob_prediction_, local.oob_prediction_)
    else:
        np.testing.assert_array_equal(model.oob_decision_function_, local.oob_decision_function_)
    assert model.to_local().oob_score_ == local.oob_score_


def test_unweighted_regression_without_bootstrap(client, data):
    # Every row in every tree with weight 1: the grower's all-rows path on each worker.
    model, local, _ = _fit_both(client, data, "regression", {**PARAMS, "bootstrap": False},
                                [0, 290, N_ROWS], [0, 1], weighted=False)
    same_model(model, local)


def test_dataframes_predictions_and_the_local_estimator(client, data, tmp_path):
    import pandas as pd

    X, targets, _ = data
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(N_FEATURES)])
    dframe = dd.from_pandas(frame, npartitions=3)
    labels = targets["multiclass"]
    model = DaskRandomForestClassifier(**PARAMS, client=client).fit(dframe, dd.from_pandas(pd.Series(labels),
                                                                                         npartitions=3))
    local = RandomForestClassifier(**PARAMS).fit(frame, labels)
    same_model(model, local)
    predicted = model.predict(dframe).compute()
    np.testing.assert_array_equal(predicted.to_numpy(), local.predict(frame))
    np.testing.assert_array_equal(predicted.index.to_numpy(), frame.index.to_numpy())
    np.testing.assert_array_equal(model.predict_proba(dframe).compute().to_numpy(), local.predict_proba(frame))
    np.testing.assert_array_equal(model.predict(frame), local.predict(frame))  # in memory: the local prediction
    plain = model.to_local()
    assert type(plain) is RandomForestClassifier and "client" not in plain.__dict__
    np.testing.assert_array_equal(plain.feature_names_in_, local.feature_names_in_)
    assert [s.tolist() for s in plain.estimators_samples_] == [s.tolist() for s in local.estimators_samples_]
    plain.save_model(tmp_path / "forest.json")
    from treeforge import load_model

    np.testing.assert_array_equal(load_model(tmp_path / "forest.json").predict_proba(frame), local.predict_proba(frame))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict(frame), local.predict(frame))


@pytest.mark.parametrize("option, value", [
    ("warm_start", True), ("ccp_alpha", 0.01), ("monotonic_cst", [1, 0, 0, 0, 0]),
    ("criterion", "absolute_error"), ("criterion", "poisson"),
])
def test_unsupported_options_are_refused_by_name(client, data, option, value):
    X, targets, _ = data
    dX, dy = da.from_array(X, chunks=200), da.from_array(targets["regression"], chunks=200)
    with pytest.raises(ValueError, match=re.escape(f"does not support {option}={value!r}") + r".*\(issue #26\)"):
        DaskRandomForestRegressor(**{option: value}, client=client).fit(dX, dy)


def test_input_errors(client, data):
    X, targets, _ = data
    dX, dlabels = da.from_array(X, chunks=200), da.from_array(targets["binary"], chunks=200)
    with pytest.raises(ValueError, match=r"does not support class_weight='balanced'.*\(issue #26\)"):
        DaskRandomForestClassifier(class_weight="balanced", client=client).fit(dX, dlabels)
    with pytest.raises(TypeError, match="X must be a dask.array.Array or a dask.dataframe.DataFrame"):
        DaskRandomForestClassifier(client=client).fit(X, dlabels)
    with pytest.raises(ValueError, match="X has 600 rows but y has 599"):
        DaskRandomForestClassifier(client=client).fit(dX, dlabels[:-1])
    with pytest.raises(ValueError, match="Out of bag estimation only available if bootstrap=True"):
        DaskRandomForestClassifier(bootstrap=False, oob_score=True, client=client).fit(dX, dlabels)
    with pytest.raises(ValueError, match="`max_sample` cannot be set if `bootstrap=False`"):
        DaskRandomForestClassifier(bootstrap=False, max_samples=0.5, client=client).fit(dX, dlabels)
    with pytest.raises(ValueError, match="at least 2 classes"):
        DaskRandomForestClassifier(client=client).fit(dX, da.zeros(N_ROWS, chunks=200))
    with pytest.raises(TypeError, match="client must be a distributed.Client"):
        DaskRandomForestClassifier(client="tcp://127.0.0.1:8786").fit(dX, dlabels)


def test_a_worker_without_rows_in_a_bag_is_a_clear_error(client, data):
    # One row on worker 1: bags of 600 draws leave it out of most trees.
    X, targets, _ = data
    dX, dy = placed(client, [X, targets["regression"]], [0, N_ROWS - 1, N_ROWS], [0, 1])
    with pytest.raises(ValueError, match="has no rows of this worker.*give each worker more rows"):
        DaskRandomForestRegressor(n_estimators=20, random_state=0, client=client).fit(dX, dy)
    assert client.submit(sum, [1, 2]).result() == 3  # the client still computes


@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_rings_of_more_workers_with_interleaved_rows(data, task):
    # Three participants (threads of this process) holding interleaved runs of rows: the sums in
    # global row order pass between them many times a tree.
    X, targets, weight = data
    y = targets[task]
    is_regression = task == "regression"
    local_class = RandomForestRegressor if is_regression else RandomForestClassifier
    params = {**PARAMS, "max_features": 0.6}
    local = local_class(**params).fit(X, y, weight)
    config = make_config(_core.ForestConfig(), local._config_values(N_ROWS, N_FEATURES, 1))
    if is_regression:
        target = y.astype(np.float64)
    else:
        target = np.searchsorted(local.classes_, y).astype(np.int32)
    n_ranks = 3
    owner = (np.arange(N_ROWS) // 37 + np.arange(N_ROWS) // 101) % n_ranks
    rings = [_core.TcpRing("127.0.0.1", 10.0) for _ in range(n_ranks)]
    ports = [ring.port for ring in rings]
    mapper = local._model.bin_mapper
    models, errors = [None] * n_ranks, []

    def participant(rank):
        try:
            rings[rank].connect(["127.0.0.1"] * n_ranks, ports, rank, 13)
            rows = np.flatnonzero(owner == rank)
            labels = {"y": target[rows]} if is_regression else {"classes": target[rows]}
            trainer = _core.ForestTrainer(config, mapper, mapper.transform(X[rows]), sample_weight=weight[rows],
                                          reduction=rings[rank], global_rows=rows, n_global_rows=N_ROWS,
                                          sampling_weights=weight, **labels)
            trainer.grow(params["n_estimators"])
            models[rank] = trainer.model()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            rings[rank].close()

    threads = [threading.Thread(target=participant, args=(rank,)) for rank in range(n_ranks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    expected = _arrays(local)
    for model in models:
        arrays = model.to_arrays()
        for key in expected:
            assert np.array_equal(np.asarray(arrays[key]), expected[key]), key


def test_a_worker_killed_mid_fit_ends_the_forests_fit():
    assert_a_killed_worker_ends_the_fit(
        lambda client: DaskRandomForestRegressor(n_estimators=100_000, client=client, timeout=20),
        "train_forest_on_worker", 4_000)
