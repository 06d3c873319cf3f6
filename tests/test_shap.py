"""Exact TreeSHAP (cpp/model/shap.*, issue #24): contributions add up to the raw score for every model
kind, equal Shapley values computed by enumerating every coalition, match the ``shap`` package,
and are the same at any thread count; X is checked as ``predict`` checks it."""

import itertools
import math

import numpy as np
import pytest
from _reference import goes_left, tree_slice

import treeforge as tf
from treeforge.ensemble._base import validate_predict_data
from treeforge.inspection import shap_values


def make_data(n_rows=600, n_features=6, seed=0, missing=0.1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_features))
    score = X[:, 0] + X[:, 1] * X[:, 2] + 0.5 * np.sin(3 * X[:, 3])
    if missing:
        X[rng.random(X.shape) < missing] = np.nan
    return X, score, rng


def classes_of(score, n_classes):
    return np.digitize(score, np.quantile(score, np.linspace(0, 1, n_classes + 1)[1:-1]))


def raw_score(estimator, X):
    """What the contributions add up to: decision_function where there is one, else the core's margin."""
    if hasattr(estimator, "decision_function"):
        return estimator.decision_function(X)
    margin = estimator._model.predict_margin(validate_predict_data(estimator, X), 1)
    return margin[:, 0] if margin.shape[1] == 1 else margin


def assert_adds_up(estimator, X):
    contributions = estimator.predict_contributions(X)
    total = contributions.sum(axis=-1)
    expected = raw_score(estimator, X)
    assert total.shape == expected.shape
    scale = max(1.0, float(np.max(np.abs(expected))))
    np.testing.assert_allclose(total, expected, rtol=1e-9, atol=1e-9 * scale)
    assert np.all(contributions[..., -1] == contributions[:1, ..., -1])  # one expected value
    return contributions


# --------------------------------------------------------------------------------------------
# Additivity
# --------------------------------------------------------------------------------------------


def test_boosting_regression_adds_up_with_missing_values():
    X, score, rng = make_data()
    model = tf.HistGradientBoostingRegressor(max_iter=40, random_state=0).fit(X, score + rng.normal(size=len(X)))
    contributions = assert_adds_up(model, X)
    assert contributions.shape == (len(X), X.shape[1] + 1)
    np.testing.assert_allclose(contributions.sum(axis=1), model.predict(X), rtol=1e-9, atol=1e-9)


def test_boosting_poisson_adds_up_to_the_log_of_the_prediction():
    X, score, rng = make_data()
    model = tf.HistGradientBoostingRegressor(loss="poisson", max_iter=20).fit(X, rng.poisson(np.exp(score / 3)))
    np.testing.assert_allclose(np.exp(assert_adds_up(model, X).sum(axis=1)), model.predict(X), rtol=1e-9)


@pytest.mark.parametrize("n_classes", [2, 4])
def test_boosting_classification_adds_up_per_class(n_classes):
    X, score, _ = make_data()
    model = tf.HistGradientBoostingClassifier(max_iter=15, random_state=0).fit(X, classes_of(score, n_classes))
    contributions = assert_adds_up(model, X)
    assert contributions.shape == ((len(X), X.shape[1] + 1) if n_classes == 2 else (len(X), n_classes, X.shape[1] + 1))


def categorical_frame(n_rows=800, seed=1):
    pd = pytest.importorskip("pandas")
    X, score, rng = make_data(n_rows, 4, seed)
    letters = np.array(list("abcdefghij"))
    city = rng.integers(0, 10, n_rows)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    frame["city"] = pd.Categorical(letters[city], categories=list(letters))
    frame.loc[rng.random(n_rows) < 0.05, "city"] = None
    effect = np.array([2.0, -1.0, 0.5, 3.0, -2.0, 0.0, 1.0, -3.0, 2.5, -0.5])
    return frame, score + effect[city]


