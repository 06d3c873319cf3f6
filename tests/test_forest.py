"""Random forests: accuracy against scikit-learn, out-of-bag estimates against a NumPy reference, tree limits, determinism, warm start and model files."""

import pickle
import warnings

import numpy as np
import pytest
from _peer_scores import CLASSIFICATION_DATASETS, REGRESSION_DATASETS, mean_test_scores
from _strategies import assert_invariant_to_column_order, low_cardinality_columns
from sklearn.datasets import make_classification
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.class_weight import compute_sample_weight

import treeforge
from treeforge import RandomForestClassifier, RandomForestRegressor

# Forests of a few trees leave some rows in every bag; the tests that care catch the warning.
pytestmark = pytest.mark.filterwarnings("ignore:Some inputs do not have OOB scores:UserWarning")


def _tree_arrays(model):
    """Per tree, the slices of the model's node arrays."""
    arrays = model._model.to_arrays()
    offsets = arrays["tree_offsets"]
    leaf_dim = arrays["leaf_dim"]
    for lo, hi in zip(offsets[:-1], offsets[1:]):
        yield {key: arrays[key][lo:hi] for key in ("feature", "left", "right", "count", "cover", "gain")} | {
            "value": arrays["value"][lo * leaf_dim:hi * leaf_dim].reshape(hi - lo, leaf_dim)
        }


def _depths(tree):
    depth = np.zeros(tree["feature"].size, dtype=int)
    for node in range(tree["feature"].size):  # children come after their parent
        if tree["left"][node] >= 0:
            depth[tree["left"][node]] = depth[tree["right"][node]] = depth[node] + 1
    return depth


def _per_tree_outputs(model, X):
    """(n_trees, n_samples, n_outputs): each tree's own prediction."""
    return np.stack([model._model.predict_margin(X, 1, t, t + 1) for t in range(model._model.n_trees)])


# ------------------------------------------------------------------------------ accuracy vs scikit-learn

@pytest.mark.parametrize("name", sorted(CLASSIFICATION_DATASETS))
def test_classifier_accuracy_matches_scikit_learn(name):
    """Mean test accuracy over 3 splits within 0.03 of scikit-learn's with the same parameters."""
    from sklearn.ensemble import RandomForestClassifier as Reference

    X, y = CLASSIFICATION_DATASETS[name]()
    ours, theirs = mean_test_scores(RandomForestClassifier, Reference, X, y, accuracy_score, n_estimators=40)
    assert ours >= theirs - 0.03, (ours, theirs)


@pytest.mark.parametrize("name", sorted(REGRESSION_DATASETS))
def test_regressor_r2_matches_scikit_learn(name):
    """Mean test R^2 over 3 splits within 0.04 of scikit-learn's with the same parameters."""
    from sklearn.ensemble import RandomForestRegressor as Reference

    X, y = REGRESSION_DATASETS[name]()
    ours, theirs = mean_test_scores(RandomForestRegressor, Reference, X, y, r2_score, n_estimators=40,
                                max_features=0.5, min_samples_leaf=2)
    assert ours >= theirs - 0.04, (ours, theirs)


# ------------------------------------------------------------------------------ out-of-bag


@pytest.mark.parametrize("weighted", [False, True])
def test_oob_classifier_matches_reference_from_bags(multiclass_data, weighted):
    """OOB = mean, over the trees whose bag misses a row, of their class distributions at the row."""
    X, y = multiclass_data
    sample_weight = np.random.RandomState(0).uniform(0.2, 2.0, size=y.size) if weighted else None
    forest = RandomForestClassifier(n_estimators=25, oob_score=True, random_state=3, max_samples=0.7)
    forest.fit(X, y, sample_weight=sample_weight)
    outputs = _per_tree_outputs(forest, X)
    out_of_bag = np.ones((forest._model.n_trees, y.size), dtype=bool)
    for t, bag in enumerate(forest.estimators_samples_):
        out_of_bag[t, bag] = False
    n_oob = out_of_bag.sum(axis=0)
    assert np.all(n_oob > 0)
    expected = (outputs * out_of_bag[:, :, None]).sum(axis=0) / n_oob[:, None]
    np.testing.assert_allclose(forest.oob_decision_function_, expected, rtol=0, atol=1e-12)
    assert forest.oob_score_ == accuracy_score(y, forest.classes_[np.argmax(expected, axis=1)])
    np.testing.assert_allclose(forest.oob_decision_function_.sum(axis=1), 1.0)


