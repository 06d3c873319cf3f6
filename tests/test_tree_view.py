"""Per-tree estimators of the forests and AdaBoost (ensemble/_tree_view.py): estimators_, tree_, sequences."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn import ensemble as sk_ensemble
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.datasets import load_diabetes, load_iris, make_classification
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.tree import DecisionTreeClassifier, export_graphviz, export_text

from treeforge import AdaBoostClassifier, AdaBoostRegressor, RandomForestClassifier, RandomForestRegressor


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    X = X.copy()
    X[::17, 2] = np.nan  # missing values take each split's learned direction
    return X, y


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


def _categorical_frame(n=400, seed=0):
    rng = np.random.RandomState(seed)
    colour = rng.choice(["red", "green", "blue", "black", "white", "grey"], size=n)
    size = rng.normal(size=n)
    y = (np.isin(colour, ["red", "grey", "white"]) ^ (size > 0.3)).astype(int)
    return pd.DataFrame({"colour": pd.Categorical(colour), "size": size}), y


def _fitted_ensembles(iris, diabetes):
    X, y = iris
    Xr, yr = diabetes
    return [
        (RandomForestClassifier(n_estimators=7, max_depth=5, random_state=0).fit(X, y), X),
        (RandomForestClassifier(n_estimators=5, criterion="entropy", random_state=1).fit(X, y), X),
        (RandomForestRegressor(n_estimators=6, max_depth=6, random_state=0).fit(Xr, yr), Xr),
        (AdaBoostClassifier(n_estimators=8, random_state=0).fit(X, y), X),
        (AdaBoostClassifier(n_estimators=5, sampling="resample", random_state=0).fit(X, y), X),
        (AdaBoostRegressor(n_estimators=6, random_state=0).fit(Xr, yr), Xr),
    ]


def _walk(tree, X):
    """The leaf of every row, walking tree_ as scikit-learn code would (plus category_sets)."""
    leaves = np.empty(X.shape[0], dtype=np.intp)
    for i, row in enumerate(X):
        node = 0
        while tree.children_left[node] != -1:
            value = row[tree.feature[node]]
            if np.isnan(value):
                go_left = bool(tree.missing_go_to_left[node])
            elif tree.split_kind[node] == 1:
                go_left = value in set(tree.category_sets[node])
            else:
                go_left = value <= tree.threshold[node]
            node = tree.children_left[node] if go_left else tree.children_right[node]
        leaves[i] = node
    return leaves


def test_per_tree_predictions_average_to_the_forest(iris, diabetes):
    X, y = iris
    forest = RandomForestClassifier(n_estimators=9, random_state=0).fit(X, y)
    mean = np.mean([tree.predict_proba(X) for tree in forest.estimators_], axis=0)
    np.testing.assert_allclose(mean, forest.predict_proba(X), rtol=0, atol=1e-12)
    assert all(np.array_equal(t.predict(X), t.classes_[np.argmax(t.predict_proba(X), axis=1)]) for t in forest)
    Xr, yr = diabetes
    regressor = RandomForestRegressor(n_estimators=9, random_state=0).fit(Xr, yr)
    mean = np.mean([tree.predict(Xr) for tree in regressor], axis=0)
    np.testing.assert_allclose(mean, regressor.predict(Xr), rtol=1e-12)


def test_adaboost_weighted_vote_and_median_of_the_trees(iris, diabetes):
    X, y = iris
    clf = AdaBoostClassifier(n_estimators=12, random_state=0).fit(X, y)
    k = clf.n_classes_
    votes = sum(np.where((tree.predict(X) == clf.classes_[:, None]).T, w, -w / (k - 1))
                for tree, w in zip(clf.estimators_, clf.estimator_weights_))
    np.testing.assert_allclose(votes / clf.estimator_weights_.sum(), clf.decision_function(X), atol=1e-12)
    Xr, yr = diabetes
    reg = AdaBoostRegressor(n_estimators=10, random_state=0).fit(Xr, yr)
    predictions = np.array([tree.predict(Xr) for tree in reg]).T
    weights = reg.estimator_weights_[:len(reg)]
    order = np.argsort(predictions, axis=1)
    cdf = np.cumsum(weights[order], axis=1)
    median = order[np.arange(len(yr)), np.argmax(cdf >= 0.5 * cdf[:, -1:], axis=1)]
    np.testing.assert_allclose(predictions[np.arange(len(yr)), median], reg.predict(Xr), rtol=1e-12)


def test_tree_arrays_agree_with_walking_the_tree(iris, diabetes):
    for ensemble, X in _fitted_ensembles(iris, diabetes):
        for view in ensemble.estimators_[:3]:
            tree = view.tree_
            leaves = view.apply(X)
            np.testing.assert_array_equal(_walk(tree, X), leaves)
            assert np.all(tree.children_left[leaves] == -1)
            is_leaf = tree.children_left == -1
            assert np.all(tree.feature[is_leaf] == -2) and np.all(tree.threshold[is_leaf] == -2)
            assert np.all(tree.children_right[is_leaf] == -1) and np.all(tree.feature[~is_leaf] >= 0)
            assert tree.value.shape == (tree.node_count, 1, tree.max_n_classes)
            if is_classifier(view):
                np.testing.assert_allclose(tree.value[leaves, 0], view.predict_proba(X), atol=1e-12)
            else:
                np.testing.assert_allclose(tree.value[leaves, 0, 0], view.predict(X), rtol=1e-12)
            assert tree.n_leaves == view.get_n_leaves() == np.count_nonzero(is_leaf)
            assert tree.max_depth == view.get_depth() == tree.compute_node_depths().max()
            split = np.flatnonzero(~is_leaf)
            for parent in split:  # children hold their parent's rows and weight
                children = [tree.children_left[parent], tree.children_right[parent]]
                np.testing.assert_allclose(tree.weighted_n_node_samples[children].sum(),
                                           tree.weighted_n_node_samples[parent], rtol=1e-9)
                assert tree.n_node_samples[children].sum() == tree.n_node_samples[parent]


def test_impurity_is_exact_for_forest_classifiers_and_nan_where_not_stored(iris, diabetes):
    for ensemble, _ in _fitted_ensembles(iris, diabetes):
        for view in ensemble.estimators_[:2]:
            tree = view.tree_
            if not isinstance(ensemble, RandomForestClassifier):
                assert np.all(np.isnan(tree.impurity))
                continue
            p = tree.value[:, 0]
            if ensemble.criterion == "gini":
                np.testing.assert_allclose(tree.impurity, 1 - np.sum(p ** 2, axis=1), atol=1e-12)
            # the core's gain of each split is the weighted impurity decrease, in scikit-learn's units
            w, imp = tree.weighted_n_node_samples, tree.impurity
            for node in np.flatnonzero(tree.children_left >= 0):
                left, right = tree.children_left[node], tree.children_right[node]
                decrease = w[node] * imp[node] - w[left] * imp[left] - w[right] * imp[right]
                np.testing.assert_allclose(decrease, tree.gain[node], rtol=1e-9, atol=1e-9)
            np.testing.assert_allclose(tree.compute_feature_importances(), view.feature_importances_, atol=1e-12)


def test_forest_classifier_tree_matches_scikit_learn_without_randomness():
    # One tree on all rows and features: scikit-learn's tree has the same root split, fractions, impurity.
    X, y = make_classification(n_samples=300, n_features=4, n_informative=3, n_redundant=0, random_state=0)
    ours = RandomForestClassifier(n_estimators=1, bootstrap=False, max_features=None, max_depth=1,
                                  random_state=0).fit(X, y)[0].tree_
    theirs = DecisionTreeClassifier(max_depth=1).fit(X, y).tree_
    assert ours.feature[0] == theirs.feature[0] and ours.node_count == theirs.node_count == 3
    for name in ("value", "impurity", "weighted_n_node_samples", "n_node_samples"):
        np.testing.assert_allclose(getattr(ours, name)[0], getattr(theirs, name)[0], rtol=1e-12, err_msg=name)
        # the children differ by the rows between a bin edge and scikit-learn's midpoint threshold
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=0.05, atol=0.02, err_msg=name)


def test_decision_path_agrees_with_apply(iris, diabetes):
    for ensemble, X in _fitted_ensembles(iris, diabetes):
        view = ensemble[1]
        tree, leaves = view.tree_, view.apply(X)
        path = view.decision_path(X)
        assert path.format == "csr" and path.shape == (X.shape[0], tree.node_count)
        depths = tree.compute_node_depths()
        np.testing.assert_array_equal(np.asarray(path.sum(axis=1)).ravel(), depths[leaves] + 1)
        for i in range(0, X.shape[0], 7):
            nodes = path.indices[path.indptr[i]:path.indptr[i + 1]]
            assert nodes.min() == 0 and leaves[i] in nodes
            for node in nodes[nodes != 0]:  # every node on the path has its parent on it
                assert np.isin(np.flatnonzero((tree.children_left == node) | (tree.children_right == node)), nodes).all()


def test_ensembles_are_sequences_of_their_trees(iris):
    X, y = iris
    for ensemble in (RandomForestClassifier(n_estimators=4, random_state=0), AdaBoostClassifier(n_estimators=4)):
        with pytest.raises(AttributeError):
            ensemble.estimators_
        with pytest.raises(AttributeError):
            len(ensemble)
        ensemble.fit(X, y)
        assert len(ensemble) == len(ensemble.estimators_) == ensemble._model.n_trees
        assert isinstance(ensemble.estimators_, list)
        assert [type(t) for t in ensemble] == [type(ensemble[0])] * len(ensemble)
        assert len(ensemble[1:3]) == 2
        if hasattr(ensemble, "apply"):
            np.testing.assert_array_equal(ensemble[-1].apply(X), ensemble.apply(X)[:, -1])
        template = ensemble.estimator_
        assert is_classifier(template)
        with pytest.raises(NotFittedError):
            template.predict(X)
        with pytest.raises(TypeError, match="cannot be fitted on its own"):
            clone(ensemble[0]).fit(X, y)


def test_adaboost_estimators_is_always_a_list(iris):
    X, y = iris
    user = AdaBoostClassifier(DecisionTreeClassifier(max_depth=1), n_estimators=3, random_state=0).fit(
        np.nan_to_num(X), y)
    assert isinstance(user.estimators_, list) and all(isinstance(e, DecisionTreeClassifier) for e in user)
    assert user.estimator_ is user.estimator
    default = AdaBoostClassifier(n_estimators=3, random_state=0).fit(X, y)
    assert isinstance(default.estimators_, list) and len(default) == 3
    restored = pickle.loads(pickle.dumps(default))
    np.testing.assert_array_equal(restored[0].predict(X), default[0].predict(X))


def test_views_read_nothing_at_fit_and_leave_the_ensemble_unchanged(iris):
    X, y = iris
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    before = dict(vars(forest))
    views = forest.estimators_
    views[0].tree_, views[1].predict(X)
    assert set(vars(forest)) == set(before)
    assert "_arrays" not in vars(views[0]) and views[0]._source._arrays is not None
    view = pickle.loads(pickle.dumps(views[2]))
    np.testing.assert_array_equal(view.predict(X), views[2].predict(X))


def test_scikit_learn_tree_utilities(iris, diabetes):
    X, y = iris
    forest = RandomForestClassifier(n_estimators=2, max_depth=2, random_state=0).fit(X, y)
    dot = export_graphviz(forest[0], feature_names=load_iris().feature_names)
    assert "gini" in dot and "samples" in dot
    # export_text validates its argument as a scikit-learn DecisionTree*: it refuses a view by name
    with pytest.raises(ValueError, match="DecisionTreeClassifier"):
        export_text(forest[0])
    Xr, yr = diabetes
    regressor = RandomForestRegressor(n_estimators=2, max_depth=2, random_state=0).fit(Xr, yr)
    assert is_regressor(regressor[0]) and "squared_error = nan" in export_graphviz(regressor[0])


@pytest.mark.parametrize("Estimator", [RandomForestClassifier, AdaBoostClassifier])
def test_category_set_splits_are_exposed_and_routed_by_the_estimators_encoding(Estimator):
    X, y = _categorical_frame()
    model = Estimator(n_estimators=5, random_state=0, categorical_features="from_dtype").fit(X, y)
    set_nodes = 0
    for view in model:
        tree = view.tree_
        is_set = tree.split_kind == 1
        set_nodes += np.count_nonzero(is_set)
        assert np.all(np.isnan(tree.threshold[is_set])) and np.all(tree.feature[is_set] == 0)
        assert all((s is None) != is_set[node] for node, s in enumerate(tree.category_sets))
        for node in np.flatnonzero(is_set):
            assert set(tree.category_sets[node]) < {"red", "green", "blue", "black", "white", "grey"}
        # the walk with category values (as given) reaches the leaves apply finds from the frame
        rows = np.array(X.astype(object))
        rows[:, 1] = X["size"].to_numpy()
        leaves = view.apply(X)
        for i in range(0, len(X), 9):
            node = 0
            while tree.children_left[node] != -1:
                value = rows[i, tree.feature[node]]
                go_left = value in set(tree.category_sets[node]) if is_set[node] else value <= tree.threshold[node]
                node = tree.children_left[node] if go_left else tree.children_right[node]
            assert node == leaves[i]
    assert set_nodes > 0
    if Estimator is RandomForestClassifier:
        mean = np.mean([view.predict_proba(X) for view in model], axis=0)
        np.testing.assert_allclose(mean, model.predict_proba(X), atol=1e-12)


@pytest.mark.parametrize("estimator", [None, DecisionTreeClassifier(max_depth=1)])
def test_adaboost_with_one_class_behaves_as_scikit_learn(estimator):
    X = np.random.RandomState(0).normal(size=(30, 3))
    y = np.full(30, "only")
    ours = AdaBoostClassifier(estimator, n_estimators=5, random_state=0).fit(X, y)
    theirs = sk_ensemble.AdaBoostClassifier(estimator, n_estimators=5, random_state=0).fit(X, y)
    for name in ("classes_", "n_classes_", "estimator_weights_", "estimator_errors_"):
        np.testing.assert_array_equal(getattr(ours, name), getattr(theirs, name))
    assert len(ours) == len(theirs) == 1
    for method in ("predict", "predict_proba", "decision_function"):
        np.testing.assert_array_equal(getattr(ours, method)(X), getattr(theirs, method)(X))
    assert [p.tolist() for p in ours.staged_predict(X[:2])] == [["only", "only"]]
    assert ours[0].predict(X[:2]).tolist() == ["only", "only"] and ours[0].predict_proba(X[:2]).shape == (2, 1)


def test_adaboost_passes_inputs_of_any_dimensionality_to_a_users_estimator():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 3, 4))  # e.g. 3 channels of 4 time steps
    y = (X[:, 0, :].sum(axis=1) > 0).astype(int)
    seen = []

    def flatten(batch):
        seen.append(batch.shape[1:])
        return batch.reshape(len(batch), -1)

    pipeline = make_pipeline(FunctionTransformer(flatten), DecisionTreeClassifier(max_depth=2))
    clf = AdaBoostClassifier(pipeline, n_estimators=4, random_state=0).fit(X, y)
    assert clf.predict(X).shape == (80,) and clf.score(X, y) > 0.8
    assert set(seen) == {(3, 4)}
    reg = AdaBoostRegressor(make_pipeline(FunctionTransformer(flatten), DecisionTreeClassifier(max_depth=3)),
                            n_estimators=3, random_state=0).fit(X, y.astype(float))
    assert reg.predict(X).shape == (80,)
