"""Categorical features: treeforge's native set splits beside LightGBM, XGBoost and scikit-learn native, and ordinal codes.

Three regression tasks, 5-fold cross-validation (the same folds for every library), the same
boosting parameters everywhere (200 rounds, 31 leaves, learning rate 0.1, 20 rows per leaf,
255 bins, 2 threads, no early stopping):

- diamonds: ggplot2's 53,940 diamonds (``bench/data/``), price from carat, cut, color, clarity
  and the dimensions; three categorical columns of 5 to 8 levels;
- txhousing: ggplot2's monthly sales of 46 Texas cities, the median price from the city, the
  date, sales, listings and inventory; one categorical column of 46 levels;
- generated: 10 categorical columns of 5 to 1,000 levels (long-tailed level frequencies) and
  4 numeric ones, a target of per-level effects, an interaction of two categorical columns and
  numeric terms modulated by a category.

Every library gets the categorical columns as a pandas ``category`` dtype and handles them
natively; "treeforge ordinal" gets the categories' codes as numbers instead. Fit time is the
median over folds (libraries in rotated order within each fold); the score is the mean RMSE
over folds with its standard deviation across folds (the fold noise).

    python bench/bench_categorical.py
    python bench/bench_categorical.py --tasks diamonds --rows-scale 0.2 --no-write
"""

import argparse
import gzip
import os
import statistics
import time

import numpy as np
import pandas as pd

import common

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
LIBS = ["treeforge", "treeforge ordinal", "lightgbm", "xgboost", "sklearn"]
PARAMS = dict(rounds=200, leaves=31, learning_rate=0.1, min_leaf=20, max_bins=255, n_threads=2)


def diamonds():
    with gzip.open(os.path.join(DATA_DIR, "diamonds.csv.gz")) as f:
        frame = pd.read_csv(f)
    for column in ("cut", "color", "clarity"):
        frame[column] = frame[column].astype("category")
    return frame.drop(columns="price"), frame["price"].to_numpy(np.float64)


def txhousing():
    with gzip.open(os.path.join(DATA_DIR, "txhousing.csv.gz")) as f:
        frame = pd.read_csv(f)
    frame = frame[frame["median"].notna()].reset_index(drop=True)
    frame["city"] = frame["city"].astype("category")
    X = frame[["city", "year", "month", "sales", "listings", "inventory"]]
    return X, frame["median"].to_numpy(np.float64)


def generated(n_rows=200_000, seed=0):
    """10 categorical columns of 5..1,000 levels with Zipf-like frequencies, 4 numeric ones."""
    rng = np.random.default_rng(seed)
    levels = [5, 8, 12, 20, 40, 80, 150, 300, 600, 1000]
    columns, y = {}, np.zeros(n_rows)
    codes = []
    for j, k in enumerate(levels):
        p = 1.0 / np.arange(1, k + 1) ** 1.1
        code = rng.choice(k, size=n_rows, p=p / p.sum())
        codes.append(code)
        y += rng.normal(scale=1.0, size=k)[code]  # a per-level effect, unordered
        columns[f"c{j}"] = pd.Categorical.from_codes(code, [f"L{i}" for i in range(k)])
    numeric = rng.normal(size=(n_rows, 4))
    y += rng.normal(size=(levels[0], levels[3]))[codes[0], codes[3]]  # an interaction of two categories
    y += np.sin(2 * numeric[:, 0]) * rng.normal(size=levels[2])[codes[2]] + numeric[:, 1] ** 2 / 2
    y += 0.5 * numeric[:, 2] * (codes[1] % 2)
    for j in range(4):
        columns[f"x{j}"] = numeric[:, j]
    return pd.DataFrame(columns), y + rng.normal(scale=0.5, size=n_rows)


TASKS = {"diamonds": diamonds, "txhousing": txhousing, "generated": generated}