def test_oob_regressor_matches_reference_from_bags(regression_data):
    X, y = regression_data
    forest = RandomForestRegressor(n_estimators=20, oob_score=True, random_state=1).fit(X, y)
    outputs = _per_tree_outputs(forest, X)[:, :, 0]
    out_of_bag = np.ones(outputs.shape, dtype=bool)
    for t, bag in enumerate(forest.estimators_samples_):
        out_of_bag[t, bag] = False
    expected = (outputs * out_of_bag).sum(axis=0) / np.maximum(out_of_bag.sum(axis=0), 1)
    np.testing.assert_allclose(forest.oob_prediction_, expected, rtol=1e-12, atol=1e-9)
    assert forest.oob_score_ == pytest.approx(r2_score(y, expected), abs=1e-12)
    # The OOB score estimates the test score.
    assert 0.5 < forest.oob_score_ < 1.0


def test_oob_score_callable_and_warning(binary_data):
    X, y = binary_data
    forest = RandomForestClassifier(n_estimators=12, oob_score=lambda y_true, y_pred: float(np.mean(y_pred == y_true)),
                                    random_state=0).fit(X, y)
    assert forest.oob_score_ == RandomForestClassifier(n_estimators=12, oob_score=True, random_state=0).fit(X, y).oob_score_
    with pytest.warns(UserWarning, match="do not have OOB scores"):
        RandomForestClassifier(n_estimators=1, oob_score=True, random_state=0).fit(X, y)


def test_bags_hold_max_samples_and_skip_zero_weights(binary_data):
    X, y = binary_data
    weight = np.ones(y.size)
    weight[:50] = 0.0
    for max_samples, expected in [(None, y.size), (100, 100), (0.5, int(0.5 * 250))]:
        forest = RandomForestClassifier(n_estimators=4, max_samples=max_samples, random_state=0)
        bags = forest.fit(X, y, sample_weight=weight).estimators_samples_
        assert all(bag.size == expected and bag.min() >= 50 for bag in bags)
    bags = RandomForestClassifier(n_estimators=3, bootstrap=False, random_state=0).fit(X, y).estimators_samples_
    assert all(np.array_equal(bag, np.arange(y.size)) for bag in bags)


# ------------------------------------------------------------------------------ trees and their limits


def test_leaves_hold_exact_class_proportions_and_means(regression_data, multiclass_data):
    """Without bootstrap or feature draws every leaf is the exact (weighted) mean or class share of its rows."""
    X, y = regression_data
    weight = np.random.RandomState(0).uniform(0.5, 2.0, size=y.size)
    forest = RandomForestRegressor(n_estimators=2, bootstrap=False, max_features=None, max_depth=3,
                                   random_state=0).fit(X, y, sample_weight=weight)
    leaves = forest.apply(X)[:, 0]
    tree = next(_tree_arrays(forest))
    for leaf in np.unique(leaves):
        rows = leaves == leaf
        assert tree["value"][leaf, 0] == pytest.approx(np.average(y[rows], weights=weight[rows]), rel=1e-12)
    X, y = multiclass_data
    forest = RandomForestClassifier(n_estimators=1, bootstrap=False, max_features=None, max_depth=2,
                                    random_state=0).fit(X, y)
    leaves = forest.apply(X)[:, 0]
    tree = next(_tree_arrays(forest))
    for leaf in np.unique(leaves):
        np.testing.assert_allclose(tree["value"][leaf], np.bincount(y[leaves == leaf], minlength=3) / np.sum(leaves == leaf))


