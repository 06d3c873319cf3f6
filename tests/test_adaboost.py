"""AdaBoost: the C++ rounds against the SAMME and R2 formulas recomputed in NumPy, scikit-learn parity, early stops, staging, determinism and model files."""

import pickle

import numpy as np
import pytest
from _peer_scores import CLASSIFICATION_DATASETS, REGRESSION_DATASETS, mean_test_scores
from sklearn.datasets import make_classification
from sklearn.metrics import accuracy_score, r2_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.utils.extmath import softmax

import treeforge
from treeforge import AdaBoostClassifier, AdaBoostRegressor


def _tree_outputs(model, X):
    """(n_trees, n_samples, n_outputs): each tree's own output (SAMME vote or R2 value)."""
    return np.stack([model._model.predict_margin(X, 1, t, t + 1) for t in range(model._model.n_trees)])


# ------------------------------------------------------------------------------ the rounds, recomputed


@pytest.mark.parametrize("sampling", ["reweight", "resample"])
@pytest.mark.parametrize("data", ["binary_data", "multiclass_data"])
def test_samme_rounds_follow_the_formulas(sampling, data, request):
    """From each tree's predictions alone, NumPy rebuilds D_m, e_m and alpha_m of every C++ round."""
    X, y = request.getfixturevalue(data)
    sample_weight = np.random.RandomState(0).uniform(0.5, 1.5, size=y.size)
    sample_weight[:10] = 0.0
    clf = AdaBoostClassifier(n_estimators=12, learning_rate=0.7, sampling=sampling, random_state=0)
    clf.fit(X, y, sample_weight=sample_weight)
    k = clf.n_classes_
    votes = _tree_outputs(clf, X)
    n_trees = votes.shape[0]
    assert n_trees == 12
    D = sample_weight / sample_weight.sum()
    eps = np.finfo(np.float64).eps
    for m in range(n_trees):
        D = np.where(sample_weight == 0, 0.0, np.maximum(D, eps))
        incorrect = np.argmax(votes[m], axis=1) != y
        error = np.average(incorrect, weights=D)
        alpha = 0.7 * (np.log((1 - error) / error) + np.log(k - 1))
        assert clf.estimator_errors_[m] == pytest.approx(error, rel=1e-10)
        assert clf.estimator_weights_[m] == pytest.approx(alpha, rel=1e-10)
        # The tree's vote: alpha at its class, -alpha / (K - 1) elsewhere.
        np.testing.assert_allclose(np.sort(np.unique(votes[m])), [-alpha / (k - 1), alpha], rtol=1e-12)
        D = np.where(incorrect & (D > 0), D * np.exp(alpha), D)
        D /= D.sum()
    assert np.all(D[:10] == 0)


@pytest.mark.parametrize("loss", ["linear", "square", "exponential"])
def test_r2_rounds_follow_the_formulas(loss, regression_data):
    X, y = regression_data
    reg = AdaBoostRegressor(n_estimators=10, learning_rate=0.5, loss=loss, random_state=0).fit(X, y)
    predictions = _tree_outputs(reg, X)[:, :, 0]
    D = np.full(y.size, 1.0 / y.size)
    for m in range(predictions.shape[0]):
        error = np.abs(predictions[m] - y)
        error /= error.max()
        error = {"linear": error, "square": error ** 2, "exponential": 1 - np.exp(-error)}[loss]
        estimator_error = np.sum(D * error)
        beta = estimator_error / (1 - estimator_error)
        assert reg.estimator_errors_[m] == pytest.approx(estimator_error, rel=1e-10)
        assert reg.estimator_weights_[m] == pytest.approx(0.5 * np.log(1 / beta), rel=1e-10)
        D = D * beta ** ((1 - error) * 0.5)
        D /= D.sum()
    # Predictions: the weighted median of the trees (scikit-learn's _get_median_predict).
    order = np.argsort(predictions.T, axis=1)
    cdf = np.cumsum(reg.estimator_weights_[:predictions.shape[0]][order], axis=1)
    median = order[np.arange(y.size), np.argmax(cdf >= 0.5 * cdf[:, -1:], axis=1)]
    np.testing.assert_array_equal(reg.predict(X), predictions.T[np.arange(y.size), median])


