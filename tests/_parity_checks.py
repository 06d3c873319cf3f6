"""What scikit-learn's page says each public method and fitted attribute of the six estimators does,
checked on treeforge beside scikit-learn fitted on the same data. Used by
tests/test_sklearn_parameter_parity.py, which runs ``METHOD_CHECKS[method]`` for every public method
and ``ATTRIBUTE_CHECKS[attribute]`` for every documented attribute that scikit-learn's class has.
"""

import numpy as np
import pandas as pd
import sklearn
from _sklearn_parity import data_for, family, fit_both, is_classifier_name, pair, small
from sklearn.base import is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import cross_validate
from sklearn.utils.validation import check_is_fitted


def fitted_pair(name):
    """scikit-learn's and treeforge's estimator fitted with every optional attribute switched on
    (early stopping scores, out-of-bag estimates)."""
    params = dict(small(name), random_state=0)
    if family(name) == "HistGradientBoosting":
        params.update(early_stopping=True, n_iter_no_change=50)
    elif family(name) == "RandomForest":
        params.update(oob_score=True, n_estimators=20)
    X, y = data_for(name)
    return (*fit_both(name, X, y, **params), X, y)


def _metric(name):
    return accuracy_score if is_classifier_name(name) else r2_score


def _weights(y):
    return np.random.RandomState(1).uniform(0.2, 3.0, len(y))


def _n_stages(model):
    return model.n_iter_ if hasattr(model, "n_iter_") else len(model.estimators_)


# ------------------------------------------------------------------------------ methods


def check_fit(name, sk, tf, X, y):
    """Returns self; sample_weight weighs the rows (only relative weights count); HistGradientBoosting's
    X_val/y_val/sample_weight_val are the early-stopping set (its last validation score is theirs)."""
    _, tf_cls = pair(name)
    model = tf_cls(**small(name), random_state=0)
    assert model.fit(X, y) is model
    w = _weights(y)
    once, twice = (tf_cls(**small(name), random_state=0).fit(X, y, sample_weight=w * k).predict(X) for k in (1, 2))
    np.testing.assert_allclose(once, twice, rtol=1e-9)
    assert not np.array_equal(once, model.predict(X))
    if family(name) != "HistGradientBoosting":
        return
    scoring = "accuracy" if is_classifier_name(name) else "r2"
    val = slice(200, None)
    for model in fit_both(name, X[:200], y[:200], fit_params=dict(X_val=X[val], y_val=y[val], sample_weight_val=w[val]),
                          scoring=scoring, early_stopping=True, max_iter=5, n_iter_no_change=50):
        expected = _metric(name)(y[val], model.predict(X[val]), sample_weight=w[val])
        np.testing.assert_allclose(model.validation_score_[-1], expected, rtol=1e-12)


def check_predict(name, sk, tf, X, y):
    """Labels from classes_ (or real targets), agreeing with scikit-learn's on most rows."""
    ours, theirs = tf.predict(X), sk.predict(X)
    assert ours.shape == theirs.shape and ours.dtype.kind == theirs.dtype.kind
    if is_classifier_name(name):
        assert np.isin(ours, tf.classes_).all() and np.mean(ours == theirs) > 0.85
    else:
        assert r2_score(theirs, ours) > 0.8


