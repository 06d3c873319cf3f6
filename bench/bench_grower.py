"""Growing one tree: a single boosting iteration of treeforge's Booster beside each peer's, on binned data.

treeforge ``_core.Booster.update()``, LightGBM ``Booster.update()`` and XGBoost
``Booster.update()`` each compute gradients, grow one tree of the config and update the
margins. scikit-learn's private ``TreeGrower.grow()`` grows one tree on fixed gradients (taken at
random margins, so hessians are not constant), without the gradient and margin steps. Data
binning and booster construction are not timed. Iterations interleaved across libraries,
median per tree over ``--updates`` iterations after one warm-up.

    python bench/bench_grower.py                       # binary, leafwise and depthwise, 1 and 2 threads
    python bench/bench_grower.py --rows-scale 0.05 --updates 5 --no-write
"""

import numpy as np

import common


def treeforge_update(task, params, X, y, n_threads, prepared):
    from treeforge import _core

    mapper, binned = prepared
    booster = _core.Booster(common.core_gbdt_config(task, params, n_threads, 0), mapper, binned,
                            y.astype(np.float64))
    return lambda: {"t": common.timed(booster.update)}


def lightgbm_update(task, params, X, y, n_threads, dataset):
    import lightgbm

    booster = lightgbm.Booster(dict(common.lightgbm_params(params, n_threads, 0), objective="binary"), dataset)
    return lambda: {"t": common.timed(booster.update)}


def xgboost_update(task, params, X, y, n_threads, dmatrix):
    import xgboost

    native = common.xgboost_params(params, n_threads, 0)
    native.update(nthread=native.pop("n_jobs"), seed=native.pop("random_state"), objective="binary:logistic")
    booster = xgboost.Booster(native, [dmatrix])
    iteration = iter(range(10 ** 9))
    return lambda: {"t": common.timed(lambda: booster.update(dmatrix, next(iteration)))}


def sklearn_grow(task, params, X, y, n_threads, prepared):
    from sklearn.ensemble._hist_gradient_boosting.grower import TreeGrower

    mapper, codes, has_missing = prepared
    grad, hess = common.logistic_gradients(y)

    def grow():
        grower = TreeGrower(codes, grad, hess, max_leaf_nodes=params["max_leaf_nodes"], max_depth=params["max_depth"],
                            min_samples_leaf=params["min_samples_leaf"], min_hessian_to_split=params["min_child_weight"],
                            n_bins=params["max_bins"] + 1, n_bins_non_missing=mapper.n_bins_non_missing_,
                            has_missing_values=has_missing, l2_regularization=0.0,
                            shrinkage=params["learning_rate"], n_threads=n_threads)
        grower.grow()
    return lambda: {"t": common.timed(grow)}


def prepare(lib, X, y, params):
    """Binned training data in the library's own format (built once, untimed, shared by all cases)."""
    if lib == "treeforge":
        from treeforge import _core

        mapper = _core.BinMapper(params["max_bins"], 200_000, 0).fit(X, 2)
        return mapper, mapper.transform(X, 2)
    if lib == "lightgbm":
        import lightgbm

        return lightgbm.Dataset(X, label=y, params=common.lightgbm_params(params, 2, 0), free_raw_data=False).construct()
    if lib == "xgboost":
        import xgboost

        return xgboost.QuantileDMatrix(X, label=y, max_bin=params["max_bins"], nthread=2)
    from sklearn.ensemble._hist_gradient_boosting.binning import _BinMapper

    mapper = _BinMapper(n_bins=params["max_bins"] + 1, subsample=200_000, random_state=0, n_threads=2).fit(X)
    return mapper, mapper.transform(X), np.isnan(X).any(axis=0).astype(np.uint8)


CASES = {"treeforge": treeforge_update, "sklearn": sklearn_grow, "lightgbm": lightgbm_update,
         "xgboost": xgboost_update}


def main(argv=None):
    parser = common.component_parser(__doc__, repeats=1)  # binary tasks only
    parser.add_argument("--configs", type=common.csv_list, default=list(common.CONFIGS))
    parser.add_argument("--libs", type=common.csv_list, default=list(CASES))
    parser.add_argument("--updates", type=int, default=10, help="timed trees per case and repeat (median)")
    args = parser.parse_args(argv)

    rows = []
    for name in args.tasks:
        task = common.TASKS[name].scaled(args.rows_scale)
        X, y, _, _ = common.load_task(task)
        base = dict(common.COMMON_PARAMS, **common.CONFIGS[args.configs[0]])
        prepared = {lib: prepare(lib, X, y, base) for lib in args.libs}
        for config in args.configs:
            params = dict(common.COMMON_PARAMS, **common.CONFIGS[config])
            for threads in args.threads:
                cases = {lib: CASES[lib](task, params, X, y, threads, prepared[lib]) for lib in args.libs}
                medians = common.interleaved_medians(cases, args.updates * args.repeats)
                ref = medians.get("treeforge", {}).get("t")
                for lib in args.libs:
                    t = medians[lib]["t"]
                    rows.append([f"{name} ({task.n_train:,} × {task.n_features})", config, threads, lib,
                                 f"{t * 1e3:,.1f}", "—" if lib == "treeforge" else common.ratio(ref, t)])
                common.log(f"{name} {config} threads={threads}: "
                           + ", ".join(f"{lib} {medians[lib]['t'] * 1e3:.1f} ms" for lib in args.libs))
    table = common.markdown_table(["data", "config", "threads", "library", "ms per tree", "treeforge/peer"], rows)
    notes = [f"median over {args.updates * args.repeats} trees after one warm-up, libraries interleaved tree by tree",
             "treeforge, LightGBM, XGBoost: one Booster.update() (gradients, tree, margins); "
             "scikit-learn: TreeGrower.grow() on fixed gradients (tree only)"]
    common.finish_section(args, "grower", "grower: one boosting iteration (one tree)", args.libs, table, notes)


if __name__ == "__main__":
    main()