def test_without_randomness_all_trees_are_identical(multiclass_data):
    X, y = multiclass_data
    forest = RandomForestClassifier(n_estimators=3, bootstrap=False, max_features=None, random_state=0).fit(X, y)
    first, *others = list(_tree_arrays(forest))
    for other in others:
        for key in first:
            np.testing.assert_array_equal(first[key], other[key])
    # Fully grown without bootstrap: every training sample is classified right (no duplicate rows here).
    assert forest.score(X, y) == 1.0


def test_low_cardinality_features_invariant_to_column_order():
    # Class statistics of features with few bins are summed in bundles chosen in column order:
    # regrouping them by a permutation must leave every tree unchanged.
    rng = np.random.RandomState(4)
    n = 3000
    X = low_cardinality_columns(rng, n)
    y = (X[:, 0] + X[:, 1] + 0.5 * X[:, 2] + X[:, 4] * X[:, 6] + rng.normal(size=n) > 2).astype(int) + (X[:, 1] > 0.8)
    assert_invariant_to_column_order(
        lambda: RandomForestClassifier(n_estimators=5, bootstrap=False, max_features=None, max_depth=6, random_state=0),
        X, y)


def test_depth_first_growth_gives_the_same_tree(multiclass_data):
    """Without a leaf limit the expansion order only renumbers nodes: same leaves, same predictions."""
    from treeforge import _core

    X, y = multiclass_data
    bin_mapper = _core.BinMapper(255, 200_000, 0).fit(X)
    binned = bin_mapper.transform(X)
    models = []
    for policy in ("depthfirst", "lossguide", "depthwise"):
        config = _core.ForestConfig()
        config.criterion, config.n_classes, config.bootstrap, config.grow_policy = "gini", 3, False, policy
        config.max_leaf_nodes, config.min_samples_leaf = 0, 1
        trainer = _core.ForestTrainer(config, bin_mapper, binned, classes=y.astype(np.int32))
        trainer.grow(1)
        models.append(trainer.model())
    arrays = [model.to_arrays() for model in models]
    for other, model in zip(arrays[1:], models[1:]):
        assert np.sum(other["left"] < 0) == np.sum(arrays[0]["left"] < 0)
        np.testing.assert_array_equal(model.predict_margin(X), models[0].predict_margin(X))
        assert not np.array_equal(other["feature"], arrays[0]["feature"])  # nodes in another order


@pytest.mark.parametrize("params", [
    {"max_depth": 3}, {"max_leaf_nodes": 7}, {"min_samples_leaf": 9}, {"min_samples_leaf": 0.05},
    {"min_impurity_decrease": 0.01}, {"min_weight_fraction_leaf": 0.1}, {"min_samples_split": 40},
])
def test_tree_limits_hold(params, multiclass_data):
    X, y = multiclass_data
    forest = RandomForestClassifier(n_estimators=6, random_state=0, **params).fit(X, y)
    n = y.size
    for tree in _tree_arrays(forest):
        is_leaf = tree["feature"] < 0
        total_weight = tree["cover"][0]  # root cover: the tree's total weight (bootstrap draws)
        assert np.all(_depths(tree) <= params.get("max_depth", 10**9))
        assert is_leaf.sum() <= params.get("max_leaf_nodes", 10**9)
        min_leaf = params.get("min_samples_leaf", 1)
        min_leaf = int(np.ceil(min_leaf * n)) if isinstance(min_leaf, float) else min_leaf
        assert np.all(tree["count"][is_leaf] >= min_leaf)
        assert np.all(tree["count"][~is_leaf] >= params.get("min_samples_split", 2))
        assert np.all(tree["gain"][~is_leaf] > params.get("min_impurity_decrease", 0) * total_weight - 1e-9)
        assert np.all(tree["cover"][is_leaf] >= params.get("min_weight_fraction_leaf", 0) * total_weight - 1e-9)
        assert is_leaf.sum() >= 2  # the limits still let the trees split