def test_samme_predictions_follow_the_votes(multiclass_data, binary_data):
    for X, y in (multiclass_data, binary_data):
        clf = AdaBoostClassifier(n_estimators=8, random_state=0).fit(X, y)
        k = clf.n_classes_
        votes = _tree_outputs(clf, X).sum(axis=0) / clf.estimator_weights_.sum()
        decision = votes if k > 2 else votes[:, 1] - votes[:, 0]
        np.testing.assert_allclose(clf.decision_function(X), decision, rtol=1e-12, atol=1e-12)
        scaled = decision / (k - 1) if k > 2 else np.column_stack([-decision, decision]) / 2
        np.testing.assert_allclose(clf.predict_proba(X), softmax(scaled), rtol=1e-12)
        np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), clf.predict_proba(X), rtol=1e-12)
        stages = list(clf.staged_decision_function(X))
        assert len(stages) == 8
        np.testing.assert_allclose(stages[-1], clf.decision_function(X), rtol=1e-12, atol=1e-14)
        np.testing.assert_array_equal(list(clf.staged_predict(X))[-1], clf.predict(X))
        np.testing.assert_allclose(list(clf.staged_predict_proba(X))[-1], clf.predict_proba(X), rtol=1e-12)
        scores = list(clf.staged_score(X, y))
        assert len(scores) == 8 and scores[-1] == clf.score(X, y)


def test_r2_staged_predictions(regression_data):
    X, y = regression_data
    reg = AdaBoostRegressor(n_estimators=6, random_state=0).fit(X, y)
    stages = list(reg.staged_predict(X))
    assert len(stages) == 6
    np.testing.assert_array_equal(stages[0], _tree_outputs(reg, X)[0, :, 0])
    np.testing.assert_array_equal(stages[-1], reg.predict(X))
    assert list(reg.staged_score(X, y))[-1] == reg.score(X, y)


def test_feature_importances_are_weighted_tree_importances(multiclass_data):
    X, y = multiclass_data
    clf = AdaBoostClassifier(n_estimators=10, random_state=0).fit(X, y)
    per_tree = clf._model.tree_feature_importances()
    expected = clf.estimator_weights_ @ per_tree / clf.estimator_weights_.sum()
    np.testing.assert_allclose(clf.feature_importances_, expected)
    assert clf.feature_importances_.sum() == pytest.approx(1.0)
    # Stumps: each tree puts all its importance on its one split feature.
    assert np.all(np.isin(per_tree, [0.0, 1.0]))


# ------------------------------------------------------------------------------ scikit-learn parity

@pytest.mark.parametrize("name", sorted(CLASSIFICATION_DATASETS))
def test_classifier_accuracy_matches_scikit_learn(name):
    """Mean test accuracy over 3 splits within 0.03 of scikit-learn's (default stumps, 50 rounds)."""
    from sklearn.ensemble import AdaBoostClassifier as Reference

    X, y = CLASSIFICATION_DATASETS[name]()
    ours, theirs = mean_test_scores(AdaBoostClassifier, Reference, X, y, accuracy_score)
    assert ours >= theirs - 0.03, (ours, theirs)


@pytest.mark.parametrize("name", sorted(REGRESSION_DATASETS))
def test_regressor_r2_matches_scikit_learn(name):
    """Mean test R^2 over 3 splits within 0.05 of scikit-learn's (depth-3 trees, 50 rounds)."""
    from sklearn.ensemble import AdaBoostRegressor as Reference

    X, y = REGRESSION_DATASETS[name]()
    ours, theirs = mean_test_scores(AdaBoostRegressor, Reference, X, y, r2_score)
    assert ours >= theirs - 0.05, (ours, theirs)


def test_user_estimator_loop_equals_scikit_learn(multiclass_data):
    """With a scikit-learn tree in ``estimator`` the Python loop is scikit-learn's, seeds included."""
    from sklearn.ensemble import AdaBoostClassifier as Reference

    X, y = multiclass_data
    base = DecisionTreeClassifier(max_depth=2, max_features=3)
    ours = AdaBoostClassifier(base, n_estimators=15, learning_rate=0.8, random_state=3).fit(X, y)
    theirs = Reference(base, n_estimators=15, learning_rate=0.8, random_state=3).fit(X, y)
    np.testing.assert_array_equal(ours.estimator_weights_, theirs.estimator_weights_)
    np.testing.assert_array_equal(ours.estimator_errors_, theirs.estimator_errors_)
    np.testing.assert_allclose(ours.decision_function(X), theirs.decision_function(X), rtol=1e-12)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-12)
    np.testing.assert_allclose(ours.feature_importances_, theirs.feature_importances_, rtol=1e-12)
    assert len(ours.estimators_) == 15


