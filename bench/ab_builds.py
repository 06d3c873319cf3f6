"""A/B of two builds of treeforge on the same data: alternating fresh processes, median of ratios.

For a refactor that must not slow anything down: ``--old`` and ``--new`` are two folders that each
hold a built ``treeforge`` package (for example a ``git worktree`` of the earlier commit after
``tools/dev_build.sh``, and this checkout's ``python/``). Every pass fits each case once with each
build, in a fresh process, the order of the two builds alternating from pass to pass; the result
per case is the median over passes of new / old fit time, beside both medians. Both builds must
grow the same model: the script compares a hash of the fitted model's arrays.

    python bench/ab_builds.py --old ../baseline/python --new python --passes 7

``--callgrind`` counts instructions instead (valgrind's callgrind, one thread, rows and rounds
scaled by ``--scale``): repeatable whatever else the machine runs, so it separates a real change of
work from the noise of a shared machine. It reports the instructions spent in ``TreeGrower::grow``
and in the whole fit's process.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tasks import TASKS  # noqa: E402

CACHE_DIR = os.environ.get("TREEFORGE_BENCH_CACHE", "/tmp/treeforge-bench-cache")

# name: (task, training rows, estimator class, parameters)
CASES = {
    "binary_leafwise": ("binary", 200_000, "HistGradientBoostingClassifier",
                        dict(max_iter=60, max_leaf_nodes=255, early_stopping=False)),
    "binary_depth8": ("binary", 200_000, "HistGradientBoostingClassifier",
                      dict(max_iter=60, max_depth=8, max_leaf_nodes=None, grow_policy="depthwise",
                           early_stopping=False)),
    "multiclass": ("multiclass", 128_000, "HistGradientBoostingClassifier",
                   dict(max_iter=15, max_leaf_nodes=255, early_stopping=False)),
    "forest": ("binary", 80_000, "RandomForestClassifier",
               dict(n_estimators=60, max_leaf_nodes=255, min_samples_leaf=20, max_features="sqrt")),
    # Fully grown forests, scikit-learn's defaults (issue #27): mostly nodes of a few rows.
    "gbdt_small": ("binary", 10_000, "HistGradientBoostingClassifier", dict(max_iter=100, early_stopping=False)),
    "forest_grown_regression": ("regression", 20_000, "RandomForestRegressor", dict(n_estimators=100)),
    "forest_grown_classifier": ("binary", 20_000, "RandomForestClassifier", dict(n_estimators=100)),
}

# The model fields of format version 1, which every later format keeps.
HASHED_FIELDS = ["base_score", "edge_offsets", "edges", "tree_offsets", "feature", "bin", "left", "right",
                 "default_left", "threshold", "count", "cover", "gain", "value", "tree_weight"]

CHILD = r"""
import hashlib, json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
import treeforge
spec = json.loads(sys.argv[2])
X, y = np.load(spec["X"], mmap_mode="r")[:spec["rows"]], np.load(spec["y"])[:spec["rows"]]
estimator = getattr(treeforge, spec["cls"])(random_state=0, n_jobs=spec["n_jobs"], **spec["params"])
tic = time.perf_counter()
estimator.fit(X, y)
seconds = time.perf_counter() - tic
digest = hashlib.sha256()
arrays = estimator._model.to_arrays()
for name in spec["hashed_fields"]:  # fields both builds have: a newer format adds its own
    digest.update(name.encode() + np.ascontiguousarray(arrays[name]).tobytes())