def test_max_features_validation_and_counts(binary_data):
    X, y = binary_data
    with pytest.raises(ValueError, match="max_features"):
        RandomForestClassifier(n_estimators=2, max_features=7).fit(X, y)
    forest = RandomForestClassifier(n_estimators=2, max_features="log2", random_state=0).fit(X, y)
    assert forest._core_config().max_features == 2
    from treeforge.ensemble._forest_data import max_features_count

    assert max_features_count(RandomForestRegressor().max_features, 6) == 6
    assert max_features_count(0.5, 9) == 4


def test_one_feature_per_node_still_uses_every_feature(multiclass_data):
    """max_features=1: every node splits on its one drawn feature, so many features appear."""
    X, y = multiclass_data
    forest = RandomForestClassifier(n_estimators=10, max_features=1, random_state=0).fit(X, y)
    used = np.unique(np.concatenate([tree["feature"][tree["feature"] >= 0] for tree in _tree_arrays(forest)]))
    np.testing.assert_array_equal(used, np.arange(X.shape[1]))


def test_balanced_subsample_balances_every_bag(multiclass_data):
    X, y = multiclass_data
    y = y.copy()
    y[y == 2] = 0  # unbalanced: two thirds class 0
    forest = RandomForestClassifier(n_estimators=5, class_weight="balanced_subsample", max_depth=2,
                                    random_state=0).fit(X, y)
    for tree in _tree_arrays(forest):
        np.testing.assert_allclose(tree["value"][0], [0.5, 0.5], atol=1e-9)  # root: the weighted bag


def test_class_weight_is_a_sample_weight(binary_data, assert_same_model):
    X, y = binary_data
    no_bootstrap = {"n_estimators": 3, "bootstrap": False, "random_state": 0}
    balanced = RandomForestClassifier(class_weight="balanced", **no_bootstrap).fit(X, y)
    weighted = RandomForestClassifier(**no_bootstrap).fit(X, y, sample_weight=compute_sample_weight("balanced", y))
    assert_same_model(balanced, weighted)
    as_dict = RandomForestClassifier(class_weight={0: 1.0, 1: 3.0}, **no_bootstrap).fit(X, y)
    weighted = RandomForestClassifier(**no_bootstrap).fit(X, y, sample_weight=np.where(y == 1, 3.0, 1.0))
    assert_same_model(as_dict, weighted)


def test_feature_importances(binary_data):
    X, y = make_classification(n_samples=600, n_features=8, n_informative=2, n_redundant=0, shuffle=False,
                               random_state=0)
    forest = RandomForestClassifier(n_estimators=30, random_state=0).fit(X, y)
    importances = forest.feature_importances_
    assert importances.sum() == pytest.approx(1.0)
    assert set(np.argsort(importances)[-2:]) == {0, 1}  # the informative features
    per_tree = forest._model.tree_feature_importances()
    np.testing.assert_allclose(per_tree.sum(axis=1), 1.0)
    stumps = RandomForestClassifier(n_estimators=3, max_depth=1, random_state=0).fit(X[:, :1] * 0, y)
    np.testing.assert_array_equal(stumps.feature_importances_, np.zeros(1))


