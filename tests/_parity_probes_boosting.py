"""Behaviour probes of HistGradientBoosting*'s parameters: each checks what scikit-learn's page says the
parameter does, on treeforge, and where the page's promise is exact, on scikit-learn too (so the
probe reads the page as scikit-learn implements it). Used by tests/test_sklearn_parameter_parity.py.

A tree's leaves are seen through the public API: what one iteration adds to the training rows'
scores takes one value per leaf (``_sklearn_parity.stage_trees``).
"""

import numpy as np
import pandas as pd
from _sklearn_parity import (
    data_for,
    dataset,
    fit_both,
    is_classifier_name,
    leaves_of,
    margins,
    pair,
    printed,
    stage_trees,
    staged_margins,
    string_options,
)
from sklearn.metrics import accuracy_score, make_scorer, r2_score
from sklearn.utils.class_weight import compute_sample_weight


def probe_loss(name):
    """Every loss scikit-learn lists fits, and fits the data about as well as scikit-learn's."""
    sk_cls, _ = pair(name)
    X, y = dataset("positive") if not is_classifier_name(name) else data_for(name)
    for loss in string_options(sk_cls, "loss"):
        params = {"loss": loss, "max_iter": 30, **({"quantile": 0.5} if loss == "quantile" else {})}
        sk, tf = fit_both(name, X, y, **params)
        assert tf.score(X, y) >= sk.score(X, y) - 0.1, loss


def probe_quantile(name):
    """loss='quantile': the predictions are the asked quantile of y (its share of y below them)."""
    X, y = data_for(name)
    for q in (0.2, 0.8):
        for model in fit_both(name, X, y, loss="quantile", quantile=q, max_iter=60):
            assert abs(np.mean(y <= model.predict(X)) - q) < 0.06, (type(model).__module__, q)


def probe_learning_rate(name):
    """"Shrinks the contribution of each tree": after one iteration, score = baseline + rate * tree."""
    X, y = data_for(name)
    for model_cls in pair(name):
        scores = {rate: margins(model_cls(max_iter=1, learning_rate=rate).fit(X, y), X) for rate in (0.1, 0.3, 1.0)}
        slope_low = (scores[0.3] - scores[0.1]) / 0.2
        np.testing.assert_allclose((scores[1.0] - scores[0.1]) / 0.9, slope_low, rtol=1e-6, atol=1e-6)
        assert np.ptp(slope_low) > 0


def probe_max_iter(name):
    """Without early stopping, exactly max_iter iterations, one stage each."""
    X, y = data_for(name)
    for model in fit_both(name, X, y, max_iter=7, early_stopping=False):
        assert model.n_iter_ == 7 and len(staged_margins(model, X)) == 7


def _max_leaves_per_iteration(model, X):
    return max(len(leaves_of(values)) for values in stage_trees(model, X))


def probe_max_leaf_nodes(name):
    """No tree has more than max_leaf_nodes leaves (and the limit is reached)."""
    X, y = data_for(name)
    for model in fit_both(name, X, y, max_iter=5, max_leaf_nodes=3, min_samples_leaf=5):
        assert _max_leaves_per_iteration(model, X) == 3


def probe_max_depth(name):
    """Trees of depth at most max_depth: at most 2 ** max_depth leaves, reached with max_leaf_nodes=None."""
    X, y = data_for(name)
    for depth in (1, 2):
        for model in fit_both(name, X, y, max_iter=5, max_depth=depth, max_leaf_nodes=None, min_samples_leaf=5):
            assert _max_leaves_per_iteration(model, X) == 2 ** depth


def probe_min_samples_leaf(name):
    """Every leaf holds at least min_samples_leaf training rows."""
    X, y = data_for(name)
    for model in fit_both(name, X, y, max_iter=5, min_samples_leaf=45):
        for values in stage_trees(model, X):
            assert min(leaves_of(values).values()) >= 45


def probe_l2_regularization(name):
    """The leaf value is -G / (H + l2): with squared error, one stump at rate 1 adds
    sum(y - mean) / (n + l2) over each leaf's rows (the page's regularisation of the hessians)."""
    if is_classifier_name(name):
        X, y = data_for(name)
        for model in fit_both(name, X, y, max_iter=3, l2_regularization=1e4):
            assert np.ptp(margins(model, X)) < 0.1  # leaves shrunk to almost nothing
        return
    X, y = data_for(name)
    for model_cls in pair(name):
        for l2 in (0.0, 50.0):
            added = stage_trees(model_cls(max_iter=1, max_depth=1, learning_rate=1.0, l2_regularization=l2)
                                .fit(X, y), X)[0] - np.mean(y)
            for value in np.unique(np.round(added, 8)):
                rows = np.isclose(added, value, atol=1e-7)
                expected = np.sum(y[rows] - np.mean(y)) / (rows.sum() + l2)
                np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-6)


