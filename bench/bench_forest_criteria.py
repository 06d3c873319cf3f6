"""Random-forest regression criteria side by side: treeforge and scikit-learn, squared_error and
absolute_error (issue #21), on a generated task with heavy-tailed noise, where the median is the
better fit. Fit seconds are medians over repeats, in one process, libraries alternating; the error
is the mean absolute error against the noise-free signal on 5,000 fresh rows.

    python bench/bench_forest_criteria.py                      # 2,000 and 20,000 rows, 100 trees
    python bench/bench_forest_criteria.py --rows 2000 --trees 20 --repeats 1
"""

import argparse
import sys
import os
import platform
import statistics
import time

import numpy as np


def task(n_rows, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, 10))
    signal = X[:, 0] + np.sin(3 * X[:, 1]) + 0.5 * X[:, 2] * X[:, 3]
    return X, signal + rng.standard_t(1.5, size=n_rows), signal


def forest(lib, criterion, trees, threads):
    if lib == "treeforge":
        from treeforge import RandomForestRegressor
    else:
        from sklearn.ensemble import RandomForestRegressor
    return RandomForestRegressor(n_estimators=trees, criterion=criterion, min_samples_leaf=5, max_features=0.5,
                                 n_jobs=threads, random_state=0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    print(f"- command: `python bench/bench_forest_criteria.py {' '.join(sys.argv[1:] if argv is None else argv)}`".rstrip())
    print(f"- machine: nproc {os.cpu_count()}, {platform.processor() or platform.machine()}, "
          f"load average at start {' / '.join(f'{v:.1f}' for v in os.getloadavg())}")
    print(f"- {args.trees} trees, min_samples_leaf=5, max_features=0.5, {args.threads} threads, "
          f"median of {args.repeats} fits\n")
    print("| rows | criterion | treeforge fit s | scikit-learn fit s | ratio | treeforge MAE | scikit-learn MAE |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    X_test, _, signal_test = task(5000, 1)
    for n_rows in args.rows:
        X, y, _ = task(n_rows, 0)
        for criterion in ("squared_error", "absolute_error"):
            times, errors = {"treeforge": [], "sklearn": []}, {}
            for _ in range(args.repeats):
                for lib in times:
                    model = forest(lib, criterion, args.trees, args.threads)
                    started = time.perf_counter()
                    model.fit(X, y)
                    times[lib].append(time.perf_counter() - started)
                    errors[lib] = float(np.mean(np.abs(model.predict(X_test) - signal_test)))
            tf, sk = (statistics.median(times[lib]) for lib in ("treeforge", "sklearn"))
            print(f"| {n_rows:,} | {criterion} | {tf:.3f} | {sk:.3f} | {tf / sk:.3f} | {errors['treeforge']:.4f} | "
                  f"{errors['sklearn']:.4f} |", flush=True)


if __name__ == "__main__":
    main()
