"""What the Dask tests share: a LocalCluster of 2 worker processes (module-scoped ``client`` fixture), arrays
cut into blocks placed on chosen workers, and fitted models compared array by array."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                       silence_logs=40)
    with cluster, distributed.Client(cluster) as client:
        yield client


def workers_of(client):
    """The cluster's worker addresses, sorted."""
    return sorted(client.scheduler_info()["workers"])


def placed(client, arrays, bounds, owners):
    """The arrays cut at ``bounds`` into blocks, block i scattered to ``owners[i]``: a worker's address, or
    its index among ``workers_of(client)``."""
    import dask.array as da

    workers = workers_of(client)
    out = []
    for array in arrays:
        blocks = []
        for (lo, hi), owner in zip(zip(bounds[:-1], bounds[1:]), owners):
            worker = owner if isinstance(owner, str) else workers[owner]
            future = client.scatter(array[lo:hi], workers=[worker], hash=False)
            blocks.append(da.from_delayed(future, shape=(hi - lo,) + array.shape[1:], dtype=array.dtype))
        out.append(da.concatenate(blocks))
    return out


def same_model(a, b):
    """Model files' bytes agree but for the estimator's class name: compare the core's arrays."""
    arrays_a, arrays_b = a._model.to_arrays(), b._model.to_arrays()
    assert arrays_a.keys() == arrays_b.keys()
    for key in arrays_a:
        assert np.array_equal(np.asarray(arrays_a[key]), np.asarray(arrays_b[key])), key


def assert_a_killed_worker_ends_the_fit(make_estimator, task_name, n_rows):
    """On a cluster of its own: worker 1 killed (SIGKILL) once every worker runs ``task_name``, the fit of
    ``make_estimator(client)`` on ``n_rows`` rows in two blocks ends with a ConnectionError naming it, the
    survivor's ring closed and the client still computing."""
    import os
    import signal
    import threading

    import dask.array as da
    import distributed

    from treeforge.dask import _training

    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                       silence_logs=50)
    with cluster, distributed.Client(cluster) as client:
        X = np.random.default_rng(0).normal(size=(n_rows, 4))
        dX, dy = placed(client, [X, X[:, 0]], [0, n_rows // 2, n_rows], [0, 1])
        workers = workers_of(client)
        pid = client.run(os.getpid, workers=[workers[1]])[workers[1]]
        errors = []

        def fit():
            try:
                make_estimator(client).fit(dX, dy)
            except Exception as exc:  # noqa: BLE001 - the test inspects it
                errors.append(exc)

        thread = threading.Thread(target=fit)
        thread.start()
        while not all(any(task_name in str(key) for key in keys)
                      for keys in client.processing().values()) and thread.is_alive():
            threading.Event().wait(0.05)
        threading.Event().wait(0.5)
        os.kill(pid, signal.SIGKILL)
        thread.join(120)
        assert not thread.is_alive()
        assert len(errors) == 1 and isinstance(errors[0], ConnectionError), errors
        assert "lost worker 1" in str(errors[0]) and workers[1] in str(errors[0])
        # The survivor closed its ring; the client still computes.
        assert client.run(lambda: len(_training._RINGS), workers=[workers[0]]) == {workers[0]: 0}
        assert float(da.from_array(X, chunks=500).sum().compute()) == pytest.approx(X.sum())
