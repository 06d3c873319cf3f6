"""Prediction: batch throughput and single-row latency of the same 200-tree, 255-leaf model in each library.

Each library fits the leaf-wise config on the binary task (2 threads, untimed here; fit time is
bench_gbdt.py's job), then predicts through two paths: "API" (``predict_proba`` of the
scikit-learn-style estimator, input checks included) and "native" (raw margins: treeforge
``Model.predict_margin``, LightGBM ``Booster.predict(raw_score=True)``, XGBoost
``Booster.inplace_predict``, scikit-learn's private ``_raw_predict``).

- batch: the whole test set (200,000 rows at full size) with 2 and 1 threads, medians of
  ``--repeats``, libraries round-robin;
- single row: a batch of one row, 1 thread, ``--calls`` calls cycling over test rows; median and
  99th percentile per call.

    python bench/bench_predict.py
    python bench/bench_predict.py --rows-scale 0.05 --rounds 20 --repeats 3 --calls 300 --no-write
"""

import argparse
import statistics
import time

import numpy as np

import common


def set_threads(estimator, n_threads):
    """Use ``n_threads`` in the estimator's own predict (scikit-learn's follows OpenMP's limit instead)."""
    if isinstance(estimator, common.CoreGbdt):
        estimator.n_threads = n_threads
    elif "n_jobs" in estimator.get_params():
        estimator.set_params(n_jobs=n_threads)


def api_path(lib, estimator, n_threads):
    set_threads(estimator, n_threads)
    return estimator.predict_proba


def native_path(lib, estimator, n_threads):
    """X -> raw margins through the library's lowest public (or, for scikit-learn, private) call."""
    if lib.startswith("treeforge"):
        model = getattr(estimator, "_model", None) or estimator.model_
        return lambda X: model.predict_margin(X, n_threads)
    if lib == "lightgbm":
        booster = estimator.booster_
        return lambda X: booster.predict(X, raw_score=True, num_threads=n_threads)
    if lib == "xgboost":
        booster = estimator.get_booster()
        booster.set_param({"nthread": n_threads})
        return lambda X: booster.inplace_predict(X, predict_type="margin")
    return estimator._raw_predict  # scikit-learn: threads from the OpenMP limit set around the phase


PATHS = {"API": api_path, "native": native_path}


def batch_phase(models, X, n_threads, repeats):
    """{(lib, path): median seconds} predicting all of X with ``n_threads``."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n_threads, user_api="openmp"):
        cases = {}
        for lib, estimator in models.items():
            for path, make in PATHS.items():
                predict = make(lib, estimator, n_threads)
                cases[(lib, path)] = lambda p=predict: {"t": common.timed(lambda: p(X))}
        return {key: m["t"] for key, m in common.interleaved_medians(cases, repeats).items()}


def latency_phase(models, X, calls):
    """{(lib, path): (median, p99) seconds} of one-row predictions with 1 thread."""
    from threadpoolctl import threadpool_limits

    rows = [np.ascontiguousarray(X[i:i + 1]) for i in range(min(len(X), 1000))]
    out = {}
    with threadpool_limits(limits=1, user_api="openmp"):
        for lib, estimator in models.items():
            for path, make in PATHS.items():
                predict = make(lib, estimator, 1)
                for row in rows[:50]:  # warm-up
                    predict(row)
                times = []
                for i in range(calls):
                    row = rows[i % len(rows)]
                    tic = time.perf_counter()
                    predict(row)
                    times.append(time.perf_counter() - tic)
                out[(lib, path)] = (statistics.median(times), float(np.percentile(times, 99)))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--libs", type=common.csv_list, default=common.FAMILIES["gbdt"]["libs"])
    parser.add_argument("--config", default="leafwise", choices=list(common.CONFIGS))
    parser.add_argument("--task", default="binary", choices=["binary", "binary_missing"])
    parser.add_argument("--calls", type=int, default=2000, help="single-row calls per library and path")
    common.add_common_args(parser, repeats=5)
    args = parser.parse_args(argv)

    task = common.TASKS[args.task].scaled(args.rows_scale)
    X_train, y_train, X_test, y_test = common.load_task(task)
    params = dict(common.COMMON_PARAMS, **common.CONFIGS[args.config], rounds=args.rounds)
    models, aucs = {}, {}
    for lib in args.libs:
        estimator, runner = common.LEARNERS[("gbdt", lib)].make(task, params, 2, 0)
        fit_s = common.timed(lambda: estimator.fit(X_train, y_train))
        models[lib] = estimator
        aucs[lib] = common.compute_metrics(task, y_test, estimator.predict_proba(X_test))["auc"]
        common.log(f"fitted {lib} ({runner}) in {fit_s:.1f} s, AUC {aucs[lib]:.4f}")

    batch = {t: batch_phase(models, X_test, t, args.repeats) for t in (2, 1)}
    latency = latency_phase(models, X_test, args.calls)
    batch_rows, latency_rows = [], []
    for path in PATHS:
        ref = next((lib for lib in args.libs if lib.startswith("treeforge")), None)
        for lib in args.libs:
            key, ref_key = (lib, path), (ref, path)
            is_ref = lib == ref
            batch_rows.append([lib, path, f"{aucs[lib]:.4f}", common.fmt(batch[2][key]), common.fmt(batch[1][key]),
                               f"{len(X_test) / batch[2][key] / 1e6:.2f}",
                               "—" if is_ref else common.ratio(batch[2].get(ref_key), batch[2][key]),
                               "—" if is_ref else common.ratio(batch[1].get(ref_key), batch[1][key])])
            median, p99 = latency[key]
            latency_rows.append([lib, path, f"{median * 1e6:,.1f}", f"{p99 * 1e6:,.1f}",
                                 "—" if is_ref else common.ratio(latency.get(ref_key, (None,))[0], median)])
    body = (f"Batch of {len(X_test):,} rows:\n\n"
            + common.markdown_table(["library", "path", "AUC", "2 threads s", "1 thread s", "M rows/s (2 threads)",
                                     "treeforge/peer 2 threads", "1 thread"], batch_rows)
            + "\nSingle row (batch of one, 1 thread):\n\n"
            + common.markdown_table(["library", "path", "median µs", "p99 µs", "treeforge/peer median"],
                                    latency_rows))
    notes = [f"model: {args.config} {params}, fitted on {task.describe()} with 2 threads",
             f"batch: medians of {args.repeats} repeats after one warm-up, round-robin; single row: "
             f"{args.calls} calls over {min(len(X_test), 1000)} rows after 50 warm-up calls",
             "API = predict_proba (input validation included); native = raw margins (see the script's docstring)"]
    common.finish_section(args, f"predict-{args.task}-{args.config}", f"predict: {args.task}, {args.config}",
                          args.libs, body, notes)


if __name__ == "__main__":
    main()
