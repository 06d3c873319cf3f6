"""treeforge convert MODEL --to onnx|treelite --out FILE (issue #24): the file predicts as the model,
an input is never overwritten, and a failed conversion writes nothing."""

import sys

import numpy as np
import pytest

import treeforge as tf
from treeforge.cli import main


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    X[rng.random(X.shape) < 0.1] = np.nan
    y = np.nan_to_num(X[:, 0]) + 0.1 * rng.normal(size=300)
    tf.HistGradientBoostingClassifier(max_iter=5).fit(X, y > 0).save_model(folder / "binary.json")
    tf.AdaBoostRegressor(n_estimators=3).fit(X, y).save_model(folder / "median.json")
    return folder, X.astype(np.float32)


def _error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_onnx_output_predicts_as_the_model(models, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    folder, X = models
    out = tmp_path / "model.onnx"
    assert main(["convert", str(folder / "binary.json"), "--to", "onnx", "--out", str(out), "--quiet"]) == 0
    label, proba = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"X": X})
    np.testing.assert_allclose(proba, tf.load_model(folder / "binary.json").predict_proba(X), rtol=1e-5, atol=1e-6)


def test_treelite_output_is_a_checkpoint_that_predicts_as_the_model(models, tmp_path):
    treelite = pytest.importorskip("treelite")
    folder, X = models
    out = tmp_path / "model.tl"
    assert main(["convert", str(folder / "binary.json"), "--to", "treelite", "--out", str(out), "--quiet"]) == 0
    proba = treelite.gtil.predict(treelite.Model.deserialize(str(out)), X)[:, 0, 0]
    np.testing.assert_allclose(proba, tf.load_model(folder / "binary.json").predict_proba(X)[:, 1], rtol=1e-5)


def test_the_model_file_is_never_the_output(models, capsys):
    folder, _ = models
    model = folder / "binary.json"
    before = model.read_bytes()
    assert main(["convert", str(model), "--to", "onnx", "--out", str(model)]) == 1
    assert "same file as MODEL.json" in _error_line(capsys)
    assert model.read_bytes() == before


@pytest.mark.parametrize("target", ["onnx", "treelite"])
def test_a_model_that_cannot_be_converted_writes_nothing(models, tmp_path, capsys, target):
    pytest.importorskip("onnx" if target == "onnx" else "treelite")
    folder, _ = models
    out = tmp_path / "out.bin"
    out.write_bytes(b"kept")
    assert main(["convert", str(folder / "median.json"), "--to", target, "--out", str(out)]) == 1
    assert "weighted median" in _error_line(capsys)
    assert out.read_bytes() == b"kept" and sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_onnx_options_with_treelite_are_a_misuse(models, tmp_path, capsys):
    folder, _ = models
    args = ["convert", str(folder / "binary.json"), "--to", "treelite", "--out", str(tmp_path / "x"), "--opset", "5"]
    assert main(args) == 2
    assert "--to onnx only" in _error_line(capsys)


def test_a_missing_extra_is_named(models, tmp_path, capsys, monkeypatch):
    folder, _ = models
    monkeypatch.setitem(sys.modules, "onnx", None)
    assert main(["convert", str(folder / "binary.json"), "--to", "onnx", "--out", str(tmp_path / "m.onnx")]) == 1
    assert "pip install 'treeforge[onnx]'" in _error_line(capsys)
    assert not (tmp_path / "m.onnx").exists()


def test_bad_inputs_are_one_error_line(models, tmp_path, capsys):
    folder, _ = models
    assert main(["convert", str(tmp_path), "--to", "onnx", "--out", str(tmp_path / "m.onnx")]) == 1
    assert "not a regular file" in _error_line(capsys) or "directory" in capsys.readouterr().err
    (tmp_path / "broken.json").write_text("{\"format\": \"other\"}")
    assert main(["convert", str(tmp_path / "broken.json"), "--to", "onnx", "--out", str(tmp_path / "m.onnx")]) == 1
    assert "Invalid treeforge model file" in _error_line(capsys)
    assert main(["convert", str(folder / "binary.json"), "--to", "onnx", "--out", str(tmp_path / "no" / "m")]) == 1
    assert "directory does not exist" in _error_line(capsys)
