"""SHAP values: treeforge's TreeSHAP beside XGBoost's ``pred_contribs`` / ``pred_interactions`` and
LightGBM's ``pred_contrib`` on models of the same size.

Each library fits the leaf-wise config (200 rounds, 255 leaves) on the binary task's training rows
(2 threads, untimed), then explains the first ``--explain-rows`` test rows with 2 threads:
contributions (treeforge ``Model.shap_contributions``, XGBoost ``Booster.predict(DMatrix,
pred_contribs=True)``, LightGBM ``Booster.predict(pred_contrib=True)``) and interaction values on
the first ``--interaction-rows`` (treeforge ``Model.shap_interactions``, XGBoost
``pred_interactions=True``; LightGBM has none). All three compute exact path-dependent TreeSHAP
(XGBoost 3.2's CPU predictor runs Lundberg's algorithm); each library's values are checked to add
up to its own raw margin. Medians of ``--repeats``, libraries round-robin, in one process.

    python bench/bench_shap.py
    python bench/bench_shap.py --train-rows 20000 --explain-rows 1000 --interaction-rows 100 --repeats 1 --no-write
"""

import argparse

import numpy as np

import common

N_THREADS = 2


def fit_models(task, params, X_train, y_train):
    models = {}
    for lib in ("treeforge", "xgboost", "lightgbm"):
        estimator, _ = common.LEARNERS[("gbdt", lib)].make(task, params, N_THREADS, 0)
        fit_s = common.timed(lambda: estimator.fit(X_train, y_train))
        common.log(f"fitted {lib} in {fit_s:.1f} s")
        models[lib] = estimator
    return models


def explainers(models):
    """{(lib, kind): X -> values} for kind 'contributions' and 'interactions'."""
    import xgboost

    core = models["treeforge"]._model
    booster = models["xgboost"].get_booster()
    booster.set_param({"nthread": N_THREADS})
    lgbm = models["lightgbm"].booster_
    return {
        ("treeforge", "contributions"): lambda X: core.shap_contributions(X, N_THREADS),
        ("xgboost", "contributions"): lambda X: booster.predict(xgboost.DMatrix(X, nthread=N_THREADS),
                                                                pred_contribs=True),
        ("lightgbm", "contributions"): lambda X: lgbm.predict(X, pred_contrib=True, num_threads=N_THREADS),
        ("treeforge", "interactions"): lambda X: core.shap_interactions(X, N_THREADS),
        ("xgboost", "interactions"): lambda X: booster.predict(xgboost.DMatrix(X, nthread=N_THREADS),
                                                               pred_interactions=True),
    }


def model_leaves(models):
    """{lib: (leaves over all trees, depth of the deepest leaf)}: TreeSHAP's cost grows with both."""
    table = models["treeforge"].trees_to_dataframe()
    xgb = models["xgboost"].get_booster().trees_to_dataframe()
    lgbm = models["lightgbm"].booster_.trees_to_dataframe()
    xgb_depth = xgb.groupby("Tree").apply(_xgboost_depth, include_groups=False).max()
    return {"treeforge": (int(table["is_leaf"].sum()), int(table["depth"].max())),
            "xgboost": (int((xgb["Feature"] == "Leaf").sum()), int(xgb_depth)),
            "lightgbm": (int(lgbm["split_gain"].isna().sum()), int(lgbm["node_depth"].max() - 1))}


def _xgboost_depth(tree):
    """Depth of the deepest leaf of one tree of XGBoost's table (children named by ID)."""
    depth, deepest = {tree["ID"].iloc[0]: 0}, 0
    for _, node in tree.iterrows():
        d = depth[node["ID"]]
        deepest = max(deepest, d)
        for child in (node["Yes"], node["No"]):
            if isinstance(child, str):
                depth[child] = d + 1
    return deepest


def raw_margin(lib, estimator, X):
    if lib == "treeforge":
        return estimator._model.predict_margin(X, N_THREADS)[:, 0]
    if lib == "xgboost":
        return estimator.predict(X, output_margin=True)
    return estimator.predict(X, raw_score=True)


def check_additivity(models, explain, X_contrib, X_inter):
    """Each library's values add up to its own margin (a benchmark of wrong answers is worthless)."""
    for (lib, kind), fn in explain.items():
        X = X_contrib if kind == "contributions" else X_inter
        values = np.asarray(fn(X)).reshape(len(X), -1)
        total = values.sum(axis=1)
        error = float(np.max(np.abs(total - raw_margin(lib, models[lib], X))))
        common.log(f"{lib} {kind}: max |sum - margin| = {error:.2e}")
        if error > 1e-3:  # float32 libraries round; a wrong algorithm misses by far more
            raise RuntimeError(f"{lib} {kind} do not add up to the margin ({error:.2e})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-rows", type=int, default=200_000, help="training rows of the binary task")
    parser.add_argument("--explain-rows", type=int, default=10_000)
    parser.add_argument("--interaction-rows", type=int, default=1_000)
    common.add_common_args(parser, repeats=3)
    args = parser.parse_args(argv)

    task = common.TASKS["binary"].scaled(n_train=args.train_rows, n_test=max(args.explain_rows, args.interaction_rows))
    X_train, y_train, X_test, _ = common.load_task(task)
    params = dict(common.COMMON_PARAMS, **common.CONFIGS["leafwise"], rounds=args.rounds)
    models = fit_models(task, params, X_train, y_train)
    X_contrib = np.ascontiguousarray(X_test[:args.explain_rows])
    X_inter = np.ascontiguousarray(X_test[:args.interaction_rows])
    explain = explainers(models)
    check_additivity(models, explain, X_contrib[:200], X_inter[:20])
    cases = {key: (lambda fn=fn, X=(X_contrib if key[1] == "contributions" else X_inter):
                   {"t": common.timed(lambda: fn(X))}) for key, fn in explain.items()}
    # No warm-up round: a call is seconds of arithmetic on a model already in memory.
    medians = {key: m["t"] for key, m in common.interleaved_medians(cases, args.repeats, warmup=0).items()}
    rows = []
    for (lib, kind), seconds in medians.items():
        n = len(X_contrib) if kind == "contributions" else len(X_inter)
        reference = medians[("treeforge", kind)]
        rows.append([kind, lib, f"{n:,}", common.fmt(seconds), f"{n / seconds:,.0f}",
                     "—" if lib == "treeforge" else common.ratio(reference, seconds)])
    leaves = model_leaves(models)
    body = common.markdown_table(["values", "library", "rows", f"{N_THREADS} threads s", "rows/s",
                                  "treeforge/peer"], rows)
    notes = [f"model: leafwise {params}, fitted on {task.n_train:,} rows x {task.n_features} of the binary task "
             f"with {N_THREADS} threads; leaves in all (deepest leaf): "
             + ", ".join(f"{lib} {n:,} ({depth})" for lib, (n, depth) in leaves.items()),
             f"medians of {args.repeats} repeats, libraries round-robin, in one process",
             "every library's values checked to add up to its own raw margin first"]
    common.finish_section(args, "shap-binary-leafwise", "SHAP values: binary, leafwise",
                          ["treeforge", "xgboost", "lightgbm"], body, notes)


if __name__ == "__main__":
    main()