@pytest.mark.parametrize("loss", ["linear", "square", "exponential"])
def test_user_estimator_r2_loop_equals_scikit_learn(loss, regression_data):
    """AdaBoost.R2 around a user's tree draws scikit-learn's weighted resamples (its
    ``random_state.choice``, in draw order), so every round and prediction is scikit-learn's."""
    from sklearn.ensemble import AdaBoostRegressor as Reference

    X, y = regression_data
    base = DecisionTreeRegressor(max_depth=3, max_features=4)
    ours = AdaBoostRegressor(base, n_estimators=12, learning_rate=0.7, loss=loss, random_state=5).fit(X, y)
    theirs = Reference(base, n_estimators=12, learning_rate=0.7, loss=loss, random_state=5).fit(X, y)
    assert len(ours.estimators_) == len(theirs.estimators_)
    np.testing.assert_array_equal(ours.estimator_weights_, theirs.estimator_weights_)
    np.testing.assert_array_equal(ours.estimator_errors_, theirs.estimator_errors_)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    for a, b in zip(ours.staged_predict(X), theirs.staged_predict(X)):
        np.testing.assert_array_equal(a, b)


def test_user_estimators_without_weights_are_resampled(binary_data, regression_data):
    X, y = binary_data
    clf = AdaBoostClassifier(KNeighborsClassifier(n_neighbors=15), n_estimators=5, random_state=0).fit(X, y)
    assert len(clf.estimators_) >= 1 and clf.score(X, y) > 0.8
    X, y = regression_data
    reg = AdaBoostRegressor(DecisionTreeRegressor(max_depth=3), n_estimators=8, random_state=0).fit(X, y)
    assert reg.score(X, y) > 0.7
    assert [s.shape for s in reg.staged_predict(X[:5])] == [(5,)] * len(reg.estimators_)


# ------------------------------------------------------------------------------ early stops


def test_perfect_round_stops_like_scikit_learn():
    from sklearn.ensemble import AdaBoostClassifier as Reference

    X = np.linspace(-1, 1, 40).reshape(-1, 1)
    y = (X[:, 0] > 0.1).astype(int)
    ours, theirs = (cls(n_estimators=10, random_state=0).fit(X, y) for cls in (AdaBoostClassifier, Reference))
    np.testing.assert_array_equal(ours.estimator_weights_, theirs.estimator_weights_)  # [1, 0, ..., 0]
    np.testing.assert_array_equal(ours.estimator_errors_, theirs.estimator_errors_)  # [0, 1, ..., 1]
    assert ours._model.n_trees == 1
    np.testing.assert_array_equal(ours.predict(X), y)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X))


def test_first_round_worse_than_chance_raises():
    # Nothing to split on: the stump predicts class 0 for all, error exactly 0.5 (16 rows: D is exact).
    X = np.zeros((16, 2))
    y = np.repeat([0, 1], 8)
    with pytest.raises(ValueError, match="worse than random"):
        AdaBoostClassifier(n_estimators=3).fit(X, y)


@pytest.mark.parametrize("y,n_weighted", [
    (np.r_[np.zeros(15), np.full(15, 100.0)], 0),  # the first tree predicts ~50 for all: error ~1, kept with weight 0
    (np.r_[np.zeros(27), np.full(3, 100.0)], 1),   # a good first tree, then a round with error >= 0.5, dropped
])
def test_r2_stops_on_a_round_worse_than_chance(y, n_weighted):
    from sklearn.ensemble import AdaBoostRegressor as Reference

    X = np.zeros((30, 1))  # every tree predicts the mean of its bootstrap sample
    reg = AdaBoostRegressor(n_estimators=5, random_state=0).fit(X, y)
    reference = Reference(n_estimators=5, random_state=0).fit(X, y)
    assert reg._model.n_trees == len(reference.estimators_) == 1
    assert np.count_nonzero(reg.estimator_weights_) == np.count_nonzero(reference.estimator_weights_) == n_weighted
    assert np.all(np.isfinite(reg.predict(X)))


# ------------------------------------------------------------------------------ determinism, files


@pytest.mark.parametrize("Estimator,data", [(AdaBoostClassifier, "multiclass_data"),
                                            (AdaBoostRegressor, "regression_data")])
def test_same_model_for_any_n_jobs(Estimator, data, request, assert_same_model):
    X, y = request.getfixturevalue(data)
    extra = {"sampling": "resample"} if Estimator is AdaBoostClassifier else {}
    one, two = (Estimator(n_estimators=8, random_state=2, n_jobs=n_jobs, **extra).fit(X, y) for n_jobs in (1, 2))
    assert_same_model(one, two)
    np.testing.assert_array_equal(one.estimator_weights_, two.estimator_weights_)
    other = Estimator(n_estimators=8, random_state=3, **extra).fit(X, y)
    assert not np.array_equal(other.estimator_weights_, one.estimator_weights_)