def probe_max_features(name):
    """A random share of the features is drawn at each split: with one feature per split, stumps
    also split on the features that matter less; with all of them, on the best one only."""
    X, y = data_for(name)
    _, tf_cls = pair(name)
    params = dict(max_iter=15, max_depth=1, learning_rate=0.05, random_state=0)
    best_only = tf_cls(max_features=1.0, **params).fit(X, y).feature_importances_
    drawn = tf_cls(max_features=0.2, **params).fit(X, y).feature_importances_
    assert np.count_nonzero(best_only) == 1 and np.count_nonzero(drawn) >= 3
    sk, tf = fit_both(name, X, y, max_features=0.4, max_iter=30, random_state=0)
    assert tf.score(X, y) >= sk.score(X, y) - 0.1


def probe_max_bins(name):
    """A feature gets at most max_bins bins: one feature, so at most max_bins distinct predictions."""
    X, y = data_for(name)
    for model in fit_both(name, X[:, :1], y, max_bins=4, max_iter=20, min_samples_leaf=1):
        assert len(np.unique(np.round(margins(model, X[:, :1]), 10))) <= 4


def _frame_with_category(name):
    X, y = data_for(name)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame["x0"] = pd.Categorical(np.digitize(X[:, 0], np.quantile(X[:, 0], [0.25, 0.5, 0.75])))
    return frame, y


def probe_categorical_features(name):
    """Every form of categorical_features picks the features scikit-learn's picks (is_categorical_),
    and a categorical feature is split by category."""
    frame, y = _frame_with_category(name)
    codes = frame.assign(x0=frame["x0"].cat.codes.astype(float))
    forms = [(frame, "from_dtype"), (frame, None), (codes, [0]), (codes, ["x0"]),
             (codes, [True, False, False, False, False])]
    for X, form in forms:
        sk, tf = fit_both(name, X, y, categorical_features=form, max_iter=5)
        assert (sk.is_categorical_ is None) == (tf.is_categorical_ is None), form
        if sk.is_categorical_ is not None:
            np.testing.assert_array_equal(sk.is_categorical_, tf.is_categorical_)
    sk, tf = fit_both(name, frame, y, max_iter=20)
    assert tf.score(frame, y) >= sk.score(frame, y) - 0.1


def _grid_along(X, feature, n=40):
    """Rows of X repeated with one feature swept over its range: (n_rows, n, n_features)."""
    grid = np.linspace(X[:, feature].min(), X[:, feature].max(), n)
    swept = np.repeat(X[:20, None, :], n, axis=1)
    swept[:, :, feature] = grid
    return swept


def assert_monotone(predict, X, feature, direction):
    """Predictions never move against ``direction`` as the feature grows, every other feature held."""
    swept = _grid_along(X, feature)
    values = predict(swept.reshape(-1, X.shape[1])).reshape(swept.shape[:2])
    assert np.all(direction * np.diff(values, axis=1) >= -1e-9)


def probe_monotonic_cst(name):
    """1: non-decreasing, -1: non-increasing in the feature (a list, or a dict by feature name);
    multiclass classification is refused, as scikit-learn's."""
    X, y = data_for(name)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    for data, cst in ((X, [1, -1, 0, 0, 0]), (frame, {"x0": 1, "x1": -1})):
        as_data = (lambda Z: Z) if data is X else (lambda Z: pd.DataFrame(Z, columns=frame.columns))
        for model in fit_both(name, data, y, monotonic_cst=cst, max_iter=20):
            assert_monotone(lambda Z: margins(model, as_data(Z)), X, 0, 1)
            assert_monotone(lambda Z: margins(model, as_data(Z)), X, 1, -1)
    if is_classifier_name(name):
        X3, y3 = data_for(name, multiclass=True)
        for model_cls in pair(name):
            try:
                model_cls(monotonic_cst=[1, 0, 0, 0, 0], max_iter=2).fit(X3, y3)
            except ValueError:
                continue
            raise AssertionError(f"{model_cls.__module__}: multiclass monotonic_cst accepted")


def _interaction(score, X, a, b):
    """f(x) - f(x with a moved) - f(x with b moved) + f(x with both moved): 0 when a and b never
    meet in a tree."""
    moved = X.copy()
    moved[:, a], moved[:, b] = X[::-1, a], X[::-1, b]
    only_a, only_b = X.copy(), X.copy()
    only_a[:, a], only_b[:, b] = moved[:, a], moved[:, b]
    return score(X) - score(only_a) - score(only_b) + score(moved)


def probe_interaction_cst(name):
    """Features of different groups never split in the same tree: the model is additive across
    groups ('no_interactions': across every feature); 'pairwise' allows pairs, as scikit-learn's."""
    X, y = data_for(name)
    y = y if is_classifier_name(name) else y + 20 * X[:, 0] * X[:, 1]  # an interaction to resist
    for cst, apart in (("no_interactions", (0, 1)), ([[0], [1, 2, 3, 4]], (0, 1)), ([[0, 1], [2, 3, 4]], (1, 2))):
        for model in fit_both(name, X, y, interaction_cst=cst, max_iter=20):
            np.testing.assert_allclose(_interaction(lambda Z: margins(model, Z), X, *apart), 0, atol=1e-8)
    sk, tf = fit_both(name, X, y, interaction_cst="pairwise", max_iter=20)
    assert tf.score(X, y) >= sk.score(X, y) - 0.1


