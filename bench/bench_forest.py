"""Random forests and AdaBoost end to end: treeforge beside scikit-learn, LightGBM's rf mode and XGBoost's random forest, one fresh process per fit.

Every (task, library, repeat) is a child process (see ``common.run_child``): fit and predict times,
whole-process peak RSS, and the test metric; medians over repeats, libraries interleaved.

    python bench/bench_forest.py                          # rf on binary 200k; AdaBoost on binary and regression 100k
    python bench/bench_forest.py --parts rf --rf-rows 800000
    python bench/bench_forest.py --parts adaboost --repeats 1
    python bench/bench_forest.py --rows-scale 0.05 --trees 20 --repeats 1 --no-write   # a quick look
"""

import argparse
import os
import time

import common
from bench_gbdt import make_spec_fn

RF_ROWS = 200_000          # the 20x target: scikit-learn's forest on 200,000 x 28
ADABOOST_ROWS = 100_000    # the AdaBoost reference: 100 stumps on 100,000 rows
TEST_ROWS = 50_000


def plan(args):
    """[(family, section key, title, task)] of the chosen parts."""
    cases = []
    if "rf" in args.parts:
        for name in args.rf_tasks:
            task = common.TASKS[name].scaled(args.rows_scale, n_train=args.rf_rows, n_test=TEST_ROWS)
            cases.append(("rf", f"rf-{name}", f"random forest: {name} ({task.describe()})", task))
    if "adaboost" in args.parts:
        for name in args.adaboost_tasks:
            task = common.TASKS[name].scaled(args.rows_scale, n_train=args.adaboost_rows, n_test=TEST_ROWS)
            cases.append(("adaboost", f"adaboost-{name}", f"AdaBoost: {name} ({task.describe()})", task))
    return cases


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", type=common.csv_list, default=["rf", "adaboost"], help="rf and/or adaboost")
    parser.add_argument("--rf-tasks", type=common.csv_list, default=["binary"], help="tasks of the forests")
    parser.add_argument("--adaboost-tasks", type=common.csv_list, default=["binary", "regression"])
    parser.add_argument("--rf-rows", type=int, default=RF_ROWS, help="training rows of the forest tasks")
    parser.add_argument("--adaboost-rows", type=int, default=ADABOOST_ROWS, help="training rows of the AdaBoost tasks")
    parser.add_argument("--trees", type=int, default=None, help="trees / rounds (default: the family's, 100)")
    parser.add_argument("--libs", type=common.csv_list, default=None, help="comma-separated (default: each family's)")
    parser.add_argument("--threads", type=int, default=2, help="threads of every library")
    parser.add_argument("--seed", type=int, default=0, help="seed of every learner")
    parser.add_argument("--timeout", type=float, default=7200, help="seconds allowed to one child run")
    parser.add_argument("--raw", default=None, help="append every run's JSON here (default: in the cache folder)")
    common.add_common_args(parser, rounds=False)
    args = parser.parse_args(argv)
    unknown = [p for p in args.parts if p not in ("rf", "adaboost")]
    unknown += [t for t in args.rf_tasks + args.adaboost_tasks if t not in common.TASKS]
    if unknown:
        parser.error(f"unknown name(s): {', '.join(unknown)}")
    raw = args.raw or os.path.join(common.CACHE_DIR, f"runs-forest-{time.strftime('%Y%m%d-%H%M%S')}.jsonl")
    os.makedirs(os.path.dirname(os.path.abspath(raw)), exist_ok=True)

    for family_name, key, title, task in plan(args):
        family = common.FAMILIES[family_name]
        libs = [lib for lib in (args.libs or family["libs"]) if (family_name, lib) in common.LEARNERS]
        trees = args.trees or family["params"]["rounds"]
        common.ensure_cached(task)  # generated once, before any timing
        cases = [make_spec_fn(family_name, task, config, dict(family["params"], **family["configs"][config], rounds=trees),
                              args.threads, args.seed) for config in family["configs"]]
        results = common.run_interleaved(cases, libs, args.repeats, args.timeout, raw)
        rows = common.aggregate(results, ("n_train", "config", "n_threads", "lib"))
        params = {k: v for k, v in family["params"].items() if k not in ("rounds", "learning_rate")}
        notes = [f"{trees} trees; parameters {params}; configs: "
                 + "; ".join(f"{c} = {family['configs'][c]}" for c in family["configs"]),
                 f"{args.threads} threads each; medians of {args.repeats} repeats, each run a fresh process, "
                 "libraries round-robin; peak RSS = ru_maxrss of the child (whole process); baseline = RSS "
                 "after importing the library and loading the data",
                 common.round_trip_note(results), f"raw runs: {raw}"]
        if family_name == "rf":
            notes.append("LightGBM (boosting='rf') and XGBoost (XGBRF*) bag 63.2% of the rows without replacement "
                         "(the distinct share of a bootstrap) and draw the same number of features per node")
        else:
            notes.append("base learners: stumps (classification), depth-3 trees (regression); treeforge runs every "
                         "round in C++, scikit-learn's AdaBoost is single-threaded")
        notes += [f"warning: {w}" for w in sorted({r["warning"] for r in results if "warning" in r})]
        suffix = "" if trees == family["params"]["rounds"] else f" ({trees} trees)"
        common.finish_section(args, key, title + suffix, libs, common.results_table(rows, libs), notes,
                              family=family_name)


if __name__ == "__main__":
    main()
