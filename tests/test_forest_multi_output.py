"""Forests fitted to y of several columns, as scikit-learn's: one tree for all outputs, whose split
search scores them together (the mean of the outputs' impurity decreases), leaves holding every
output. Shown: the split search against a brute force and against scikit-learn's tree, outputs
that repeat one column grow the one-column trees, accuracy beside scikit-learn's, the shapes and
attributes scikit-learn gives, files, pickles, threads, and clear errors."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import RandomForestClassifier as SkForestClassifier
from sklearn.ensemble import RandomForestRegressor as SkForestRegressor
from sklearn.exceptions import DataConversionWarning
from sklearn.metrics import r2_score
from sklearn.tree import DecisionTreeRegressor

import treeforge
from treeforge import RandomForestClassifier, RandomForestRegressor

ONE_TREE = dict(n_estimators=1, bootstrap=False, max_features=None, random_state=0)


@pytest.fixture(scope="module")
def regression():
    X, Y = make_regression(1200, 8, n_informative=5, n_targets=3, noise=10.0, random_state=0)
    return X, Y


@pytest.fixture(scope="module")
def classification():
    X, y = make_classification(1200, 10, n_informative=6, n_classes=3, random_state=0)
    second = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    return X, np.c_[y.astype(object), second.astype(object)]


def test_root_split_maximises_the_mean_squared_error_decrease_over_outputs():
    """Brute force: every threshold of every feature (integer features, one bin per value)."""
    rng = np.random.default_rng(1)
    X = rng.integers(0, 12, size=(300, 3)).astype(float)
    Y = np.c_[X[:, 0] * 2 + rng.normal(size=300), (X[:, 1] > 6) * 5.0 + rng.normal(size=300)]
    tree = RandomForestRegressor(max_depth=1, **ONE_TREE).fit(X, Y).estimators_[0].tree_
    sse = lambda rows: ((Y[rows] - Y[rows].mean(axis=0)) ** 2).sum()  # noqa: E731
    best = max((sse(np.ones(300, bool)) - sse(X[:, f] <= t) - sse(X[:, f] > t), f, t)
               for f in range(3) for t in np.unique(X[:, f])[:-1])
    feature = tree.feature[0]
    assert feature == best[1]
    np.testing.assert_array_equal(X[:, feature] <= tree.threshold[0], X[:, feature] <= best[2])
    np.testing.assert_allclose(tree.gain[0], best[0] / 2, rtol=1e-9)  # the mean over the 2 outputs


def test_trees_partition_rows_as_scikit_learns_multi_output_tree(regression):
    X, Y = regression
    X = np.round(X, 1)  # few distinct values: every one its own bin
    ours = RandomForestRegressor(max_depth=4, **ONE_TREE).fit(X, Y)
    theirs = DecisionTreeRegressor(max_depth=4, random_state=0).fit(X, Y)
    same_leaves = ours.apply(X)[:, 0]
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-9, atol=1e-9)
    assert len(np.unique(same_leaves)) == theirs.get_n_leaves()


def test_a_repeated_class_column_grows_the_one_column_forest(classification):
    """The mean of two equal impurities is that impurity, bit for bit: the same splits, the same
    shares (three classes: one column's Gini has no two-class shortcut to round otherwise)."""
    X, Y = classification
    y = Y[:, 0].astype(int)
    one = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    two = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, np.c_[y, y])
    for proba in two.predict_proba(X):
        np.testing.assert_array_equal(proba, one.predict_proba(X))
    np.testing.assert_array_equal(two.apply(X), one.apply(X))


def test_regressor_matches_scikit_learn(regression):
    X, Y = regression
    ours = RandomForestRegressor(n_estimators=60, oob_score=True, random_state=0).fit(X[:900], Y[:900])
    theirs = SkForestRegressor(n_estimators=60, oob_score=True, random_state=0).fit(X[:900], Y[:900])
    prediction = ours.predict(X[900:])
    assert prediction.shape == (300, 3) and ours.n_outputs_ == 3
    assert r2_score(Y[900:], prediction) >= r2_score(Y[900:], theirs.predict(X[900:])) - 0.02
    assert ours.oob_prediction_.shape == (900, 3)
    assert abs(ours.oob_score_ - theirs.oob_score_) < 0.03
    np.testing.assert_allclose(np.mean([tree.predict(X[:50]) for tree in ours.estimators_], axis=0),
                               ours.predict(X[:50]))


