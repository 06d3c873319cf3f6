"""Fit time at every size (issue #27): treeforge beside the peer its users compare it with, on
generated data of 1,000 to 100,000 rows and 20 or 100 features, scikit-learn's default settings.

- rf: RandomForestClassifier / RandomForestRegressor, 100 fully grown trees, scikit-learn's defaults
  (max_features 'sqrt' for classes, all features for regression), beside scikit-learn's;
- gbdt: HistGradientBoostingClassifier, 100 rounds of 31 leaves, no early stopping, beside LightGBM;
- adaboost: AdaBoostClassifier, 50 rounds of stumps, beside scikit-learn's.

Every fit runs in this process, libraries alternating, `--threads` threads each; the table gives the
median fit time over `--repeats`, the ratio, and each model's score on 5,000 held-out rows
(accuracy, or R^2) so that speed is compared at the same accuracy.

    python bench/bench_sizes.py                                  # every part, size and width
    python bench/bench_sizes.py --parts rf --rows 1000 5000 --features 20 --repeats 5
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np
from sklearn.datasets import make_classification, make_regression


def task(kind, n_rows, n_features, seed=0):
    """(X_train, y_train, X_test, y_test), generated deterministically."""
    n = n_rows + 5000
    informative = max(2, n_features // 4)
    if kind == "regression":
        X, y = make_regression(n, n_features, n_informative=informative, noise=10.0, random_state=seed)
    else:
        X, y = make_classification(n, n_features, n_informative=informative, n_redundant=informative // 2,
                                   random_state=seed)
    return X[:n_rows], y[:n_rows], X[n_rows:], y[n_rows:]


def models(part, kind, threads):
    """{library: estimator factory} of one part."""
    import treeforge

    if part == "rf":
        import sklearn.ensemble as sk

        name = "RandomForestRegressor" if kind == "regression" else "RandomForestClassifier"
        return {"treeforge": lambda: getattr(treeforge, name)(n_estimators=100, n_jobs=threads, random_state=0),
                "sklearn": lambda: getattr(sk, name)(n_estimators=100, n_jobs=threads, random_state=0)}
    if part == "adaboost":
        from sklearn.ensemble import AdaBoostClassifier

        return {"treeforge": lambda: treeforge.AdaBoostClassifier(n_estimators=50, random_state=0),
                "sklearn": lambda: AdaBoostClassifier(n_estimators=50, random_state=0)}
    import lightgbm

    return {"treeforge": lambda: treeforge.HistGradientBoostingClassifier(max_iter=100, early_stopping=False,
                                                                          n_jobs=threads, random_state=0),
            "lightgbm": lambda: lightgbm.LGBMClassifier(n_estimators=100, num_leaves=31, n_jobs=threads,
                                                        verbose=-1, random_state=0)}


def measure(factories, data, repeats):
    """{library: (median fit seconds, held-out score)}."""
    X, y, X_test, y_test = data
    times = {lib: [] for lib in factories}
    scores = {}
    for _ in range(repeats):
        for lib, make in factories.items():
            model = make()
            started = time.perf_counter()
            model.fit(X, y)
            times[lib].append(time.perf_counter() - started)
            scores[lib] = model.score(X_test, y_test)
    return {lib: (statistics.median(times[lib]), scores[lib]) for lib in factories}


PARTS = {"rf": ("classification", "regression"), "gbdt": ("classification",), "adaboost": ("classification",)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", nargs="+", choices=list(PARTS), default=list(PARTS))
    parser.add_argument("--rows", type=int, nargs="+", default=[1000, 5000, 20000, 100000])
    parser.add_argument("--features", type=int, nargs="+", default=[20, 100])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    shown_args = " ".join(sys.argv[1:] if argv is None else argv)
    print(f"- command: `python bench/bench_sizes.py{' ' + shown_args if shown_args else ''}`")
    print(f"- machine: nproc {os.cpu_count()}, load average at start "
          f"{' / '.join(f'{v:.1f}' for v in os.getloadavg())}; {args.threads} threads, median of {args.repeats}\n")
    print("| part | task | rows | features | treeforge s | peer | peer s | treeforge / peer | treeforge score | "
          "peer score |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for part in args.parts:
        for kind in PARTS[part]:
            for n_features in args.features:
                for n_rows in args.rows:
                    factories = models(part, kind, args.threads)
                    result = measure(factories, task(kind, n_rows, n_features), args.repeats)
                    peer = next(lib for lib in factories if lib != "treeforge")
                    (tf_s, tf_score), (peer_s, peer_score) = result["treeforge"], result[peer]
                    print(f"| {part} | {kind} | {n_rows:,} | {n_features} | {tf_s:.3f} | {peer} | {peer_s:.3f} | "
                          f"{tf_s / peer_s:.3f} | {tf_score:.4f} | {peer_score:.4f} |", flush=True)


if __name__ == "__main__":
    main()
