"""treeforge.export.to_treelite: treelite's runtime (GTIL) predicts as treeforge does (issue #24).

The models of ``_export_cases`` (2,000 training rows with missing values), compared on 10,000
rows with 10% NaN and unseen categories: predictions, probabilities and margins within
float32 rounding (1e-5 relative, 1e-5 of the largest value absolute; treelite computes in float64
here, so they are in fact far closer). Categorical features hold integers, as treelite reads them.
"""

import sys

import numpy as np
import pytest

import treeforge as tf
from _export_cases import data, fitted  # noqa: F401 (the fixtures)
from _export_cases import CASES, assert_close, expected_output
from treeforge.export import to_treelite

treelite = pytest.importorskip("treelite")
gtil = pytest.importorskip("treelite.gtil")


def treelite_predictions(estimator, X):
    """What the estimator's predict_proba (classifiers) or predict gives, from treelite's output."""
    out = gtil.predict(to_treelite(estimator), X)  # (n_samples, n_targets, n_classes)
    if not hasattr(estimator, "predict_proba"):
        return out[:, :, 0]
    proba = out[:, 0, :]
    return np.column_stack([1 - proba[:, 0], proba[:, 0]]) if proba.shape[1] == 1 else proba


@pytest.mark.parametrize("name", sorted(CASES))
def test_treelite_predicts_as_treeforge(fitted, data, name):
    estimator, X = fitted[name], data[2]
    assert_close(treelite_predictions(estimator, X), expected_output(estimator, X))


@pytest.mark.parametrize("name", ["gbdt_regression", "gbdt_multiclass", "gbdt_categorical", "adaboost_classifier"])
def test_margins_and_leaves(fitted, data, name):
    estimator, X = fitted[name], data[2][:2000]
    model = to_treelite(estimator)
    margin = gtil.predict(model, X, pred_margin=True)[:, 0, :]
    expected = estimator._raw_margin(X)
    if name == "adaboost_classifier":  # softmax(votes / (sum of estimator weights * (K - 1)))
        expected = expected / (estimator.estimator_weights_.sum() * (len(estimator.classes_) - 1))
    assert_close(margin, expected)
    assert model.num_tree == estimator._model.n_trees


def test_the_checkpoint_round_trips(fitted, data, tmp_path):
    estimator, X = fitted["forest_categorical"], data[2]
    path = tmp_path / "model.tl"
    to_treelite(estimator).serialize(str(path))
    again = treelite.Model.deserialize(str(path))
    np.testing.assert_array_equal(gtil.predict(again, X), gtil.predict(to_treelite(estimator), X))


def test_what_cannot_be_expressed_is_refused(data):
    X, targets, _ = data
    with pytest.raises(NotImplementedError, match="weighted median"):
        to_treelite(tf.AdaBoostRegressor(n_estimators=3).fit(X, targets["regression"]))
    two_labels = np.column_stack([targets["binary"], targets["multiclass"]])
    with pytest.raises(NotImplementedError, match="2 targets"):
        to_treelite(tf.RandomForestClassifier(n_estimators=2).fit(X, two_labels))
    halves = np.where(np.isnan(X[:, 2]), np.nan, X[:, 2] / 4)  # categories 0.5, 1, 1.5, ...
    model = tf.HistGradientBoostingRegressor(max_iter=5, categorical_features=[2]).fit(
        np.column_stack([X[:, :2], halves]), targets["regression"])
    assert model._model.to_arrays()["split_kind"].any()
    with pytest.raises(ValueError, match="not non-negative integers"):
        to_treelite(model)


def test_without_treelite_the_error_names_the_extra(monkeypatch, fitted):
    monkeypatch.setitem(sys.modules, "treelite", None)
    with pytest.raises(ImportError, match=r"treeforge\[treelite\]"):
        to_treelite(fitted["gbdt_binary"])
