"""Behaviour probes of RandomForest*'s and AdaBoost*'s parameters: each checks what scikit-learn's page
says the parameter does, on treeforge, and where the promise is exact, on scikit-learn too. The trees
are read through ``estimators_`` (scikit-learn's trees, treeforge's views: the same ``tree_``
arrays). Used by tests/test_sklearn_parameter_parity.py.
"""

import numpy as np
from _parity_probes_boosting import assert_monotone
from _sklearn_parity import data_for, fit_both, is_classifier_name, pair, printed, string_options
from sklearn.metrics import accuracy_score, r2_score
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.utils.class_weight import compute_sample_weight

def _trees(model):
    return [estimator.tree_ for estimator in model.estimators_]


def _leaves(tree):
    return tree.children_left < 0


def _score(model, X):
    return model.predict_proba(X)[:, 1] if is_classifier_name(type(model).__name__) else model.predict(X)


# ------------------------------------------------------------------------------ forests


def probe_forest_n_estimators(name):
    X, y = data_for(name)
    for model in fit_both(name, X, y, n_estimators=7):
        assert len(model.estimators_) == len(model) == 7 and model.apply(X).shape == (len(X), 7)


def probe_forest_criterion(name):
    """Every criterion scikit-learn lists fits about as well as scikit-learn's (exactly the same
    root impurity without bootstrap: the root holds every row)."""
    sk_cls, _ = pair(name)
    X, y = data_for(name)
    y = y if is_classifier_name(name) else y - y.min() + 1.0  # poisson: positive targets
    for criterion in string_options(sk_cls, "criterion"):
        sk, tf = fit_both(name, X, y, criterion=criterion, n_estimators=10, random_state=0)
        assert tf.score(X, y) >= sk.score(X, y) - 0.05, criterion
        if is_classifier_name(name):
            sk, tf = fit_both(name, X, y, criterion=criterion, n_estimators=1, bootstrap=False, max_depth=1)
            np.testing.assert_allclose(tf.estimators_[0].tree_.impurity[0], sk.estimators_[0].tree_.impurity[0])


def probe_forest_max_depth(name):
    X, y = data_for(name)
    for model in fit_both(name, X, y, max_depth=3, n_estimators=5, random_state=0):
        assert max(e.get_depth() for e in model.estimators_) == 3


def probe_forest_min_samples_split(name):
    """A node with fewer rows than min_samples_split (an int, or a share of the rows) is a leaf."""
    X, y = data_for(name)
    for value, rows in ((60, 60), (0.3, 90)):
        for model in fit_both(name, X, y, min_samples_split=value, bootstrap=False, n_estimators=3):
            for tree in _trees(model):
                assert np.all(tree.n_node_samples[~_leaves(tree)] >= rows)


def probe_forest_min_samples_leaf(name):
    X, y = data_for(name)
    for value, rows in ((25, 25), (0.1, 30)):
        for model in fit_both(name, X, y, min_samples_leaf=value, bootstrap=False, n_estimators=3):
            for tree in _trees(model):
                assert tree.n_node_samples[_leaves(tree)].min() >= rows


def probe_forest_min_weight_fraction_leaf(name):
    X, y = data_for(name)
    weight = np.random.RandomState(0).uniform(0.5, 2.0, len(y))
    for model in fit_both(name, X, y, fit_params={"sample_weight": weight}, min_weight_fraction_leaf=0.1,
                          bootstrap=False, n_estimators=3):
        for tree in _trees(model):
            assert tree.weighted_n_node_samples[_leaves(tree)].min() >= 0.1 * weight.sum() - 1e-9


def probe_forest_max_features(name):
    """Features drawn at every node: one feature gives roots on several features; all of them
    (None, no bootstrap) the one best root, scikit-learn's."""
    X, y = data_for(name)
    roots = {}
    for setting in (1, "sqrt", None):
        for model in fit_both(name, X, y, max_features=setting, max_depth=1, bootstrap=False, n_estimators=12,
                              random_state=0):
            roots[setting, type(model).__module__.split(".")[0]] = {int(t.feature[0]) for t in _trees(model)}
    assert len(roots[1, "treeforge"]) > 1 and len(roots["sqrt", "treeforge"]) > 1
    assert roots[None, "treeforge"] == roots[None, "sklearn"] and len(roots[None, "treeforge"]) == 1


