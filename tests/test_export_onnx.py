"""treeforge.export.to_onnx: onnxruntime predicts as treeforge does (issue #24).

Every model kind of ``_export_cases`` (2,000 training rows with missing values) is compared on
10,000 rows (10% NaN, and at the categorical feature categories unseen at fit): predictions and
probabilities within float32 rounding (``assert_close``), labels equal wherever two classes'
probabilities are not tied within that rounding. Both ai.onnx.ml opsets (3 and 5) and both input
types are run.
"""

import sys

import numpy as np
import pytest

import treeforge as tf
from _export_cases import data, fitted  # noqa: F401 (the fixtures)
from _export_cases import CATEGORICAL, NUMERIC, assert_close, expected_output, features
from treeforge.export import to_onnx

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _session(model):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def assert_same_labels(got, estimator, X, proba):
    """Labels equal treeforge's wherever the two largest probabilities are not tied within rounding."""
    top_two = np.sort(proba, axis=1)[:, -2:]
    clear = top_two[:, 1] - top_two[:, 0] > 1e-5
    assert clear.mean() > 0.9
    np.testing.assert_array_equal(got[clear], estimator.predict(X)[clear])


def check_predictions(estimator, model, X):
    outputs = _session(model).run(None, {"X": X})
    expected = expected_output(estimator, X)
    assert_close(outputs[-1], expected)
    if hasattr(estimator, "predict_proba"):
        assert_same_labels(outputs[0], estimator, X, expected)


@pytest.mark.parametrize("ml_opset", [3, 5])
@pytest.mark.parametrize("name", NUMERIC)
def test_onnxruntime_predicts_as_treeforge(fitted, data, name, ml_opset):
    check_predictions(fitted[name], to_onnx(fitted[name], ml_opset=ml_opset), data[2])


@pytest.mark.parametrize("name", CATEGORICAL)
def test_categorical_splits_use_opset_5_and_match_by_value(fitted, data, name):
    model = to_onnx(fitted[name])
    assert {o.domain: o.version for o in model.opset_import}["ai.onnx.ml"] == 5
    assert any(n.op_type == "TreeEnsemble" for n in model.graph.node)
    check_predictions(fitted[name], model, data[2])
    with pytest.raises(NotImplementedError, match="ml_opset=5"):
        to_onnx(fitted[name], ml_opset=3)


@pytest.mark.parametrize("name, ml_opset", [("gbdt_regression", 3), ("gbdt_regression", 5), ("gbdt_multiclass", 3),
                                            ("forest_classifier", 5), ("gbdt_categorical", 5)])
def test_float64_input(fitted, data, name, ml_opset):
    X = data[2].astype(np.float64)
    X[:200] = features(np.random.default_rng(1), 200)  # values that float32 would round
    model = to_onnx(fitted[name], ml_opset=ml_opset, dtype="float64")
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    check_predictions(fitted[name], model, X)


def test_float32_thresholds_route_float32_values_exactly():
    # Every training value is a float32 just above or below a threshold: a threshold rounded to the
    # nearest float32 would send some of them the wrong way.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(4000, 1)).astype(np.float32).astype(np.float64)
    model = tf.HistGradientBoostingRegressor(max_iter=20, max_bins=64).fit(X, np.sin(3 * X[:, 0]))
    thresholds = np.unique(model.trees_to_dataframe().threshold.dropna())
    near = np.concatenate([np.nextafter(thresholds.astype(np.float32), np.float32(-np.inf)),
                           thresholds.astype(np.float32),
                           np.nextafter(thresholds.astype(np.float32), np.float32(np.inf))]).reshape(-1, 1)
    (got,) = _session(to_onnx(model)).run(None, {"X": near})
    assert_close(got, model.predict(near).reshape(-1, 1))


