"""Custom losses: the cost per iteration of ``loss=callable`` against the same built-in loss.

A custom loss costs, per iteration, a copy of the training margins out of the core, the user's
NumPy gradients, their checks (shape, finiteness, hessians >= 0) and their copy back in. This fits
the same model both ways (squared error on regression data; binary log loss from raw scores of 0 on
classification data, so that both start alike) and reports the median fit time over ``--repeats``
runs (built-in and custom alternating) and the difference per iteration.

    python bench/bench_custom_loss.py
    python bench/bench_custom_loss.py --rows 20000 --iterations 20 --repeats 3
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np
from sklearn.datasets import make_classification, make_regression

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from treeforge import HistGradientBoostingClassifier, HistGradientBoostingRegressor  # noqa: E402


def squared_error(y, raw, sample_weight):
    return raw - y, np.ones_like(raw)


def binary_log_loss(y, raw, sample_weight):
    p = 1.0 / (1.0 + np.exp(-raw))
    return p - y, np.maximum(p * (1.0 - p), 1e-16)


def cases(n_rows):
    """name -> (estimator class, X, y, custom loss, fit keywords)."""
    X, y = make_regression(n_samples=n_rows, n_features=20, noise=10.0, random_state=0)
    Xc, yc = make_classification(n_samples=n_rows, n_features=20, random_state=0)
    return {
        "squared_error": (HistGradientBoostingRegressor, X, y, squared_error, {}),
        "binary_log_loss": (HistGradientBoostingClassifier, Xc, yc, binary_log_loss, {"init_score": np.zeros(n_rows)}),
    }


def fit_seconds(Estimator, X, y, loss, keywords, iterations, n_threads):
    params = dict(max_iter=iterations, early_stopping=False, random_state=0, n_jobs=n_threads)
    if loss is not None:
        params["loss"] = loss
    tic = time.perf_counter()
    Estimator(**params).fit(X, y, **keywords)
    return time.perf_counter() - tic


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    print(f"{args.rows} rows, {args.iterations} iterations, {args.threads} threads, medians of {args.repeats}")
    print(f"{'case':<18}{'built-in s':>12}{'custom s':>12}{'ms/iteration more':>20}{'ratio':>8}")
    for name, (Estimator, X, y, loss, keywords) in cases(args.rows).items():
        built_in, custom = [], []
        for _ in range(args.repeats):
            built_in.append(fit_seconds(Estimator, X, y, None, keywords, args.iterations, args.threads))
            custom.append(fit_seconds(Estimator, X, y, loss, keywords, args.iterations, args.threads))
        b, c = statistics.median(built_in), statistics.median(custom)
        print(f"{name:<18}{b:>12.3f}{c:>12.3f}{1000 * (c - b) / args.iterations:>20.2f}{c / b:>8.2f}")


if __name__ == "__main__":
    main()