def probe_forest_max_leaf_nodes(name):
    X, y = data_for(name)
    for model in fit_both(name, X, y, max_leaf_nodes=6, n_estimators=5, random_state=0):
        assert max(e.get_n_leaves() for e in model.estimators_) == 6


def probe_forest_min_impurity_decrease(name):
    """A node splits only if N_t / N * (impurity - weighted child impurities) >= the value: each
    split's decrease (``tree_.gain``: in weights) over the root's weight."""
    X, y = data_for(name)
    threshold = 0.02 if is_classifier_name(name) else 0.02 * np.var(y)
    one_tree = dict(n_estimators=1, bootstrap=False, max_features=None)  # nearly scikit-learn's tree
    sk, tf = fit_both(name, X, y, min_impurity_decrease=threshold, **one_tree)
    tree = tf.estimators_[0].tree_
    split = ~_leaves(tree)
    assert np.all(tree.gain[split] / tree.weighted_n_node_samples[0] >= threshold * (1 - 1e-9))
    unlimited = pair(name)[1](**one_tree).fit(X, y)
    assert tf.estimators_[0].get_n_leaves() < unlimited.estimators_[0].get_n_leaves() / 2
    assert abs(tf.estimators_[0].get_n_leaves() - sk.estimators_[0].get_n_leaves()) <= 2


def probe_forest_bootstrap(name):
    """True: each tree draws n rows with replacement; False: each tree sees every row once."""
    X, y = data_for(name)
    for model in fit_both(name, X, y, bootstrap=False, n_estimators=3):
        for rows in model.estimators_samples_:
            np.testing.assert_array_equal(np.sort(rows), np.arange(len(y)))
    for model in fit_both(name, X, y, bootstrap=True, n_estimators=3, random_state=0):
        for rows in model.estimators_samples_:
            assert len(rows) == len(y) and len(np.unique(rows)) < 0.7 * len(y)
    weight = np.where(np.arange(len(y)) % 2 == 0, 1.0, 0.0)  # weights are drawing probabilities
    for model in fit_both(name, X, y, fit_params={"sample_weight": weight}, n_estimators=3, random_state=0):
        assert all(np.all(rows % 2 == 0) for rows in model.estimators_samples_)
    for model_cls in pair(name):  # out-of-bag rows and max_samples need bootstrap
        for params in ({"oob_score": True}, {"max_samples": 0.5}):
            try:
                model_cls(bootstrap=False, n_estimators=2, **params).fit(X, y)
            except ValueError:
                continue
            raise AssertionError(f"{model_cls.__module__}: bootstrap=False with {params}")


def _out_of_bag_mean(model, X):
    """Per row, the mean prediction of the trees that did not draw it (NumPy, from the views)."""
    total, count = 0.0, np.zeros(len(X))
    for tree, rows in zip(model.estimators_, model.estimators_samples_):
        out = np.ones(len(X), dtype=bool)
        out[rows] = False
        predicted = tree.predict_proba(X) if hasattr(tree, "predict_proba") else tree.predict(X)[:, None]
        total = total + predicted * out[:, None]
        count += out
    return total / np.maximum(count, 1)[:, None]


def probe_forest_oob_score(name):
    """The out-of-bag estimate: each row predicted by the trees that left it out, scored by
    accuracy / R^2 (or the callable given)."""
    X, y = data_for(name)
    for model in fit_both(name, X, y, oob_score=True, n_estimators=30, random_state=0):
        if is_classifier_name(name):
            np.testing.assert_allclose(model.oob_decision_function_, _out_of_bag_mean(model, X), atol=1e-12)
            expected = accuracy_score(y, model.classes_[np.argmax(model.oob_decision_function_, axis=1)])
        else:
            np.testing.assert_allclose(model.oob_prediction_, _out_of_bag_mean(model, X)[:, 0], rtol=1e-12)
            expected = r2_score(y, model.oob_prediction_)
        np.testing.assert_allclose(model.oob_score_, expected)
    for model in fit_both(name, X, y, oob_score=lambda *_: 0.25, n_estimators=30, random_state=0):
        assert model.oob_score_ == 0.25


def probe_forest_n_jobs(name):
    """Trees fitted in parallel: the same forest for any number of jobs."""
    X, y = data_for(name)
    _, tf_cls = pair(name)
    one, two = (_score(tf_cls(n_estimators=8, n_jobs=n, random_state=0).fit(X, y), X) for n in (1, 2))
    np.testing.assert_array_equal(one, two)