def test_text_labels_come_back_as_labels(data):
    X, targets, X_test = data
    labels = np.array(["low", "mid", "high", "top"], dtype=object)[targets["multiclass"]]
    # Seeded: a forest of few trees ties many probabilities, and an unseeded one made the share of
    # clear rows vary around the 0.9 that assert_same_labels asks.
    for estimator in (tf.HistGradientBoostingClassifier(max_iter=10, random_state=0),
                      tf.RandomForestClassifier(n_estimators=25, random_state=0)):
        estimator.fit(X, labels)
        label, proba = _session(to_onnx(estimator)).run(None, {"X": X_test})
        assert label.dtype == object
        assert_same_labels(label, estimator, X_test, estimator.predict_proba(X_test))


def test_the_model_is_described(fitted):
    import pandas as pd

    X = pd.DataFrame(np.zeros((30, 2)), columns=["size", "age"])
    estimator = tf.HistGradientBoostingClassifier(max_iter=2).fit(X.assign(size=np.arange(30.0)), np.arange(30) % 2)
    model = to_onnx(estimator)
    props = {p.key: p.value for p in model.metadata_props}
    assert props["estimator"] == "HistGradientBoostingClassifier" and props["link"] == "sigmoid"
    assert props["feature_names"] == '["size", "age"]'
    assert [o.name for o in model.graph.output] == ["label", "probabilities"]
    onnx.checker.check_model(model, full_check=True)
    assert [o.name for o in to_onnx(fitted["gbdt_poisson"]).graph.output] == ["variable"]


def test_onnx_reference_evaluator_agrees(fitted, data):
    """The ONNX standard's own evaluator (not only onnxruntime) reads the graphs the same way."""
    from onnx.reference import ReferenceEvaluator

    X = data[2][:150]
    for name in ("gbdt_binary", "gbdt_multiclass", "forest_two_targets", "gbdt_categorical"):
        for ml_opset in (3, 5) if name != "gbdt_categorical" else (5,):
            # onnx 1.23's evaluator stops reading a member list at a member 0.0: the categories here start at 2.
            outputs = ReferenceEvaluator(to_onnx(fitted[name], ml_opset=ml_opset)).run(None, {"X": X})
            assert_close(outputs[-1], expected_output(fitted[name], X))


def test_what_cannot_be_expressed_is_refused(data):
    from sklearn.tree import DecisionTreeRegressor

    X, targets, _ = data
    f = np.nan_to_num(X)
    with pytest.raises(NotImplementedError, match="weighted median"):
        to_onnx(tf.AdaBoostRegressor(n_estimators=3).fit(X, targets["regression"]))
    two_labels = np.column_stack([targets["binary"], targets["multiclass"]])
    with pytest.raises(NotImplementedError, match="2 targets"):
        to_onnx(tf.RandomForestClassifier(n_estimators=2).fit(X, two_labels))
    user = tf.AdaBoostRegressor(estimator=DecisionTreeRegressor(max_depth=2), n_estimators=2).fit(f, f[:, 0])
    with pytest.raises(ValueError, match="user's estimator"):
        to_onnx(user)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        to_onnx(tf.HistGradientBoostingRegressor())


def test_text_categories_and_bad_options_are_refused(fitted):
    import pandas as pd

    rng = np.random.default_rng(5)
    X = pd.DataFrame({"x": rng.normal(size=300), "color": pd.Categorical(rng.choice(["red", "blue", "green"], 300))})
    y = X.x.to_numpy() + (X.color == "red").to_numpy()
    with pytest.raises(ValueError, match="'color' has text categories"):
        to_onnx(tf.HistGradientBoostingRegressor(max_iter=5).fit(X, y))
    with pytest.raises(ValueError, match="dtype"):
        to_onnx(fitted["gbdt_binary"], dtype="float16")
    with pytest.raises(ValueError, match="ml_opset"):
        to_onnx(fitted["gbdt_binary"], ml_opset=4)


def test_without_onnx_the_error_names_the_extra(monkeypatch, fitted):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx raises ImportError
    with pytest.raises(ImportError, match=r"treeforge\[onnx\]"):
        to_onnx(fitted["gbdt_binary"])
