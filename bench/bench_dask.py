"""Distributed fit on a LocalCluster (2 workers x 1 thread) against the single-process fit (2 threads), binary task.

Prints the fit times, their ratio, whether the models are identical, and the ring's communication per
tree (reductions, bytes each worker sent, seconds inside the reductions). The data is made here
(a synthetic binary task of the bench's shape) and persisted on the cluster before the timed fit.

    python bench/bench_dask.py --rows 800000 --features 28 --leaves 255 --rounds 200
    python bench/bench_dask.py --forest --rows 200000 --leaves 255 --rounds 10   # random forest, --rounds trees
"""

import argparse
import time

import numpy as np


def make_data(n_rows, n_features, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_features)).astype(np.float64)
    score = X[:, 0] - 0.5 * X[:, 1] ** 2 + np.sin(2 * X[:, 2]) + 0.3 * X[:, 3] * X[:, 4]
    y = (score + rng.logistic(size=n_rows) > 0).astype(np.int64)
    return X, y


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=28)
    parser.add_argument("--leaves", type=int, default=255)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--forest", action="store_true", help="random forests (--rounds trees) instead of boosting")
    args = parser.parse_args()

    import dask.array as da
    import distributed

    from treeforge import HistGradientBoostingClassifier, RandomForestClassifier
    from treeforge.dask import DaskHistGradientBoostingClassifier, DaskRandomForestClassifier

    X, y = make_data(args.rows, args.features, args.seed)
    if args.forest:
        local_class, dask_class = RandomForestClassifier, DaskRandomForestClassifier
        params = dict(n_estimators=args.rounds, max_leaf_nodes=args.leaves, random_state=args.seed)
    else:
        local_class, dask_class = HistGradientBoostingClassifier, DaskHistGradientBoostingClassifier
        params = dict(max_iter=args.rounds, max_leaf_nodes=args.leaves, random_state=args.seed, early_stopping=False)
    tic = time.perf_counter()
    local = local_class(**params, n_jobs=2).fit(X, y)
    local_seconds = time.perf_counter() - tic

    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                       silence_logs=40)
    with cluster, distributed.Client(cluster) as client:
        half = (args.rows + 1) // 2
        dX = client.persist(da.from_array(X, chunks=(half, args.features)))
        dy = client.persist(da.from_array(y, chunks=half))
        distributed.wait([dX, dy])
        tic = time.perf_counter()
        model = dask_class(**params, client=client).fit(dX, dy)
        dask_seconds = time.perf_counter() - tic
    a, b = model._model.to_arrays(), local._model.to_arrays()
    identical = all(np.array_equal(np.asarray(a[k]), np.asarray(b[k])) for k in a)
    comm = model.communication_
    what = f"{args.rounds} trees of a forest" if args.forest else f"{args.rounds} rounds"
    print(f"{args.rows} x {args.features}, {args.leaves} leaves, {what}: single process (2 threads) "
          f"{local_seconds:.2f} s, LocalCluster 2 x 1 {dask_seconds:.2f} s, ratio {dask_seconds / local_seconds:.2f}, "
          f"identical model: {identical}")
    print(f"per tree: {comm['reductions_per_tree']:.1f} reductions, {comm['bytes_sent_per_tree'] / 1e6:.2f} MB sent "
          f"per worker, {1e3 * comm['seconds_per_tree']:.1f} ms in reductions; rows per worker "
          f"{comm['rows_per_worker']}")


if __name__ == "__main__":
    main()
