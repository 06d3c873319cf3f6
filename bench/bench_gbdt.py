"""End-to-end gradient boosting: treeforge beside scikit-learn, LightGBM and XGBoost, one fresh process per fit.

Every (task, config, threads, library, repeat) is a child process (see ``common.run_child``):
fit and predict times, whole-process peak RSS from ``os.wait4``, peak minus the RSS after loading,
and the test metric. Medians over repeats, libraries interleaved within each repeat.

    python bench/bench_gbdt.py                        # all tasks, both configs, 3 repeats
    python bench/bench_gbdt.py --scaling rows         # binary at 100k, 300k, 1M, 3M training rows
    python bench/bench_gbdt.py --scaling threads      # 1 vs 2 threads
    python bench/bench_gbdt.py --small                # 10,000 rows, 1 vs 2 threads
    python bench/bench_gbdt.py --scaling tall --rounds 100 --libs treeforge,lightgbm,xgboost  # #27: 1M and 10M rows
    python bench/bench_gbdt.py --tasks wide --configs leafwise --rounds 100 --libs treeforge,lightgbm,xgboost
                                                      # #27: 200,000 x 2,000 dense, 300 columns informative
    python bench/bench_gbdt.py --tasks binary --rows-scale 0.05 --rounds 20 --repeats 1 --no-write
"""

import argparse
import os
import time
from dataclasses import asdict

import common

FAMILY = "gbdt"  # random forests and AdaBoost: bench_forest.py, on the same harness
SCALING_ROWS = [100_000, 300_000, 1_000_000, 3_000_000]
SCALING_TEST_ROWS = 50_000
TALL_ROWS = [1_000_000, 10_000_000]  # issue #27: fit time per row at 10M within 10 % of 1M's
TALL_TEST_ROWS = 200_000
SMALL_ROWS = 10_000


def make_spec_fn(family, task, config, params, n_threads, seed):
    """lib -> child spec of one case (the same for every library but the name)."""
    def make(lib):
        return {"family": family, "lib": lib, "task": asdict(task), "config": config,
                "params": params, "n_threads": n_threads, "seed": seed}
    return make


def plan(args):
    """[(section key, title, [Task], threads, table options)] for the chosen mode."""
    threads = args.threads
    base = common.TASKS["binary"]
    if args.scaling == "rows":
        tasks = [base.scaled(args.rows_scale, n_train=n, n_test=SCALING_TEST_ROWS) for n in SCALING_ROWS]
        return [("scaling-rows", "binary: fit time against training rows", tasks, threads or [2],
                 {"key_columns": ("n_train", "config"), "per_million_rows": True})]
    if args.scaling == "tall":
        tasks = [base.scaled(args.rows_scale, n_train=n, n_test=TALL_TEST_ROWS) for n in TALL_ROWS]
        return [("scaling-tall", "binary: tall data, 1,000,000 and 10,000,000 training rows", tasks, threads or [2],
                 {"key_columns": ("n_train", "config"), "per_million_rows": True})]
    if args.scaling == "threads":
        return [(f"scaling-threads-{name}", f"{name} ({common.TASKS[name].scaled(args.rows_scale).describe()}): "
                 "1 vs 2 threads", [common.TASKS[name].scaled(args.rows_scale)], threads or [1, 2],
                 {"key_columns": ("config", "n_threads"), "thread_speedup": True}) for name in args.tasks]
    if args.small:
        # Not scaled by --rows-scale: the point is the fixed cost of a small fit.
        task = base.scaled(1.0, n_train=SMALL_ROWS, n_test=SMALL_ROWS)
        return [("small", f"binary, {task.describe()}: thread start-up cost on a small fit", [task], threads or [1, 2],
                 {"key_columns": ("config", "n_threads"), "thread_speedup": True})]
    return [(name, f"{name} ({common.TASKS[name].scaled(args.rows_scale).describe()})",
             [common.TASKS[name].scaled(args.rows_scale)], threads or [2],
             {"key_columns": ("config", "n_threads") if len(threads or [2]) > 1 else ("config",)})
            for name in args.tasks]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=common.csv_list, default=None,
                        help="comma-separated (default: all; binary for --scaling threads)")
    parser.add_argument("--configs", type=common.csv_list, default=None,
                        help="comma-separated (default: all of the family; leafwise only for --scaling/--small)")
    parser.add_argument("--libs", type=common.csv_list, default=None, help="comma-separated (default: the family's)")
    parser.add_argument("--threads", type=common.int_list, default=None,
                        help="comma-separated thread counts (default 2; 1,2 for --scaling threads and --small)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--scaling", choices=["rows", "threads", "tall"])
    mode.add_argument("--small", action="store_true", help=f"{SMALL_ROWS:,} training rows, 1 vs 2 threads")
    parser.add_argument("--seed", type=int, default=0, help="seed of every learner")
    parser.add_argument("--timeout", type=float, default=7200, help="seconds allowed to one child run")
    parser.add_argument("--raw", default=None, help="append every run's JSON here (default: in the cache folder)")
    common.add_common_args(parser)
    args = parser.parse_args(argv)

    family = common.FAMILIES[FAMILY]
    libs = args.libs or family["libs"]
    if args.scaling in ("rows", "tall") or args.small:
        args.tasks = ["binary"]
    args.tasks = args.tasks or (["binary"] if args.scaling else
                                [name for name, task in common.TASKS.items() if task.in_default_run])
    unknown = [lib for lib in libs if (FAMILY, lib) not in common.LEARNERS]
    unknown += [t for t in args.tasks if t not in common.TASKS]
    configs = args.configs or (["leafwise"] if args.scaling or args.small else list(family["configs"]))
    unknown += [c for c in configs if c not in family["configs"]]
    if unknown:
        parser.error(f"unknown name(s): {', '.join(unknown)}")
    raw = args.raw or os.path.join(common.CACHE_DIR, f"runs-{time.strftime('%Y%m%d-%H%M%S')}.jsonl")
    os.makedirs(os.path.dirname(os.path.abspath(raw)), exist_ok=True)

    for key, title, tasks, threads, table_options in plan(args):
        cases = []
        for task in tasks:
            common.ensure_cached(task)  # generated once, before any timing
            for config in configs:
                params = dict(family["params"], **family["configs"][config], rounds=args.rounds)
                cases += [make_spec_fn(FAMILY, task, config, params, t, args.seed) for t in threads]
        results = common.run_interleaved(cases, libs, args.repeats, args.timeout, raw)
        rows = common.aggregate(results, ("n_train", "config", "n_threads", "lib"))
        notes = [f"{args.rounds} rounds, learning rate {family['params']['learning_rate']}, "
                 f"{family['params']['max_bins']} bins, configs: "
                 + "; ".join(f"{c} = {family['configs'][c]}" for c in configs),
                 f"medians of {args.repeats} repeats, each run a fresh process, libraries round-robin; "
                 "peak RSS = ru_maxrss of the child (whole process, from os.wait4 in a lean launcher); "
                 "baseline = RSS after importing the library and loading the data",
                 common.round_trip_note(results), f"raw runs: {raw}"]
        warnings = sorted({r["warning"] for r in results if "warning" in r})
        notes += [f"warning: {w}" for w in warnings]
        common.finish_section(args, f"{FAMILY}-{key}", f"{FAMILY}: {title}", libs,
                              common.results_table(rows, libs, **table_options), notes)


if __name__ == "__main__":
    main()