def test_classifier_matches_scikit_learn_and_its_shapes(classification):
    X, Y = classification
    ours = RandomForestClassifier(n_estimators=60, oob_score=True, random_state=0).fit(X[:900], Y[:900])
    numeric = np.c_[Y[:, 0], Y[:, 1] == "yes"].astype(int)  # scikit-learn cannot sort an object y of mixed types
    theirs = SkForestClassifier(n_estimators=60, random_state=0).fit(X[:900], numeric[:900])
    labels = ours.predict(X[900:])
    assert labels.shape == (300, 2) and ours.n_classes_ == [3, 2]
    assert [list(c) for c in ours.classes_] == [[0, 1, 2], ["no", "yes"]]
    for t in range(2):
        theirs_right = np.mean(theirs.predict(X[900:])[:, t] == numeric[900:, t])
        assert np.mean(labels[:, t] == Y[900:, t]) >= theirs_right - 0.03
    probas = ours.predict_proba(X[:20])
    assert [p.shape for p in probas] == [(20, 3), (20, 2)]
    for p in probas:
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert ours.oob_decision_function_.shape == (900, 3, 2) and 0.8 < ours.oob_score_ <= 1.0
    assert ours.estimators_[0].tree_.value.shape[1:] == (2, 3)


def test_files_pickles_and_thread_counts_keep_the_model(classification, regression, tmp_path):
    for Estimator, (X, Y) in ((RandomForestClassifier, classification), (RandomForestRegressor, regression)):
        forest = Estimator(n_estimators=8, random_state=0, n_jobs=1).fit(X, Y)
        forest.save_model(tmp_path / "forest.json")
        for copy in (treeforge.load_model(tmp_path / "forest.json"), pickle.loads(pickle.dumps(forest)),
                     Estimator(n_estimators=8, random_state=0, n_jobs=2).fit(X, Y)):
            np.testing.assert_array_equal(copy.predict(X), forest.predict(X))


def test_class_weights_of_several_outputs(classification):
    X, Y = classification
    for class_weight in ("balanced", "balanced_subsample", [{0: 1.0, 1: 2.0, 2: 1.0}, {"no": 1.0, "yes": 3.0}]):
        RandomForestClassifier(n_estimators=5, class_weight=class_weight, random_state=0).fit(X, Y)
    with pytest.raises(ValueError, match="dicts for 2 outputs"):
        RandomForestClassifier(n_estimators=5, class_weight=[{0: 1.0}]).fit(X, Y)


def test_what_several_outputs_do_not_support_is_a_clear_error(regression):
    X, Y = regression
    with pytest.raises(ValueError, match="Monotonicity constraints are not supported with multiple output"):
        RandomForestRegressor(n_estimators=2, monotonic_cst=[1] + [0] * 7).fit(X, Y)
    with pytest.raises(ValueError, match="poisson"):
        RandomForestRegressor(n_estimators=2, criterion="poisson").fit(X, np.abs(Y))


def test_a_column_vector_is_one_output_with_scikit_learns_warning(regression):
    X, Y = regression
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        forest = RandomForestRegressor(n_estimators=3, random_state=0).fit(X, Y[:, :1])
    assert any(issubclass(w.category, DataConversionWarning) for w in caught)
    assert forest.n_outputs_ == 1 and forest.predict(X).shape == (len(X),)


@pytest.mark.parametrize("Estimator", [RandomForestClassifier, RandomForestRegressor])
def test_row_shards_grow_the_unsharded_forest(Estimator, classification, regression):
    """The distributed seam holds for several outputs: histograms of 3 shards built apart and
    summed grow the same trees."""
    X, Y = classification if Estimator is RandomForestClassifier else regression
    forest = Estimator(n_estimators=4, random_state=0).fit(X, Y)
    treeforge._core._testing.set_row_shards(3)
    try:
        sharded = Estimator(n_estimators=4, random_state=0).fit(X, Y)
    finally:
        treeforge._core._testing.set_row_shards(1)
    np.testing.assert_array_equal(sharded.apply(X), forest.apply(X))
    np.testing.assert_array_equal(sharded.predict(X), forest.predict(X))