def test_predictions_are_means_of_trees(multiclass_data, regression_data):
    X, y = multiclass_data
    forest = RandomForestClassifier(n_estimators=7, random_state=0).fit(X, y)
    proba = forest.predict_proba(X)
    np.testing.assert_allclose(proba, _per_tree_outputs(forest, X).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(forest.predict(X), forest.classes_[np.argmax(proba, axis=1)])
    np.testing.assert_allclose(np.exp(forest.predict_log_proba(X)), proba)
    X, y = regression_data
    forest = RandomForestRegressor(n_estimators=7, random_state=0).fit(X, y)
    np.testing.assert_allclose(forest.predict(X), _per_tree_outputs(forest, X).mean(axis=0)[:, 0], rtol=1e-12)


def test_apply_and_decision_path(multiclass_data):
    X, y = multiclass_data
    forest = RandomForestClassifier(n_estimators=4, max_depth=4, random_state=0).fit(X, y)
    leaves = forest.apply(X)
    indicator, ptr = forest.decision_path(X)
    trees = list(_tree_arrays(forest))
    assert leaves.shape == (y.size, 4) and ptr.tolist() == list(np.cumsum([0] + [t["feature"].size for t in trees]))
    assert indicator.shape == (y.size, ptr[-1])
    for t, tree in enumerate(trees):
        assert np.all(tree["feature"][leaves[:, t]] < 0)
        block = indicator[:, ptr[t]:ptr[t + 1]].toarray()
        assert np.all(block[np.arange(y.size), leaves[:, t]] == 1)
        assert np.all(block[:, 0] == 1)  # the root
        np.testing.assert_array_equal(block.sum(axis=1), _depths(tree)[leaves[:, t]] + 1)


def test_missing_values_are_learned(binary_data):
    X, y = binary_data
    X = X.copy()
    X[::3, 0] = np.nan
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    assert np.all(np.isfinite(forest.predict_proba(X))) and forest.score(X, y) > 0.9


# ------------------------------------------------------------------------------ determinism and warm start


@pytest.mark.parametrize("Estimator,data", [(RandomForestClassifier, "multiclass_data"),
                                            (RandomForestRegressor, "regression_data")])
def test_same_forest_for_any_n_jobs(Estimator, data, request, assert_same_model):
    X, y = request.getfixturevalue(data)
    params = {"n_estimators": 9, "max_features": 0.5, "oob_score": True, "random_state": 4}
    one, two = (Estimator(n_jobs=n_jobs, **params).fit(X, y) for n_jobs in (1, 2))
    assert_same_model(one, two)
    assert one.oob_score_ == two.oob_score_
    lone = Estimator(n_jobs=2, n_estimators=1, random_state=4, max_features=0.5).fit(X, y)  # fewer trees than threads
    assert_same_model(lone, Estimator(n_jobs=1, n_estimators=1, random_state=4, max_features=0.5).fit(X, y))
    other = Estimator(n_jobs=1, **dict(params, random_state=5)).fit(X, y)
    assert not np.array_equal(other._model.to_arrays()["feature"], one._model.to_arrays()["feature"])


def test_warm_start_adds_trees(binary_data, assert_same_model):
    X, y = binary_data
    forest = RandomForestClassifier(n_estimators=5, warm_start=True, oob_score=True, random_state=0).fit(X, y)
    forest.set_params(n_estimators=12).fit(X, y)
    assert forest._model.n_trees == 12
    at_once = RandomForestClassifier(n_estimators=12, oob_score=True, random_state=0).fit(X, y)
    assert_same_model(forest, at_once)
    assert forest.oob_score_ == at_once.oob_score_
    with pytest.warns(UserWarning, match="without increasing n_estimators"):
        forest.fit(X, y)
    with pytest.raises(ValueError, match="larger or equal"):
        forest.set_params(n_estimators=3).fit(X, y)
    assert forest._model.n_trees == 12  # a failed fit leaves the forest as it was


# ------------------------------------------------------------------------------ errors, files


@pytest.mark.parametrize("params,match", [
    ({"bootstrap": False, "oob_score": True}, "Out of bag"),
    ({"bootstrap": False, "max_samples": 10}, "max_sample"),
    ({"monotonic_cst": [1, 0]}, "monotonic_cst has shape"),
    ({"class_weight": [{0: 1, 1: 2}]}, "needs y of several outputs"),
])
def test_unsupported_or_invalid_options(params, match, binary_data):
    X, y = binary_data
    with pytest.raises(ValueError, match=match):
        RandomForestClassifier(n_estimators=2, **params).fit(X, y)


def test_entropy_and_friedman_criteria(multiclass_data, regression_data, assert_same_model):
    X, y = multiclass_data
    entropy = RandomForestClassifier(n_estimators=3, criterion="entropy", random_state=0).fit(X, y)
    assert_same_model(entropy, RandomForestClassifier(n_estimators=3, criterion="log_loss", random_state=0).fit(X, y))
    assert entropy.score(X, y) > 0.9
    X, y = regression_data
    friedman = RandomForestRegressor(n_estimators=3, criterion="friedman_mse", random_state=0).fit(X, y)
    assert_same_model(friedman, RandomForestRegressor(n_estimators=3, random_state=0).fit(X, y))


@pytest.mark.parametrize("Estimator,data,method", [
    (RandomForestClassifier, "multiclass_data", "predict_proba"),
    (RandomForestRegressor, "regression_data", "predict"),
])
def test_model_file_and_pickle_round_trips(Estimator, data, method, request, tmp_path, assert_same_model):
    X, y = request.getfixturevalue(data)
    forest = Estimator(n_estimators=6, oob_score=True, random_state=0).fit(X, y)
    forest.save_model(tmp_path / "forest.json")
    for restored in (treeforge.load_model(tmp_path / "forest.json"), pickle.loads(pickle.dumps(forest))):
        assert type(restored) is Estimator and restored.get_params() == forest.get_params()
        assert_same_model(restored, forest)
        np.testing.assert_array_equal(getattr(restored, method)(X), getattr(forest, method)(X))
        assert restored.oob_score_ == forest.oob_score_
        np.testing.assert_array_equal(restored.feature_importances_, forest.feature_importances_)
        for bag, expected in zip(restored.estimators_samples_, forest.estimators_samples_):
            np.testing.assert_array_equal(bag, expected)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plain = Estimator(n_estimators=2, random_state=0).fit(X, y)
        plain.save_model(tmp_path / "plain.json")
        assert not hasattr(treeforge.load_model(tmp_path / "plain.json"), "oob_score_")


@pytest.mark.parametrize("dataset", ["friedman1", "diabetes"])
def test_oob_score_on_small_data_is_scikit_learns(dataset):
    """Out-of-bag R^2 of a 50-tree regressor on a few hundred rows: as good as scikit-learn's
    (mean over seeds; bins cost nothing measurable at this size)."""
    from sklearn.datasets import load_diabetes, make_friedman1
    from sklearn.ensemble import RandomForestRegressor as SklearnForest

    X, y = make_friedman1(300, noise=1.0, random_state=0) if dataset == "friedman1" else load_diabetes(return_X_y=True)
    ours = np.mean([RandomForestRegressor(n_estimators=50, oob_score=True, random_state=s).fit(X, y).oob_score_
                    for s in range(4)])
    theirs = np.mean([SklearnForest(n_estimators=50, oob_score=True, random_state=s).fit(X, y).oob_score_
                      for s in range(4)])
    assert ours >= theirs - 0.01, (ours, theirs)


@pytest.mark.parametrize("Estimator", [RandomForestRegressor, treeforge.AdaBoostRegressor])
def test_extreme_targets_grow_the_trees_of_ordinary_ones(Estimator):
    """Targets times 2**300 (|y| near 1e90, far past a float's range) grow exactly the trees of the
    targets themselves, scaled: the core divides them by a power of two, which no quantised value
    notices (#22 item 8: above about 1e38 the trees once fitted a constant)."""
    from sklearn.datasets import make_friedman1

    X, y = make_friedman1(300, noise=1.0, random_state=0)
    plain = Estimator(n_estimators=5, random_state=0).fit(X, y)
    huge = Estimator(n_estimators=5, random_state=0).fit(X, y * 2.0 ** 300)
    np.testing.assert_array_equal(huge.predict(X), plain.predict(X) * 2.0 ** 300)
    big = Estimator(n_estimators=5, random_state=0).fit(X, y * 1e39)
    assert r2_score(y * 1e39, big.predict(X)) >= r2_score(y, plain.predict(X)) - 0.01