print(json.dumps({"seconds": seconds, "hash": digest.hexdigest()[:16], "file": treeforge.__file__}))
"""


def training_arrays(task_name, n_train):
    """Paths of the first n_train training rows of a bench task, generated once into the cache."""
    from tasks import generate

    task = TASKS[task_name].scaled(n_train=n_train, n_test=100)
    stem = os.path.join(CACHE_DIR, f"ab-{task.name}-{n_train}")
    paths = {"X": f"{stem}.X.npy", "y": f"{stem}.y.npy"}
    if not all(os.path.exists(p) for p in paths.values()):
        os.makedirs(CACHE_DIR, exist_ok=True)
        X, y = generate(task)
        np.save(paths["X"], np.ascontiguousarray(X[:n_train]))
        np.save(paths["y"], np.ascontiguousarray(y[:n_train]))
    return paths


def _spec(case, scale=1.0, n_jobs=2, rounds_scale=None):
    task_name, n_train, cls, params = CASES[case]
    params = dict(params)
    for rounds in ("max_iter", "n_estimators"):
        if rounds in params:
            params[rounds] = max(2, round(params[rounds] * (rounds_scale or scale)))
    return dict(training_arrays(task_name, n_train), rows=max(1000, round(n_train * scale)), cls=cls,
                params=params, n_jobs=n_jobs, hashed_fields=HASHED_FIELDS)


def fit_once(package_dir, case, rounds_scale):
    env = dict(os.environ, OMP_NUM_THREADS="2")
    spec = _spec(case, rounds_scale=rounds_scale)
    out = subprocess.run([sys.executable, "-c", CHILD, os.path.abspath(package_dir), json.dumps(spec)],
                         check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def instructions(package_dir, case, scale):
    """(instructions in TreeGrower::grow, in the whole process) of one fit under callgrind."""
    with tempfile.TemporaryDirectory() as tmp:
        out_file = os.path.join(tmp, "callgrind.out")
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}",
                        os.path.realpath(sys.executable), "-c", CHILD, os.path.abspath(package_dir),
                        json.dumps(_spec(case, scale, n_jobs=1))], check=True, capture_output=True)
        report = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", out_file], check=True,
                                capture_output=True, text=True).stdout
    count = lambda line: int(line.split()[0].replace(",", ""))  # noqa: E731
    total = next(count(line) for line in report.splitlines() if "PROGRAM TOTALS" in line)
    grow = sum(count(line) for line in report.splitlines() if "TreeGrower::grow<" in line)
    return grow, total


def compare_instructions(args, cases):
    print("| case | grow, old | grow, new | new/old | process, new/old |")
    print("| --- | --- | --- | --- | --- |")
    for case in cases:
        (grow_old, total_old), (grow_new, total_new) = (instructions(getattr(args, b), case, args.scale)
                                                        for b in ("old", "new"))
        print(f"| {case} | {grow_old:,} | {grow_new:,} | {grow_new / grow_old:.4f} | {total_new / total_old:.4f} |",
              flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="folder holding the earlier build's treeforge package")
    parser.add_argument("--new", required=True, help="folder holding the later build's treeforge package")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated: " + ", ".join(CASES))
    parser.add_argument("--passes", type=int, default=7)
    parser.add_argument("--callgrind", action="store_true", help="count instructions instead of timing")
    parser.add_argument("--scale", type=float, default=0.2, help="rows and rounds under --callgrind")
    parser.add_argument("--rounds", type=float, default=1.0,
                        help="multiply every case's rounds (longer fits average out a noisy machine)")
    args = parser.parse_args(argv)
    cases = args.cases.split(",")
    if args.callgrind:
        return compare_instructions(args, cases)
    times = {case: {"old": [], "new": []} for case in cases}
    for p in range(args.passes):
        for case in cases:
            order = ("old", "new") if p % 2 == 0 else ("new", "old")
            results = {build: fit_once(getattr(args, build), case, args.rounds) for build in order}
            if results["old"]["hash"] != results["new"]["hash"]:
                sys.exit(f"{case}: the two builds grew different models")
            for build in order:
                times[case][build].append(results[build]["seconds"])
            print(f"pass {p + 1} {case}: old {results['old']['seconds']:.3f} s, new {results['new']['seconds']:.3f} s",
                  flush=True)
    print("\n| case | old median (s) | new median (s) | median of new/old | range of new/old |")
    print("| --- | --- | --- | --- | --- |")
    for case in cases:
        ratios = [n / o for n, o in zip(times[case]["new"], times[case]["old"])]
        print(f"| {case} | {statistics.median(times[case]['old']):.3f} | {statistics.median(times[case]['new']):.3f} "
              f"| {statistics.median(ratios):.3f} | {min(ratios):.3f}-{max(ratios):.3f} |")


if __name__ == "__main__":
    main()
