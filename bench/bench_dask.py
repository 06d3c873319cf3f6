"""Distributed fit on a LocalCluster (2 workers x 1 thread): treeforge.dask beside the single-process fit (2 threads),
``xgboost.dask`` and ``lightgbm.dask`` on the same cluster and data; the ring's cost and its projection to more workers.

The data (a synthetic binary task of the bench's shape, seeded) is made here, split into
training and test rows, and persisted on the cluster (one block per worker) before the timed fits.
Every library fits with the same tree parameters (bench/common.py's leaf-wise config: 255 leaves,
learning rate 0.1, 255 bins, at least 20 rows a leaf, no L2) and one thread a worker. The one-process
fits run first, before the cluster starts (its idle processes would share the cores); then the
distributed fits round-robin, ``--repeats`` times each, every library imported on the workers first;
the tables give medians. Held-out AUC comes from each model's
own predictions of the test rows.

The ring: two processes reduce int64 arrays of 8 B to 32 MB through ``TcpRing`` (the transport of
treeforge.dask) and the per-reduction time t(B) = 2 (p - 1) alpha + 2 (p - 1) / p * B / beta is fitted
to it (p = 2: latency alpha, bandwidth beta). With the measured reductions and bytes per tree of the
distributed fit, the same model gives the ring's time per tree at 8, 32 and 128 workers.

    python bench/bench_dask.py                                   # 800,000 x 28, 200 rounds, 3 repeats
    python bench/bench_dask.py --rows 200000 --rounds 20 --repeats 1 --no-write
    python bench/bench_dask.py --forest --rows 200000 --rounds 10 --no-ring   # random forests, --rounds trees
"""

import argparse
import importlib
import multiprocessing
import statistics
import time

import numpy as np

import common

LIBS = ("treeforge", "xgboost", "lightgbm")
RING_SIZES = [8 << k for k in range(0, 23, 2)]  # 8 B .. 32 MB
PROJECTED_WORKERS = (2, 8, 32, 128)
WORKER_MODULES = {"treeforge": "treeforge.dask._training", "xgboost": "xgboost.dask", "lightgbm": "lightgbm.dask"}


def make_data(n_rows, n_features, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_features)).astype(np.float64)
    score = X[:, 0] - 0.5 * X[:, 1] ** 2 + np.sin(2 * X[:, 2]) + 0.3 * X[:, 3] * X[:, 4]
    y = (score + rng.logistic(size=n_rows) > 0).astype(np.int64)
    return X, y


def tree_params(args):
    return {**common.COMMON_PARAMS, **common.CONFIGS["leafwise"], "rounds": args.rounds, "max_leaf_nodes": args.leaves}


def treeforge_model(args, on_dask, **extra):
    """treeforge's estimator of the run: boosting, or with --forest a random forest of --rounds trees."""
    from treeforge import HistGradientBoostingClassifier, RandomForestClassifier
    from treeforge.dask import DaskHistGradientBoostingClassifier, DaskRandomForestClassifier

    if args.forest:
        cls = DaskRandomForestClassifier if on_dask else RandomForestClassifier
        return cls(n_estimators=args.rounds, max_leaf_nodes=args.leaves, random_state=args.seed, **extra)
    params = tree_params(args)
    cls = DaskHistGradientBoostingClassifier if on_dask else HistGradientBoostingClassifier
    return cls(**common._hist_gradient_boosting_params(params, args.seed), min_child_weight=params["min_child_weight"],
               **extra)


# ----------------------------------------------------------------------------------------- fits


def fit_distributed(lib, client, dX, dy, args):
    """(seconds, fitted model) of one distributed fit on the persisted blocks."""
    params, seed = tree_params(args), args.seed
    if lib == "treeforge":
        model = treeforge_model(args, True, client=client)
    elif lib == "xgboost":
        import xgboost.dask

        model = xgboost.dask.DaskXGBClassifier(n_estimators=params["rounds"], **common.xgboost_params(params, 1, seed))
        model.client = client
    else:
        import lightgbm

        model = lightgbm.DaskLGBMClassifier(client=client, n_estimators=params["rounds"],
                                            **common.lightgbm_params(params, 1, seed))
    tic = time.perf_counter()
    model.fit(dX, dy)
    return time.perf_counter() - tic, model


def held_out_auc(lib, model, X_test, y_test):
    from sklearn.metrics import roc_auc_score

    if lib == "xgboost":
        import xgboost

        proba = model.get_booster().predict(xgboost.DMatrix(X_test))
    else:
        proba = (model.to_local() if hasattr(model, "to_local") else model).predict_proba(X_test)[:, 1]
    return float(roc_auc_score(y_test, proba))