def probe_forest_random_state(name):
    X, y = data_for(name)
    _, tf_cls = pair(name)
    fits = [_score(tf_cls(n_estimators=5, random_state=seed).fit(X, y), X) for seed in (3, 3, 4)]
    np.testing.assert_array_equal(fits[0], fits[1])
    assert not np.array_equal(fits[0], fits[2])
    tf_cls(n_estimators=2, random_state=np.random.RandomState(0)).fit(X, y)


def probe_forest_verbose(name):
    X, y = data_for(name)
    _, tf_cls = pair(name)
    assert printed(lambda: tf_cls(n_estimators=3, verbose=0).fit(X, y)) == ""
    assert printed(lambda: tf_cls(n_estimators=3, verbose=1).fit(X, y)).strip()


def probe_forest_warm_start(name):
    """A refit with more trees keeps the fitted trees and adds the new ones."""
    X, y = data_for(name)
    for model_cls in pair(name):
        model = model_cls(n_estimators=4, warm_start=True, random_state=0).fit(X, y)
        before = model.apply(X)
        model.set_params(n_estimators=7).fit(X, y)
        assert len(model.estimators_) == 7
        np.testing.assert_array_equal(model.apply(X)[:, :4], before)
        try:  # fewer trees than fitted
            model.set_params(n_estimators=5).fit(X, y)
        except ValueError:
            continue
        raise AssertionError(f"{model_cls.__module__}: warm start to fewer trees accepted")


def probe_forest_class_weight(name):
    """A dict or 'balanced' weights the samples as sample_weight would; 'balanced_subsample'
    balances each tree's bootstrap sample: every root holds the classes in equal weight."""
    X, y = data_for(name)
    for model_cls in pair(name):
        for weight in ({0: 3.0, 1: 1.0}, "balanced"):
            by_class = model_cls(class_weight=weight, n_estimators=5, random_state=0).fit(X, y)
            by_sample = model_cls(n_estimators=5, random_state=0).fit(
                X, y, sample_weight=compute_sample_weight(weight, y))
            np.testing.assert_allclose(by_class.predict_proba(X), by_sample.predict_proba(X), rtol=1e-12)
        subsample = model_cls(class_weight="balanced_subsample", n_estimators=5, random_state=0).fit(X, y)
        for tree in _trees(subsample):
            np.testing.assert_allclose(tree.value[0, 0], 0.5, rtol=1e-9)


def probe_forest_ccp_alpha(name):
    """Minimal cost-complexity pruning: a larger alpha, fewer leaves; a huge one, a single leaf."""
    X, y = data_for(name)
    huge = 1.0 if is_classifier_name(name) else 10 * np.var(y)
    for model in fit_both(name, X, y, ccp_alpha=huge, n_estimators=3, random_state=0):
        assert all(tree.node_count == 1 for tree in _trees(model))
    some = 0.01 if is_classifier_name(name) else 0.01 * np.var(y)
    one_tree = dict(n_estimators=1, bootstrap=False, max_features=None)  # nearly scikit-learn's tree
    sk, tf = fit_both(name, X, y, ccp_alpha=some, **one_tree)
    full = pair(name)[1](**one_tree).fit(X, y)
    assert tf.estimators_[0].get_n_leaves() < full.estimators_[0].get_n_leaves() / 2
    assert abs(tf.estimators_[0].get_n_leaves() - sk.estimators_[0].get_n_leaves()) <= 2


def probe_forest_max_samples(name):
    """Rows drawn per tree: an int, or a share of the rows."""
    X, y = data_for(name)
    for value, rows in ((100, 100), (0.5, 150)):
        for model in fit_both(name, X, y, max_samples=value, n_estimators=3, random_state=0):
            assert [len(drawn) for drawn in model.estimators_samples_] == [rows] * 3
    weight = np.full(len(y), 0.5)  # a share of the total weight (scikit-learn >= 1.6)
    sk, tf = fit_both(name, X, y, fit_params={"sample_weight": weight}, max_samples=0.5, n_estimators=2)
    assert [len(drawn) for drawn in tf.estimators_samples_] == [len(drawn) for drawn in sk.estimators_samples_]