def test_categorical_feature_and_category_order_of_the_rows():
    frame, y = categorical_frame()
    model = tf.HistGradientBoostingRegressor(max_iter=30, max_cat_to_onehot=2, random_state=0).fit(frame, y)
    assert any(model._model.to_arrays()["split_kind"] == 1), "the model should hold category-set splits"
    contributions = assert_adds_up(model, frame)
    # Categories are matched by value: the same rows with the categories listed in another order.
    shuffled = frame.copy()
    shuffled["city"] = shuffled["city"].cat.reorder_categories(list("jihgfedcba"))
    np.testing.assert_array_equal(model.predict_contributions(shuffled), contributions)


def test_forests_add_up():
    X, score, rng = make_data()
    regressor = tf.RandomForestRegressor(n_estimators=15, max_depth=8, random_state=0).fit(X, score)
    np.testing.assert_allclose(assert_adds_up(regressor, X).sum(axis=1), regressor.predict(X), rtol=1e-9, atol=1e-12)
    classifier = tf.RandomForestClassifier(n_estimators=10, max_depth=6, random_state=0).fit(X, classes_of(score, 3))
    contributions = assert_adds_up(classifier, X)
    assert contributions.shape == (len(X), 3, X.shape[1] + 1)
    np.testing.assert_allclose(contributions.sum(axis=-1), classifier.predict_proba(X), rtol=1e-9, atol=1e-12)


def test_trees_far_deeper_than_the_features():
    # Paths hold one element per distinct feature, so a walk's space is bounded by the features.
    rng = np.random.default_rng(5)
    X = rng.normal(size=(3000, 2))
    y = np.sin(4 * X[:, 0]) + rng.normal(size=3000)
    forest = tf.RandomForestRegressor(n_estimators=3, random_state=0).fit(X, y)
    assert forest.trees_to_dataframe()["depth"].max() > 10
    assert_adds_up(forest, X)
    arrays = forest._model.to_arrays()
    for x in X[:3]:
        np.testing.assert_allclose(forest._model.shap_contributions(x[None], 1)[0], brute_force_shapley(arrays, x),
                                   rtol=1e-9, atol=1e-9)
    pairs = forest._shap_values(X[:100], interactions=True)
    np.testing.assert_allclose(pairs.sum(axis=3), forest._shap_values(X[:100]), rtol=1e-9, atol=1e-12)


def test_quadrature_equals_the_path_algorithm():
    # Contributions are computed by quadrature; Lundberg et al.'s Algorithm 2 is the second opinion.
    X, score, rng = make_data()
    X_missing = X.copy()
    X_missing[rng.random(X.shape) < 0.1] = np.nan
    models = [
        tf.HistGradientBoostingRegressor(max_iter=15, max_leaf_nodes=63, min_samples_leaf=2).fit(X_missing, score),
        tf.HistGradientBoostingClassifier(max_iter=8, min_samples_leaf=2).fit(X, classes_of(score, 3)),
        tf.RandomForestClassifier(n_estimators=5, random_state=0).fit(X, classes_of(score, 3)),  # 3 values a leaf
        tf.RandomForestRegressor(n_estimators=5, random_state=0).fit(X_missing, score),  # deep, repeated features
    ]
    for model in models:
        fast = model._model.shap_contributions(X_missing[:100], 1)
        reference = tf._core._testing.shap_contributions_by_paths(model._model, X_missing[:100], 1)
        np.testing.assert_allclose(fast, reference, rtol=1e-9, atol=1e-10 * np.abs(reference).max())


@pytest.mark.parametrize("n_classes", [2, 3])
def test_adaboost_samme_adds_up_to_its_decision_function(n_classes):
    X, score, _ = make_data(missing=0.0)
    model = tf.AdaBoostClassifier(n_estimators=8, random_state=0).fit(X, classes_of(score, n_classes))
    assert_adds_up(model, X)
    pairs = model._shap_values(X[:50], interactions=True).sum(axis=(2, 3))
    np.testing.assert_allclose(pairs.reshape(model.decision_function(X[:50]).shape), model.decision_function(X[:50]),
                               rtol=1e-9, atol=1e-9)


