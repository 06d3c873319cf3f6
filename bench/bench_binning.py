"""Binning: treeforge's BinMapper fit (quantile edges) and transform (codes) beside each peer's equivalent.

Peers: scikit-learn's private ``_BinMapper`` (the same two steps), LightGBM ``Dataset.construct()``
and XGBoost ``QuantileDMatrix`` (edges and codes in one call, reported as transform only, fit
empty). All sample 200,000 rows for the edges except XGBoost, which sketches every row.
In-process, cases round-robin, medians of ``--repeats``.

    python bench/bench_binning.py                      # binary and binary_missing, 1 and 2 threads
    python bench/bench_binning.py --rows-scale 0.05 --repeats 2 --no-write
"""

import common

MAX_BINS = 255
SUBSAMPLE = 200_000


def treeforge_case(X, y, n_threads):
    from treeforge import _core

    def run():
        mapper = _core.BinMapper(MAX_BINS, SUBSAMPLE, 0)
        fit_s = common.timed(lambda: mapper.fit(X, n_threads))
        return {"fit": fit_s, "transform": common.timed(lambda: mapper.transform(X, n_threads))}
    return run


def sklearn_case(X, y, n_threads):
    from sklearn.ensemble._hist_gradient_boosting.binning import _BinMapper

    def run():
        # n_bins counts the missing-value bin: 255 value bins + 1, as HistGradientBoosting does.
        mapper = _BinMapper(n_bins=MAX_BINS + 1, subsample=SUBSAMPLE, random_state=0, n_threads=n_threads)
        fit_s = common.timed(lambda: mapper.fit(X))
        return {"fit": fit_s, "transform": common.timed(lambda: mapper.transform(X))}
    return run


def lightgbm_case(X, y, n_threads):
    import lightgbm

    params = {"max_bin": MAX_BINS, "num_threads": n_threads, "verbose": -1, "bin_construct_sample_cnt": SUBSAMPLE}

    def run():
        return {"fit": 0.0, "transform": common.timed(
            lambda: lightgbm.Dataset(X, label=y, params=params, free_raw_data=False).construct())}
    return run


def xgboost_case(X, y, n_threads):
    import xgboost

    def run():
        return {"fit": 0.0, "transform": common.timed(
            lambda: xgboost.QuantileDMatrix(X, label=y, max_bin=MAX_BINS, nthread=n_threads))}
    return run


CASES = {"treeforge": treeforge_case, "sklearn": sklearn_case, "lightgbm": lightgbm_case, "xgboost": xgboost_case}


def main(argv=None):
    parser = common.component_parser(__doc__, tasks=("binary", "binary_missing"))
    parser.add_argument("--libs", type=common.csv_list, default=list(CASES))
    args = parser.parse_args(argv)

    rows, ref = [], "treeforge"
    for name in args.tasks:
        task = common.TASKS[name].scaled(args.rows_scale)
        X, y, _, _ = common.load_task(task)
        for threads in args.threads:
            cases = {lib: CASES[lib](X, y, threads) for lib in args.libs}
            medians = common.interleaved_medians(cases, args.repeats)
            for lib in args.libs:
                m = medians[lib]
                total = m["fit"] + m["transform"]
                ref_total = sum(medians[ref].values()) if ref in medians else None
                rows.append([f"{name} ({task.n_train:,} × {task.n_features})", threads, lib,
                             common.fmt(m["fit"]) if m["fit"] else "—", common.fmt(m["transform"]),
                             common.fmt(total), "—" if lib == ref else common.ratio(ref_total, total)])
            common.log(f"{name} threads={threads}: " + ", ".join(f"{lib} {sum(medians[lib].values()):.3f}s"
                                                                  for lib in args.libs))
    table = common.markdown_table(["data", "threads", "library", "fit s", "transform s", "total s",
                                   "treeforge/peer total"], rows)
    notes = [f"{MAX_BINS} bins, edges from {SUBSAMPLE:,} sampled rows (XGBoost: all rows, its sketch); "
             "LightGBM and XGBoost build their training matrix in one call, shown as transform",
             f"medians of {args.repeats} repeats after one warm-up, libraries round-robin, one process"]
    common.finish_section(args, "binning", "binning: edges and codes of the training matrix", args.libs,
                          table, notes)


if __name__ == "__main__":
    main()