def probe_forest_monotonic_cst(name):
    """1: non-decreasing, -1: non-increasing (a classifier: the positive class's probability);
    refused for multiclass, as scikit-learn's."""
    X, y = data_for(name)
    for model in fit_both(name, X, y, monotonic_cst=[1, -1, 0, 0, 0], n_estimators=5, random_state=0):
        assert_monotone(lambda Z: _score(model, Z), X, 0, 1)
        assert_monotone(lambda Z: _score(model, Z), X, 1, -1)
    if is_classifier_name(name):
        X3, y3 = data_for(name, multiclass=True)
        for model_cls in pair(name):
            try:
                model_cls(monotonic_cst=[1, 0, 0, 0, 0], n_estimators=2).fit(X3, y3)
            except ValueError:
                continue
            raise AssertionError(f"{model_cls.__module__}: multiclass monotonic_cst accepted")


# ------------------------------------------------------------------------------ AdaBoost


def _user_tree(name):
    return DecisionTreeClassifier(max_depth=2) if is_classifier_name(name) else DecisionTreeRegressor(max_depth=3)


def _assert_same_rounds(sk, tf, X):
    assert len(sk.estimators_) == len(tf.estimators_)
    np.testing.assert_allclose(tf.estimator_weights_, sk.estimator_weights_, rtol=1e-12)
    np.testing.assert_allclose(tf.estimator_errors_, sk.estimator_errors_, rtol=1e-12)
    np.testing.assert_allclose(_score(tf, X), _score(sk, X), rtol=1e-12)


def probe_adaboost_estimator(name):
    """A user's estimator is boosted by scikit-learn's rules: the same rounds and predictions; None
    boosts the default trees (stumps, or depth-3 trees for regression)."""
    X, y = data_for(name)
    sk, tf = fit_both(name, X, y, estimator=_user_tree(name), n_estimators=10, random_state=0)
    _assert_same_rounds(sk, tf, X)
    tf = pair(name)[1](n_estimators=10, random_state=0).fit(X, y)
    assert max(e.get_depth() for e in tf.estimators_) == (1 if is_classifier_name(name) else 3)


def probe_adaboost_n_estimators(name):
    X, y = data_for(name)
    sk, tf = fit_both(name, X, y, estimator=_user_tree(name), n_estimators=6, random_state=0)
    assert len(tf.estimators_) == len(sk.estimators_) == 6
    tf = pair(name)[1](n_estimators=6, random_state=0).fit(X, y)
    assert len(tf.estimators_) <= 6 and tf.estimator_weights_.shape == tf.estimator_errors_.shape == (6,)


def probe_adaboost_learning_rate(name):
    """Shrinks each estimator's weight: the first round's weight scales with the rate (it sees the
    same weights at any rate), and with a user's estimator every round is scikit-learn's."""
    X, y = data_for(name)
    sk, tf = fit_both(name, X, y, estimator=_user_tree(name), n_estimators=8, learning_rate=0.4, random_state=0)
    _assert_same_rounds(sk, tf, X)
    _, tf_cls = pair(name)
    full, shrunk = (tf_cls(n_estimators=3, learning_rate=rate, random_state=0).fit(X, y) for rate in (1.0, 0.4))
    np.testing.assert_allclose(shrunk.estimator_weights_[0], 0.4 * full.estimator_weights_[0], rtol=1e-12)


def probe_adaboost_random_state(name):
    """Seeds each user estimator as scikit-learn does, and the resampling; the same int, the same model."""
    X, y = data_for(name)
    base = _user_tree(name).set_params(max_features=2)
    sk, tf = fit_both(name, X, y, estimator=base, n_estimators=5, random_state=7)
    assert [e.random_state for e in tf.estimators_] == [e.random_state for e in sk.estimators_]
    _assert_same_rounds(sk, tf, X)
    _, tf_cls = pair(name)
    again = [_score(tf_cls(n_estimators=5, random_state=1).fit(X, y), X) for _ in range(2)]
    np.testing.assert_array_equal(*again)


def probe_adaboost_loss(name):
    """Every loss scikit-learn lists updates the weights as scikit-learn's."""
    X, y = data_for(name)
    for loss in string_options(pair(name)[0], "loss"):
        sk, tf = fit_both(name, X, y, estimator=_user_tree(name), loss=loss, n_estimators=8, random_state=0)
        _assert_same_rounds(sk, tf, X)
        sk, tf = fit_both(name, X, y, loss=loss, n_estimators=20, random_state=0)
        assert tf.score(X, y) >= sk.score(X, y) - 0.1, loss


PROBES = {name[len("probe_"):]: probe for name, probe in globals().items() if name.startswith("probe_")}