def test_adaboost_r2_and_user_estimators_are_refused():
    from sklearn.tree import DecisionTreeClassifier

    X, score, _ = make_data(missing=0.0)
    r2 = tf.AdaBoostRegressor(n_estimators=5, random_state=0).fit(X, score)
    with pytest.raises(ValueError, match="weighted median"):
        r2.predict_contributions(X)
    with pytest.raises(ValueError, match="weighted median"):
        shap_values(r2, X)
    user = tf.AdaBoostClassifier(DecisionTreeClassifier(max_depth=2), n_estimators=3).fit(X, score > 0)
    with pytest.raises(ValueError, match="default trees"):
        user.predict_contributions(X)


# --------------------------------------------------------------------------------------------
# Brute force: Shapley values over every coalition
# --------------------------------------------------------------------------------------------


def conditional_expectation(arrays, tree, x, present, node=0):
    """(leaf_dim,) path-dependent E[tree | features in ``present`` fixed to x]: a split on a present
    feature follows x's branch, any other split averages its children weighted by their cover."""
    lo, _ = tree_slice(arrays, tree)
    k, dim = lo + node, int(arrays["leaf_dim"])
    feature = int(arrays["feature"][k])
    if feature < 0:
        return np.asarray(arrays["value"][k * dim:(k + 1) * dim], dtype=np.float64)
    left, right = int(arrays["left"][k]), int(arrays["right"][k])
    if feature in present:
        child = left if goes_left(arrays, k, x[feature]) else right
        return conditional_expectation(arrays, tree, x, present, child)
    cover = arrays["cover"]
    fraction = lambda child: cover[lo + child] / cover[k] if cover[k] > 0 else 0.5  # noqa: E731
    return (fraction(left) * conditional_expectation(arrays, tree, x, present, left)
            + fraction(right) * conditional_expectation(arrays, tree, x, present, right))


def coalition_value(arrays, x, present):
    """(n_outputs,) the model's margin with the features outside ``present`` integrated out."""
    n_outputs, dim = int(arrays["n_outputs"]), int(arrays["leaf_dim"])
    n_trees = len(arrays["tree_offsets"]) - 1
    value = np.array(arrays["base_score"], dtype=np.float64)
    for t in range(n_trees):
        e = conditional_expectation(arrays, t, x, present)
        if dim == 1:
            value[t % n_outputs] += e[0]
        else:
            value += e
    return value / n_trees if arrays["aggregation"] == "mean" else value


def brute_force_shapley(arrays, x):
    """(n_outputs, n_features + 1): Shapley values by enumerating every coalition, v(empty) last."""
    n_features = int(arrays["n_features"])
    values = {S: coalition_value(arrays, x, set(S))
              for r in range(n_features + 1) for S in itertools.combinations(range(n_features), r)}
    phi = np.zeros((len(values[()]), n_features + 1))
    for S, v in values.items():
        if len(S) == n_features:
            continue
        weight = math.factorial(len(S)) * math.factorial(n_features - len(S) - 1) / math.factorial(n_features)
        for i in set(range(n_features)) - set(S):
            phi[:, i] += weight * (values[tuple(sorted(S + (i,)))] - v)
    phi[:, -1] = values[()]
    return phi


