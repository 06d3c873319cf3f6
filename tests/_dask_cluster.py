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