def run_single(args, X, y, X_test, y_test):
    """([seconds], AUC, model) of the one-process fit (2 threads), before any cluster runs beside it."""
    times = []
    for repeat in range(args.repeats):
        local = treeforge_model(args, False, n_jobs=2)
        times.append(common.timed(lambda: local.fit(X, y)))
        common.log(f"repeat {repeat + 1}: one process {times[-1]:.2f} s")
    return times, held_out_auc("treeforge", local, X_test, y_test), local


def run_distributed(args, X, y, X_test, y_test, local):
    """{lib: [seconds]}, {lib: AUC}, treeforge.dask's communication and whether its model is ``local``'s."""
    import dask.array as da
    import distributed

    times, auc, comm, identical = {lib: [] for lib in args.libs}, {}, None, None
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                       silence_logs=40)
    with cluster, distributed.Client(cluster) as client:
        half = (len(y) + 1) // 2
        dX = client.persist(da.from_array(X, chunks=(half, X.shape[1])))
        dy = client.persist(da.from_array(y, chunks=half))
        distributed.wait([dX, dy])
        for lib in args.libs:  # each library imported on every worker before its timed fits
            client.run(importlib.import_module, WORKER_MODULES[lib])
        for repeat in range(args.repeats):
            for k in range(len(args.libs)):
                lib = args.libs[(k + repeat) % len(args.libs)]
                seconds, model = fit_distributed(lib, client, dX, dy, args)
                times[lib].append(seconds)
                common.log(f"repeat {repeat + 1}: {lib}.dask {seconds:.2f} s")
                if repeat == 0:
                    auc[lib] = held_out_auc(lib, model, X_test, y_test)
                if lib == "treeforge":
                    comm = model.communication_
                    a, b = model._model.to_arrays(), local._model.to_arrays()
                    identical = all(np.array_equal(np.asarray(a[key]), np.asarray(b[key])) for key in a)
    return times, auc, comm, identical


# ----------------------------------------------------------------------------------------- ring