@pytest.mark.parametrize("Estimator,data,method", [
    (AdaBoostClassifier, "multiclass_data", "predict_proba"),
    (AdaBoostRegressor, "regression_data", "predict"),
])
def test_model_file_and_pickle_round_trips(Estimator, data, method, request, tmp_path, assert_same_model):
    X, y = request.getfixturevalue(data)
    model = Estimator(n_estimators=7, random_state=0).fit(X, y)
    model.save_model(tmp_path / "ada.json")
    for restored in (treeforge.load_model(tmp_path / "ada.json"), pickle.loads(pickle.dumps(model))):
        assert type(restored) is Estimator and restored.get_params() == model.get_params()
        assert_same_model(restored, model)
        np.testing.assert_array_equal(getattr(restored, method)(X), getattr(model, method)(X))
        np.testing.assert_array_equal(restored.estimator_weights_, model.estimator_weights_)
        np.testing.assert_array_equal(list(restored.staged_predict(X))[2], list(model.staged_predict(X))[2])


def test_user_estimator_models_pickle_but_do_not_save(binary_data, tmp_path):
    X, y = binary_data
    clf = AdaBoostClassifier(DecisionTreeClassifier(max_depth=1), n_estimators=4, random_state=0).fit(X, y)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(clf)).predict_proba(X), clf.predict_proba(X))
    with pytest.raises(TypeError, match="user estimator"):
        clf.save_model(tmp_path / "m.json")


def test_hand_edited_adaboost_file_is_rejected(regression_data, tmp_path):
    import json

    X, y = regression_data
    AdaBoostRegressor(n_estimators=3, random_state=0).fit(X, y).save_model(tmp_path / "m.json")
    document = json.loads((tmp_path / "m.json").read_text())
    document["model"]["tree_weight"]["__ndarray__"]["data"][0] = -1.0
    document.pop("checksum", None)  # edited on purpose: validated without it
    (tmp_path / "m.json").write_text(json.dumps(document))
    with pytest.raises(ValueError, match="tree_weight"):
        treeforge.load_model(tmp_path / "m.json")
    document["model"]["tree_weight"]["__ndarray__"]["data"][0] = 1.0
    document["model"]["aggregation"] = "sum"
    document.pop("checksum", None)  # edited on purpose: validated without it
    (tmp_path / "m.json").write_text(json.dumps(document))
    with pytest.raises(ValueError, match="weighted_median"):
        treeforge.load_model(tmp_path / "m.json")


def test_rounds_in_chunks_are_the_rounds_of_one_call():
    """fit_rounds(k) called until boosting ends grows the model fit() grows, for any k."""
    from treeforge import _core

    X, y = make_classification(300, n_features=6, n_informative=4, n_classes=3, random_state=0)
    mapper = _core.BinMapper(255, 200_000, 0).fit(X)
    binned = mapper.transform(X)

    def trainer():
        config = _core.AdaBoostConfig()
        config.n_classes, config.n_estimators, config.max_depth, config.seed = 3, 23, 2, 5
        return _core.AdaBoostTrainer(config, mapper, binned, classes=y.astype(np.int32))

    whole = trainer()
    whole.fit()
    for k in (1, 4, 50):
        chunked = trainer()
        while chunked.fit_rounds(k):
            pass
        for name, value in whole.model().to_arrays().items():
            np.testing.assert_array_equal(np.asarray(chunked.model().to_arrays()[name]), np.asarray(value), err_msg=name)
        np.testing.assert_array_equal(chunked.estimator_weights, whole.estimator_weights)


CTRL_C_CHILD = """
import signal, sys
import numpy as np
from sklearn.datasets import make_classification
from treeforge import AdaBoostClassifier
X, y = make_classification(5000, n_features=8, random_state=1)
estimator = AdaBoostClassifier(n_estimators=5, random_state=0).fit(X, y)
before = estimator.predict_proba(X)
estimator.set_params(n_estimators=2_000_000)  # hundreds of seconds of rounds
signal.setitimer(signal.ITIMER_REAL, 0.5)
signal.signal(signal.SIGALRM, lambda *_: signal.raise_signal(signal.SIGINT))
try:
    estimator.fit(X, y)
except KeyboardInterrupt:
    unchanged = np.array_equal(estimator.predict_proba(X), before) and estimator.n_estimators == 2_000_000
    print("interrupted", "unchanged" if unchanged else "changed")
"""


def test_ctrl_c_stops_a_long_fit_and_keeps_the_previous_model():
    """SIGINT during a fit of two million rounds stops it (once the current ~50 ms call returns)
    and leaves the estimator as it was. Before, every round ran in one C++ call and the child
    would run for many minutes: the generous bound catches that hang, it times nothing."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", CTRL_C_CHILD], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["interrupted", "unchanged"], out.stdout