def make_estimator(lib, p):
    if lib.startswith("treeforge"):
        import treeforge
        return treeforge.HistGradientBoostingRegressor(
            max_iter=p["rounds"], max_leaf_nodes=p["leaves"], learning_rate=p["learning_rate"],
            min_samples_leaf=p["min_leaf"], max_bins=p["max_bins"], early_stopping=False,
            categorical_features="from_dtype" if lib == "treeforge" else None)
    if lib == "lightgbm":
        import lightgbm
        return lightgbm.LGBMRegressor(n_estimators=p["rounds"], num_leaves=p["leaves"], learning_rate=p["learning_rate"],
                                      min_child_samples=p["min_leaf"], max_bin=p["max_bins"], n_jobs=p["n_threads"],
                                      verbose=-1)
    if lib == "xgboost":
        import xgboost
        return xgboost.XGBRegressor(n_estimators=p["rounds"], max_leaves=p["leaves"], max_depth=0,
                                    grow_policy="lossguide", learning_rate=p["learning_rate"], max_bin=p["max_bins"],
                                    tree_method="hist", enable_categorical=True, n_jobs=p["n_threads"])
    from sklearn.ensemble import HistGradientBoostingRegressor
    return HistGradientBoostingRegressor(max_iter=p["rounds"], max_leaf_nodes=p["leaves"],
                                         learning_rate=p["learning_rate"], min_samples_leaf=p["min_leaf"],
                                         max_bins=p["max_bins"], early_stopping=False,
                                         categorical_features="from_dtype")


def as_input(lib, X):
    """The frame as a library takes it: categories as codes (NaN for missing) for ordinal runs."""
    if lib != "treeforge ordinal":
        return X
    return X.apply(lambda c: c.cat.codes.where(c.cat.codes >= 0).astype(np.float64) if c.dtype == "category" else c)


def fit_fold(lib, X, y, train, test, p):
    """(fit seconds, test RMSE), or None when the library refuses the data (reason printed)."""
    estimator = make_estimator(lib, p)
    X_in = as_input(lib, X)
    tic = time.perf_counter()
    try:
        estimator.fit(X_in.iloc[train], y[train])
    except ValueError as exc:
        common.log(f"{lib}: {exc}")
        return None
    seconds = time.perf_counter() - tic
    error = estimator.predict(X_in.iloc[test]) - y[test]
    return seconds, float(np.sqrt(np.mean(error ** 2)))


def run_task(name, args):
    X, y = TASKS[name]()
    n = max(1000, round(len(y) * args.rows_scale))
    X, y = X.iloc[:n].reset_index(drop=True), y[:n]
    folds = np.array_split(np.random.default_rng(0).permutation(n), args.folds)
    results = {lib: [] for lib in args.libs}
    for k, test in enumerate(folds):
        train = np.concatenate([f for j, f in enumerate(folds) if j != k])
        for lib in args.libs[k % len(args.libs):] + args.libs[:k % len(args.libs)]:
            results[lib].append(fit_fold(lib, X, y, train, test, PARAMS | {"rounds": args.rounds}))
            common.log(f"{name} fold {k + 1} {lib}: {results[lib][-1]}")
    return X, results


def task_table(name, X, results):
    n_categorical = sum(X[c].dtype == "category" for c in X.columns)
    levels = [len(X[c].cat.categories) for c in X.columns if X[c].dtype == "category"]
    lgb = [r[0] for r in results.get("lightgbm", []) if r]
    rows = []
    for lib, runs in results.items():
        if not all(runs):
            rows.append([lib, "refused the data", "", "", ""])
            continue
        seconds, rmse = [r[0] for r in runs], [r[1] for r in runs]
        fit = statistics.median(seconds)
        rows.append([lib, f"{np.mean(rmse):,.4g} ± {np.std(rmse, ddof=1):,.2g}", f"{fit:.2f}",
                     common.fmt(fit / statistics.median(lgb)) if lgb else "",
                     f"{sum(r < l for r, l in zip(rmse, [x[1] for x in results['lightgbm']]))}/{len(rmse)}"
                     if lgb and lib != "lightgbm" else ""])
    title = (f"**{name}**: {len(X):,} rows, {X.shape[1]} columns of which {n_categorical} categorical "
             f"({min(levels)}-{max(levels)} levels)\n\n")
    return title + common.markdown_table(
        ["library", "RMSE, mean ± sd over folds", "fit s (median)", "fit / LightGBM", "folds better than LightGBM"],
        rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=common.csv_list, default=list(TASKS))
    parser.add_argument("--libs", type=common.csv_list, default=LIBS)
    parser.add_argument("--folds", type=int, default=5)
    common.add_common_args(parser, repeats=1)
    args = parser.parse_args(argv)
    body = "\n".join(task_table(name, *run_task(name, args)) for name in args.tasks)
    notes = [f"{args.folds}-fold CV; {args.rounds} rounds, 31 leaves, learning rate 0.1, 20 rows per leaf, "
             "255 bins, 2 threads; categorical columns as pandas `category` (native) or their codes (ordinal)"]
    versions = [lib for lib in args.libs if lib != "treeforge ordinal"]  # one package, listed once
    common.finish_section(args, "categorical", "Categorical features: native set splits, 5-fold CV", versions, body,
                          notes)


if __name__ == "__main__":
    main()