def check_predict_proba(name, sk, tf, X, y):
    """Rows are distributions over classes_, their largest the predicted class."""
    proba = tf.predict_proba(X)
    assert proba.shape == sk.predict_proba(X).shape and np.all(proba >= 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(tf.classes_[np.argmax(proba, axis=1)], tf.predict(X))


def check_predict_log_proba(name, sk, tf, X, y):
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(tf.predict_log_proba(X), np.log(tf.predict_proba(X)))
    assert tf.predict_log_proba(X).shape == sk.predict_log_proba(X).shape


def check_decision_function(name, sk, tf, X, y):
    """Binary: one column, positive for classes_[1]; multiclass: the largest is the predicted class."""
    for multiclass in (False, True):
        Xc, yc = data_for(name, multiclass=multiclass)
        sk, tf = fit_both(name, Xc, yc, **small(name), random_state=0)
        scores = tf.decision_function(Xc)
        assert scores.shape == sk.decision_function(Xc).shape
        picked = (scores > 0).astype(int) if scores.ndim == 1 else np.argmax(scores, axis=1)
        np.testing.assert_array_equal(tf.classes_[picked], tf.predict(Xc))


def _check_staged(name, sk, tf, X, y, staged, final):
    ours, theirs = list(getattr(tf, staged)(X)), list(getattr(sk, staged)(X))
    assert len(ours) == _n_stages(tf) and ours[0].shape == theirs[0].shape
    np.testing.assert_allclose(ours[-1], getattr(tf, final)(X), rtol=1e-12) if ours[-1].dtype.kind == "f" \
        else np.testing.assert_array_equal(ours[-1], getattr(tf, final)(X))


def check_staged_predict(name, sk, tf, X, y):
    """One prediction per iteration (estimator), the last the final prediction."""
    _check_staged(name, sk, tf, X, y, "staged_predict", "predict")


def check_staged_predict_proba(name, sk, tf, X, y):
    _check_staged(name, sk, tf, X, y, "staged_predict_proba", "predict_proba")


def check_staged_decision_function(name, sk, tf, X, y):
    _check_staged(name, sk, tf, X, y, "staged_decision_function", "decision_function")


def check_staged_score(name, sk, tf, X, y):
    w = _weights(y)
    scores = list(tf.staged_score(X, y, sample_weight=w))
    assert len(scores) == _n_stages(tf)
    np.testing.assert_allclose(scores[-1], tf.score(X, y, sample_weight=w))


def check_score(name, sk, tf, X, y):
    """Accuracy (classifiers) or R^2 (regressors) of predict, weighted by sample_weight."""
    w = _weights(y)
    for model in (sk, tf):
        np.testing.assert_allclose(model.score(X, y, sample_weight=w), _metric(name)(y, model.predict(X), sample_weight=w))
    assert abs(tf.score(X, y) - sk.score(X, y)) < 0.1


def check_apply(name, sk, tf, X, y):
    """The leaf of every row in every tree: column t is tree t's apply."""
    leaves = tf.apply(X)
    assert leaves.shape == sk.apply(X).shape and leaves.dtype == sk.apply(X).dtype
    for t, tree in enumerate(tf.estimators_):
        np.testing.assert_array_equal(leaves[:, t], tree.apply(X))


def check_decision_path(name, sk, tf, X, y):
    """Every tree's path indicator side by side; n_nodes_ptr gives each tree's columns."""
    indicator, ptr = tf.decision_path(X)
    assert ptr.shape == sk.decision_path(X)[1].shape and indicator.shape == (len(X), ptr[-1])
    for t, tree in enumerate(tf.estimators_):
        assert ptr[t + 1] - ptr[t] == tree.tree_.node_count
        assert (indicator[:, ptr[t]:ptr[t + 1]] != tree.decision_path(X)).nnz == 0


def check_get_params(name, sk, tf, X, y):
    """Every scikit-learn parameter, nested ones of a user's estimator included."""
    assert set(sk.get_params()) <= set(tf.get_params())
    if family(name) == "AdaBoost":
        base = sk.get_params()["estimator"] or pair(name)[0]().get_params()["estimator"]
        nested = pair(name)[1](estimator=base).get_params(deep=True)
        assert set(pair(name)[0](estimator=base).get_params(deep=True)) <= set(nested)


def check_set_params(name, sk, tf, X, y):
    model = pair(name)[1]()
    assert model.set_params(random_state=5) is model and model.get_params()["random_state"] == 5
    if family(name) == "AdaBoost":
        tree = sk.estimators_[0].__class__(max_depth=1)
        model.set_params(estimator=tree, estimator__max_depth=2)
        assert tree.max_depth == 2


def _routed_scores(model, X, y, weighted):
    with sklearn.config_context(enable_metadata_routing=True):
        model = model.set_fit_request(sample_weight=weighted).set_score_request(sample_weight=weighted)
        params = {"sample_weight": _weights(y)} if weighted else {}
        return cross_validate(model, X, y, params=params, cv=3)["test_score"]


def check_get_metadata_routing(name, sk, tf, X, y):
    """With routing on, set_fit_request/set_score_request route sample_weight to fit and score
    (scikit-learn's AdaBoost has no routing yet: treeforge's routes, see the allow-list)."""
    model = pair(name)[1](**small(name), random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        routing = model.set_fit_request(sample_weight=True).get_metadata_routing()
        assert routing.fit.requests["sample_weight"] is True
    assert not np.allclose(_routed_scores(model, X, y, True), _routed_scores(model, X, y, False))


check_set_fit_request = check_set_score_request = check_get_metadata_routing

METHOD_CHECKS = {name[len("check_"):]: check for name, check in globals().items() if name.startswith("check_")}


# ------------------------------------------------------------------------------ attributes


def attr_classes_(name, sk, tf, X, y):
    np.testing.assert_array_equal(tf.classes_, sk.classes_)


def attr_n_classes_(name, sk, tf, X, y):
    assert tf.n_classes_ == sk.n_classes_ == len(tf.classes_)


def attr_n_features_in_(name, sk, tf, X, y):
    assert tf.n_features_in_ == sk.n_features_in_ == X.shape[1]


def attr_feature_names_in_(name, sk, tf, X, y):
    """Set from a DataFrame's string column names, absent otherwise."""
    assert not hasattr(tf, "feature_names_in_") and not hasattr(sk, "feature_names_in_")
    frame = pd.DataFrame(X, columns=[f"col{i}" for i in range(X.shape[1])])
    sk, tf = fit_both(name, frame, y, **small(name))
    np.testing.assert_array_equal(tf.feature_names_in_, sk.feature_names_in_)
    assert tf.feature_names_in_.dtype == object


def attr_n_outputs_(name, sk, tf, X, y):
    """The number of columns of y, and the shape of the predictions with it."""
    assert tf.n_outputs_ == sk.n_outputs_ == 1
    two = np.c_[y, y[::-1]]
    sk, tf = fit_both(name, X, two, n_estimators=5, random_state=0)
    assert tf.n_outputs_ == sk.n_outputs_ == 2 and tf.predict(X).shape == sk.predict(X).shape == two.shape


def attr_feature_importances_(name, sk, tf, X, y):
    """Non-negative, summing to 1, the same most important feature as scikit-learn's."""
    importances = tf.feature_importances_
    assert importances.shape == sk.feature_importances_.shape and np.all(importances >= 0)
    np.testing.assert_allclose(importances.sum(), 1.0)
    assert np.argmax(importances) == np.argmax(sk.feature_importances_)


def attr_oob_score_(name, sk, tf, X, y):
    assert abs(tf.oob_score_ - sk.oob_score_) < 0.15  # probe_forest_oob_score checks its definition


def attr_oob_decision_function_(name, sk, tf, X, y):
    assert tf.oob_decision_function_.shape == sk.oob_decision_function_.shape
    np.testing.assert_allclose(tf.oob_decision_function_.sum(axis=1), 1.0)


def attr_oob_prediction_(name, sk, tf, X, y):
    assert tf.oob_prediction_.shape == sk.oob_prediction_.shape
    assert r2_score(sk.oob_prediction_, tf.oob_prediction_) > 0.7


def attr_estimators_samples_(name, sk, tf, X, y):
    """The in-bag rows of each tree (as a multiset: treeforge lists them sorted, see the allow-list)."""
    assert len(tf.estimators_samples_) == len(sk.estimators_samples_)
    for ours, theirs in zip(tf.estimators_samples_, sk.estimators_samples_):
        assert ours.dtype.kind == theirs.dtype.kind == "i" and len(ours) == len(theirs)
        assert ours.min() >= 0 and ours.max() < len(y)


def attr_estimator_(name, sk, tf, X, y):
    """The unfitted template of the estimators, of their kind (a user's estimator: that estimator)."""
    assert is_classifier(tf.estimator_) == is_classifier(sk.estimator_)
    try:
        check_is_fitted(tf.estimator_)
    except NotFittedError:
        return
    raise AssertionError("estimator_ is fitted")


def attr_estimators_(name, sk, tf, X, y):
    """The fitted trees, in order; a forest predicts their mean."""
    assert len(tf.estimators_) == _n_stages(tf) and (family(name) == "AdaBoost" or len(tf) == len(sk))
    assert all(is_classifier(tree) == is_classifier(sk.estimators_[0]) for tree in tf.estimators_)
    if family(name) == "RandomForest":
        each = [t.predict_proba(X) if is_classifier(t) else t.predict(X) for t in tf.estimators_]
        forest = tf.predict_proba(X) if is_classifier(tf) else tf.predict(X)
        np.testing.assert_allclose(np.mean(each, axis=0), forest, rtol=1e-9)


def attr_estimator_weights_(name, sk, tf, X, y):
    assert tf.estimator_weights_.shape == sk.estimator_weights_.shape == (tf.n_estimators,)
    assert np.all(tf.estimator_weights_[:len(tf.estimators_)] > 0)  # probes compare them with scikit-learn's


def attr_estimator_errors_(name, sk, tf, X, y):
    assert tf.estimator_errors_.shape == sk.estimator_errors_.shape == (tf.n_estimators,)
    assert np.all((tf.estimator_errors_ >= 0) & (tf.estimator_errors_ < 0.5 + is_classifier(tf) * 0.5))


def attr_do_early_stopping_(name, sk, tf, X, y):
    assert tf.do_early_stopping_ is sk.do_early_stopping_ is True


def attr_n_iter_(name, sk, tf, X, y):
    assert tf.n_iter_ == sk.n_iter_ == 10


def attr_n_trees_per_iteration_(name, sk, tf, X, y):
    """1 for regression and binary classification, n_classes for multiclass."""
    assert tf.n_trees_per_iteration_ == sk.n_trees_per_iteration_ == 1
    if is_classifier_name(name):
        sk, tf = fit_both(name, *data_for(name, multiclass=True), max_iter=2)
        assert tf.n_trees_per_iteration_ == sk.n_trees_per_iteration_ == 3


def attr_train_score_(name, sk, tf, X, y):
    assert tf.train_score_.shape == sk.train_score_.shape == (tf.n_iter_ + 1,)


def attr_validation_score_(name, sk, tf, X, y):
    assert tf.validation_score_.shape == sk.validation_score_.shape == (tf.n_iter_ + 1,)


def attr_is_categorical_(name, sk, tf, X, y):
    assert tf.is_categorical_ is None and sk.is_categorical_ is None  # probe_categorical_features: the rest


ATTRIBUTE_CHECKS = {name[len("attr_"):]: check for name, check in globals().items() if name.startswith("attr_")}
