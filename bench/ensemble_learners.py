"""Random forest and AdaBoost learners of the benchmark registry (used by bench/bench_forest.py through common.py).

Each factory takes ``(task, params, n_threads, seed)`` and returns ``(unfitted estimator, runner label)``
like the gradient boosting ones in ``common.py``.
"""

import numpy as np

# family -> neutral parameters, configs and the libraries run by default.
FAMILIES = {
    # Random forests: "rounds" is the number of trees; max_features "sqrt" is int(sqrt(n_features))
    # candidates per node, that fraction of the features for LightGBM and XGBoost.
    "rf": {"params": {"rounds": 100, "learning_rate": 1.0, "max_bins": 255, "max_features": "sqrt",
                      "min_samples_leaf": 1, "bagging_fraction": 0.632},
           "configs": {"leaves255": {"max_leaf_nodes": 255, "max_depth": None}},
           "libs": ["treeforge", "sklearn", "lightgbm", "xgboost"]},
    # AdaBoost: scikit-learn's default base learners (stumps for classes, depth-3 trees for
    # regression); LightGBM and XGBoost have no counterpart.
    "adaboost": {"params": {"rounds": 100, "learning_rate": 1.0, "max_bins": 255},
                 "configs": {"default": {}}, "libs": ["treeforge", "sklearn"]},
}


def rf_feature_count(task, p):
    """Candidate features per node of the neutral ``max_features`` ("sqrt" or a fraction)."""
    if p["max_features"] == "sqrt":
        return max(1, int(np.sqrt(task.n_features)))
    return max(1, int(p["max_features"] * task.n_features))


def _make_treeforge_rf(task, p, n_threads, seed):
    from treeforge import RandomForestClassifier, RandomForestRegressor

    cls = RandomForestRegressor if task.kind == "regression" else RandomForestClassifier
    return cls(n_estimators=p["rounds"], max_leaf_nodes=p["max_leaf_nodes"], max_depth=p["max_depth"],
               max_features=rf_feature_count(task, p), min_samples_leaf=p["min_samples_leaf"], max_bins=p["max_bins"],
               n_jobs=n_threads, random_state=seed), "estimator"


def _make_sklearn_rf(task, p, n_threads, seed):
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    cls = RandomForestRegressor if task.kind == "regression" else RandomForestClassifier
    return cls(n_estimators=p["rounds"], max_leaf_nodes=p["max_leaf_nodes"], max_depth=p["max_depth"],
               max_features=rf_feature_count(task, p), min_samples_leaf=p["min_samples_leaf"], n_jobs=n_threads,
               random_state=seed), "estimator"


def _make_lightgbm_rf(task, p, n_threads, seed):
    # LightGBM bags without replacement: bagging_fraction 0.632 keeps as many distinct rows as a bootstrap.
    import lightgbm

    cls = lightgbm.LGBMRegressor if task.kind == "regression" else lightgbm.LGBMClassifier
    return cls(boosting_type="rf", n_estimators=p["rounds"], num_leaves=p["max_leaf_nodes"] or 2 ** p["max_depth"],
               max_depth=p["max_depth"] or -1, subsample=p["bagging_fraction"], subsample_freq=1,
               feature_fraction_bynode=rf_feature_count(task, p) / task.n_features, colsample_bytree=1.0,
               min_child_samples=p["min_samples_leaf"], min_child_weight=1e-3, reg_lambda=0.0, max_bin=p["max_bins"],
               n_jobs=n_threads, random_state=seed, verbose=-1), "sklearn API"


def _make_xgboost_rf(task, p, n_threads, seed):
    import xgboost

    cls = xgboost.XGBRFRegressor if task.kind == "regression" else xgboost.XGBRFClassifier
    return cls(n_estimators=p["rounds"], tree_method="hist", grow_policy="lossguide",
               max_leaves=p["max_leaf_nodes"] or 0, max_depth=p["max_depth"] or 0, subsample=p["bagging_fraction"],
               colsample_bynode=rf_feature_count(task, p) / task.n_features, min_child_weight=1e-3,
               max_bin=p["max_bins"], n_jobs=n_threads, random_state=seed), "sklearn API"


def _make_treeforge_adaboost(task, p, n_threads, seed):
    from treeforge import AdaBoostClassifier, AdaBoostRegressor

    cls = AdaBoostRegressor if task.kind == "regression" else AdaBoostClassifier
    return cls(n_estimators=p["rounds"], learning_rate=p["learning_rate"], max_bins=p["max_bins"], n_jobs=n_threads,
               random_state=seed), "estimator"


def _make_sklearn_adaboost(task, p, n_threads, seed):
    from sklearn.ensemble import AdaBoostClassifier, AdaBoostRegressor

    cls = AdaBoostRegressor if task.kind == "regression" else AdaBoostClassifier
    return cls(n_estimators=p["rounds"], learning_rate=p["learning_rate"], random_state=seed), "estimator"


# (family, lib) -> (module imported before the baseline RSS, factory[, distribution name for the version]).
LEARNERS = {
    ("rf", "treeforge"): ("treeforge", _make_treeforge_rf),
    ("rf", "sklearn"): ("sklearn", _make_sklearn_rf, "scikit-learn"),
    ("rf", "lightgbm"): ("lightgbm", _make_lightgbm_rf),
    ("rf", "xgboost"): ("xgboost", _make_xgboost_rf),
    ("adaboost", "treeforge"): ("treeforge", _make_treeforge_adaboost),
    ("adaboost", "sklearn"): ("sklearn", _make_sklearn_adaboost, "scikit-learn"),
}