def small_models():
    X, score, rng = make_data(400, 8, seed=3, missing=0.15)
    frame, y_frame = categorical_frame(300, seed=4)
    return [
        (tf.HistGradientBoostingRegressor(max_iter=4, max_depth=4, min_samples_leaf=5), X, score),
        (tf.HistGradientBoostingClassifier(max_iter=3, max_depth=3, min_samples_leaf=5), X, classes_of(score, 3)),
        (tf.RandomForestClassifier(n_estimators=3, max_depth=4, random_state=0), X, classes_of(score, 2)),
        (tf.RandomForestRegressor(n_estimators=3, max_depth=4, random_state=0), X, score),
        (tf.AdaBoostClassifier(n_estimators=3, random_state=0), X[:, :6], classes_of(score, 3)),
        (tf.HistGradientBoostingRegressor(max_iter=4, max_depth=4, max_cat_to_onehot=2), frame, y_frame),
    ]


def fitted_small_model(case, n_rows):
    """(model arrays, the validated first n_rows of X, the core model) of small model ``case``, fitted."""
    model, X, y = small_models()[case]
    model.fit(X, y)
    codes = validate_predict_data(model, X[:n_rows] if isinstance(X, np.ndarray) else X.iloc[:n_rows])
    return model._model.to_arrays(), codes, model._model


@pytest.mark.parametrize("case", range(6))
def test_equal_to_shapley_values_over_every_coalition(case):
    arrays, codes, core = fitted_small_model(case, 6)
    contributions = core.shap_contributions(codes, 1)
    for i in range(len(codes)):
        np.testing.assert_allclose(contributions[i], brute_force_shapley(arrays, codes[i]), rtol=1e-9, atol=1e-9)


def brute_force_interactions(arrays, x):
    """(n_outputs, n_features + 1, n_features + 1): the Shapley interaction index of every pair by
    enumerating coalitions, the diagonal each feature's Shapley value less its interactions."""
    n_features = int(arrays["n_features"])
    values = {S: coalition_value(arrays, x, set(S))
              for r in range(n_features + 1) for S in itertools.combinations(range(n_features), r)}
    out = np.zeros((len(values[()]), n_features + 1, n_features + 1))
    for i, j in itertools.permutations(range(n_features), 2):
        rest = [f for f in range(n_features) if f not in (i, j)]
        for r in range(len(rest) + 1):
            weight = math.factorial(r) * math.factorial(n_features - r - 2) / (2 * math.factorial(n_features - 1))
            for S in itertools.combinations(rest, r):
                with_i, with_j, both = (tuple(sorted(S + extra)) for extra in ((i,), (j,), (i, j)))
                out[:, i, j] += weight * (values[both] - values[with_i] - values[with_j] + values[S])
    phi = brute_force_shapley(arrays, x)
    for i in range(n_features):
        out[:, i, i] = phi[:, i] - (out[:, i, :n_features].sum(axis=1) - out[:, i, i])
    out[:, -1, -1] = values[()]
    return out


@pytest.mark.parametrize("case", range(6))
def test_interactions_equal_the_shapley_interaction_index(case):
    arrays, codes, core = fitted_small_model(case, 3)
    interactions = core.shap_interactions(codes, 1)
    for i in range(len(codes)):
        np.testing.assert_allclose(interactions[i], brute_force_interactions(arrays, codes[i]), rtol=1e-9, atol=1e-9)