def probe_warm_start(name):
    """A refit with more iterations keeps the iterations already fitted and adds the new ones."""
    X, y = data_for(name)
    for model_cls in pair(name):
        model = model_cls(max_iter=4, warm_start=True, early_stopping=False).fit(X, y)
        before = staged_margins(model, X)
        model.set_params(max_iter=7).fit(X, y)
        after = staged_margins(model, X)
        assert model.n_iter_ == 7 and len(after) == 7
        for a, b in zip(before, after):
            np.testing.assert_allclose(a, b, rtol=1e-12)


def probe_early_stopping(name):
    """'auto': on above 10,000 samples; True/False: on/off (do_early_stopping_ says which), with a
    validation score per iteration plus the first when on."""
    X, y = data_for(name)
    for setting in ("auto", True, False):
        sk, tf = fit_both(name, X, y, early_stopping=setting, max_iter=15, random_state=0)
        assert tf.do_early_stopping_ == sk.do_early_stopping_, setting
        n_scores = tf.n_iter_ + 1 if tf.do_early_stopping_ else 0
        assert tf.train_score_.shape == tf.validation_score_.shape == (n_scores,)


def probe_scoring(name):
    """The training score is the scorer on the staged predictions (no validation split: on all
    rows), the first entry that of the baseline; 'loss' is the negated loss."""
    X, y = data_for(name)
    metric = accuracy_score if is_classifier_name(name) else r2_score
    named = "accuracy" if is_classifier_name(name) else "r2"
    for scoring in (None, named, make_scorer(metric), "loss"):
        for model in fit_both(name, X, y, scoring=scoring, early_stopping=True, validation_fraction=None,
                              n_iter_no_change=50, max_iter=6):
            staged = list(model.staged_predict(X))
            if not isinstance(scoring, str) or scoring != "loss":
                expected = [metric(y, predicted) for predicted in staged]
                np.testing.assert_allclose(model.train_score_[1:], expected, rtol=1e-7)
            elif not is_classifier_name(name):  # half squared error, negated
                expected = [-0.5 * np.mean((y - predicted) ** 2) for predicted in staged]
                np.testing.assert_allclose(model.train_score_[1:], expected, rtol=1e-5)
            assert model.train_score_.shape == (7,) and model.validation_score_.shape == (0,)


def probe_validation_fraction(name):
    """A share (or a count) of the rows held out to score on; None scores on the training rows."""
    X, y = data_for(name)
    for fraction in (0.25, 75, None):
        sk, tf = fit_both(name, X, y, early_stopping=True, validation_fraction=fraction, max_iter=8,
                          n_iter_no_change=50, random_state=0)
        assert tf.validation_score_.shape == sk.validation_score_.shape, fraction


def probe_n_iter_no_change(name):
    """Stops when none of the last n_iter_no_change scores beats the one before them by tol: with
    a tol nothing can beat, after exactly n_iter_no_change iterations; with tol=0, later."""
    X, y = data_for(name)
    for tol, stops_at in ((1e10, 3), (0.0, None)):
        for model in fit_both(name, X, y, early_stopping=True, n_iter_no_change=3, tol=tol, max_iter=40,
                              validation_fraction=None):
            assert model.n_iter_ == stops_at if stops_at else model.n_iter_ > 3, (tol, model.n_iter_)


probe_tol = probe_n_iter_no_change

def probe_verbose(name):
    """verbose=0 prints nothing, verbose=1 prints progress."""
    X, y = data_for(name)
    _, tf_cls = pair(name)
    assert printed(lambda: tf_cls(max_iter=3, verbose=0).fit(X, y)) == ""
    assert printed(lambda: tf_cls(max_iter=3, verbose=1).fit(X, y)).strip()


def probe_random_state(name):
    """The same int gives the same model, another int another (feature draws), and a RandomState
    instance is accepted."""
    X, y = data_for(name)
    _, tf_cls = pair(name)
    fit = [margins(tf_cls(max_features=0.4, max_iter=10, random_state=seed).fit(X, y), X) for seed in (1, 1, 2)]
    np.testing.assert_array_equal(fit[0], fit[1])
    assert not np.array_equal(fit[0], fit[2])
    tf_cls(max_features=0.4, max_iter=3, random_state=np.random.RandomState(0)).fit(X, y)


def probe_class_weight(name):
    """A dict (by label) or 'balanced' weights the samples as sample_weight would."""
    X, y = data_for(name)
    for model_cls in pair(name):
        for weight in ({0: 3.0, 1: 1.0}, "balanced"):
            by_class = model_cls(class_weight=weight, max_iter=10).fit(X, y)
            by_sample = model_cls(max_iter=10).fit(X, y, sample_weight=compute_sample_weight(weight, y))
            np.testing.assert_allclose(by_class.predict_proba(X), by_sample.predict_proba(X), rtol=1e-10)


PROBES = {name[len("probe_"):]: probe for name, probe in globals().items() if name.startswith("probe_")}