def _ring_participant(rank, ports, queue, repeats):
    from treeforge import _core

    ring = _core.TcpRing("127.0.0.1", 30.0)
    ports.put((rank, ring.port))
    hosts_ports = queue.get()
    ring.connect(["127.0.0.1"] * 2, hosts_ports, rank, 3)
    medians = []
    for size in RING_SIZES:
        values = np.ones(size // 8, dtype=np.int64)
        ring.sum(values)  # warm-up: buffers allocated, the peer ready
        seconds = []
        for _ in range(repeats):
            tic = time.perf_counter()
            ring.sum(values)
            seconds.append(time.perf_counter() - tic)
        medians.append(statistics.median(seconds))
    ring.close()
    ports.put(("done", rank, medians))


def measure_ring(repeats=21):
    """Median seconds of one reduction per size in RING_SIZES, two processes on this machine (rank 0's)."""
    context = multiprocessing.get_context("spawn")
    ports, queues = context.Queue(), [context.Queue() for _ in range(2)]
    processes = [context.Process(target=_ring_participant, args=(rank, ports, queues[rank], repeats))
                 for rank in range(2)]
    for process in processes:
        process.start()
    listening = dict(ports.get(timeout=60) for _ in range(2))
    for queue in queues:
        queue.put([listening[0], listening[1]])
    results = {}
    for _ in range(2):
        _, rank, medians = ports.get(timeout=600)
        results[rank] = medians
    for process in processes:
        process.join(60)
    return results[0]


def fit_ring(medians):
    """(alpha s, beta bytes/s) of t = 2 alpha + B / beta (p = 2) by least squares, relative errors weighted."""
    sizes = np.asarray(RING_SIZES, dtype=np.float64)
    t = np.asarray(medians)
    design = np.column_stack([2.0 / t, sizes / t])  # rows divided by t: each size weighs alike
    alpha, inverse_beta = np.linalg.lstsq(design, np.ones_like(t), rcond=None)[0]
    return float(alpha), float(1.0 / inverse_beta)


def ring_seconds_per_tree(p, reductions, bytes_per_tree, alpha, beta):
    """The ring's time per tree for p workers: each reduction 2 (p - 1) steps of latency, and each worker
    sending 2 (p - 1) / p of the reduced bytes (which at p = 2 are the bytes each worker sent)."""
    return reductions * 2 * (p - 1) * alpha + 2 * (p - 1) / p * bytes_per_tree / beta


# -------------------------------------------------------------------------------------- report


def projection_table(comm, alpha, beta):
    """The ring's seconds per tree at PROJECTED_WORKERS from the fit's reductions and bytes per tree."""
    reductions, sent = comm["reductions_per_tree"], comm["bytes_sent_per_tree"]
    rows = [[p, f"{ring_seconds_per_tree(p, reductions, sent, alpha, beta):.4f}",
             f"{reductions * 2 * (p - 1) * alpha:.4f}",
             f"{ring_seconds_per_tree(p, reductions, sent, 50e-6, 1.25e9):.3f}"]
            for p in PROJECTED_WORKERS]
    return common.markdown_table(["workers", "ring seconds per tree (this machine's alpha, beta)", "of which latency",
                                  "the same at alpha = 50 us, beta = 1.25 GB/s (10 GbE, assumed)"], rows)


def report(args, times, auc, comm, identical, ring_medians):
    med = {case: statistics.median(values) for case, values in times.items()}
    rows = [["treeforge, one process (2 threads)", common.fmt(med["single"]), "", f"{auc['single']:.4f}",
             ", ".join(f"{s:.2f}" for s in times["single"])]]
    for lib in args.libs:
        name = {"treeforge": "treeforge.dask", "xgboost": "xgboost.dask", "lightgbm": "lightgbm.dask"}[lib]
        against = [f"{med[lib] / med['single']:.2f}x one process"]
        if lib != "treeforge" and "treeforge" in med:
            against.append(f"treeforge.dask {med['treeforge'] / med[lib]:.2f}x")
        rows.append([f"{name}, LocalCluster 2 x 1", common.fmt(med[lib]), "; ".join(against), f"{auc[lib]:.4f}",
                     ", ".join(f"{s:.2f}" for s in times[lib])])
    body = common.markdown_table(["fit", "seconds (median)", "ratio", "held-out AUC", "every run (s)"], rows)
    notes = [f"data: {args.rows:,} x {args.features} binary (seeded), {args.test_rows:,} test rows; "
             f"{args.rounds} {'trees' if args.forest else 'rounds'}, {args.leaves} leaves; medians of {args.repeats} "
             "(the one-process fits first, then the distributed ones round-robin)",
             f"treeforge.dask's model identical to the one-process model: {identical}"]
    if comm:
        body += (f"\nThe ring per tree (treeforge.dask, measured): {comm['reductions_per_tree']:.1f} reductions, "
                 f"{comm['bytes_sent_per_tree'] / 1e6:.2f} MB sent by each worker, "
                 f"{1e3 * comm['seconds_per_tree']:.1f} ms inside reductions (slowest worker); rows per worker "
                 f"{comm['rows_per_worker']}.\n")
    if ring_medians:
        alpha, beta = fit_ring(ring_medians)
        sizes = ", ".join(f"{common.fmt(size)} B {1e6 * t:.0f} us" for size, t in zip(RING_SIZES, ring_medians))
        body += (f"\nOne reduction between two processes on this machine (median of 21): {sizes}; fitted "
                 f"latency alpha = {1e6 * alpha:.1f} us a step, bandwidth beta = {beta / 1e9:.2f} GB/s.\n")
        if comm:
            body += "\n" + projection_table(comm, alpha, beta)
    return body, notes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=800_000)
    parser.add_argument("--test-rows", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=28)
    parser.add_argument("--rounds", type=int, default=200, help="boosting rounds (trees with --forest)")
    parser.add_argument("--leaves", type=int, default=255)
    parser.add_argument("--forest", action="store_true",
                        help="random forests of --rounds trees, treeforge alone (the peers have no Dask forest here)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--libs", default=",".join(LIBS), help="distributed libraries, comma-separated")
    parser.add_argument("--no-ring", action="store_true", help="skip the ring's latency and bandwidth")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md as it is")
    args = parser.parse_args()
    args.libs = ["treeforge"] if args.forest else [lib for lib in args.libs.split(",") if lib]

    ring_medians = None if args.no_ring else measure_ring()
    X, y = make_data(args.rows + args.test_rows, args.features, args.seed)
    X, X_test, y, y_test = X[:args.rows], X[args.rows:], y[:args.rows], y[args.rows:]
    single, single_auc, local = run_single(args, X, y, X_test, y_test)
    times, auc, comm, identical = run_distributed(args, X, y, X_test, y_test, local)
    times["single"], auc["single"] = single, single_auc
    body, notes = report(args, times, auc, comm, identical, ring_medians)
    full_size = (200_000, 10) if args.forest else (800_000, 200)  # the forest's section: 10 trees of 200k rows
    quick = (args.rows, args.rounds) != full_size or args.leaves != 255
    what = "random forests" if args.forest else "boosting"
    peers = "" if args.forest else " and the peers"
    title = f"Dask {what}: LocalCluster 2 workers x 1 thread against one process{peers}" + " (quick)" * quick
    header = common.section_header(title, args.libs, notes)
    print(header + "\n" + body)
    if not args.no_write:
        common.write_section("dask-localcluster" + "-forest" * args.forest + "-quick" * quick, header + "\n" + body)


if __name__ == "__main__":
    main()