def test_interactions_are_symmetric_and_sum_to_the_contributions():
    frame, y = categorical_frame()
    model = tf.HistGradientBoostingClassifier(max_iter=10, max_cat_to_onehot=2).fit(frame, classes_of(y, 3))
    interactions = model._shap_values(frame, interactions=True)
    contributions = model._shap_values(frame)
    np.testing.assert_allclose(interactions, np.swapaxes(interactions, 2, 3), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(interactions.sum(axis=3), contributions, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(interactions.sum(axis=(2, 3)), model.decision_function(frame), rtol=1e-9, atol=1e-9)
    one = model.set_params(n_jobs=1)._shap_values(frame, interactions=True)
    assert one.tobytes() == model.set_params(n_jobs=2)._shap_values(frame, interactions=True).tobytes()


# --------------------------------------------------------------------------------------------
# Threads, input checks, the shap layout
# --------------------------------------------------------------------------------------------


def test_same_values_at_any_thread_count():
    X, score, _ = make_data(3000)
    model = tf.HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(X, classes_of(score, 3))
    one = model.set_params(n_jobs=1).predict_contributions(X)
    two = model.set_params(n_jobs=2).predict_contributions(X)
    assert one.tobytes() == two.tobytes()
    np.testing.assert_array_equal(model.predict_contributions(X.astype(np.float32)),
                                  model._model.shap_contributions(X.astype(np.float32), 2))


def test_bad_input_fails_as_predict_fails():
    pd = pytest.importorskip("pandas")
    X, score, _ = make_data()
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    model = tf.HistGradientBoostingRegressor(max_iter=3).fit(frame, score)
    renamed = frame.rename(columns={"x0": "other"})
    for bad in (X[:, :4], renamed):
        with pytest.raises(ValueError) as from_predict:
            model.predict(bad)
        with pytest.raises(ValueError) as from_contributions:
            model.predict_contributions(bad)
        assert str(from_contributions.value) == str(from_predict.value)


def test_shap_values_layout():
    X, score, _ = make_data()
    regressor = tf.HistGradientBoostingRegressor(max_iter=5).fit(X, score)
    values, expected = shap_values(regressor, X)
    assert values.shape == X.shape and isinstance(expected, float)
    np.testing.assert_allclose(values.sum(axis=1) + expected, regressor.predict(X), rtol=1e-9, atol=1e-9)
    forest = tf.RandomForestClassifier(n_estimators=5, max_depth=4).fit(X, score > 0)
    values, expected = shap_values(forest, X)
    assert values.shape == X.shape + (2,) and expected.shape == (2,)
    np.testing.assert_allclose(values.sum(axis=1) + expected, forest.predict_proba(X), rtol=1e-9, atol=1e-12)
    pairs, pair_expected = shap_values(forest, X[:50], interactions=True)
    assert pairs.shape == (50, X.shape[1], X.shape[1], 2)
    np.testing.assert_array_equal(pair_expected, expected)
    np.testing.assert_allclose(pairs.sum(axis=2), values[:50], rtol=1e-9, atol=1e-12)
    with pytest.raises(TypeError, match="not a treeforge estimator"):
        shap_values(object(), X)


def shap_tree_dicts(model):
    """The trees of a numeric, one-output model as the dicts ``shap.TreeExplainer`` accepts."""
    arrays = model._model.to_arrays()
    trees = []
    for t in range(len(arrays["tree_offsets"]) - 1):
        lo, hi = tree_slice(arrays, t)
        left, right = np.asarray(arrays["left"][lo:hi]), np.asarray(arrays["right"][lo:hi])
        default = np.where(np.asarray(arrays["default_left"][lo:hi]).astype(bool), left, right)
        trees.append(dict(children_left=left, children_right=right, children_default=default,
                          features=np.asarray(arrays["feature"][lo:hi]), thresholds=np.asarray(arrays["threshold"][lo:hi]),
                          values=np.asarray(arrays["value"][lo:hi]).reshape(-1, 1),
                          node_sample_weight=np.asarray(arrays["cover"][lo:hi])))
    return {"trees": trees, "base_offset": float(arrays["base_score"][0])}


def test_agrees_with_the_shap_package():
    shap = pytest.importorskip("shap")
    X, score, _ = make_data(2000, missing=0.1)
    model = tf.HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(X, score > 0)
    explainer = shap.TreeExplainer(shap_tree_dicts(model))
    values, expected = shap_values(model, X[:300])
    np.testing.assert_allclose(values, explainer.shap_values(X[:300]), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(expected, np.ravel(explainer.expected_value)[0], rtol=1e-6, atol=1e-6)
    pairs, _ = shap_values(model, X[:40], interactions=True)
    np.testing.assert_allclose(pairs, explainer.shap_interaction_values(X[:40]), rtol=1e-6, atol=1e-6)
