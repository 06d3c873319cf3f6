"""The command line's data formats beside CSV (issue #25): Parquet and LibSVM/SVMlight, by extension or
--format; the same model as from the same data in CSV; XGBoost's agaricus LibSVM files trained to
their known accuracy; CSV-only options and unreadable files refused on one line."""

import os

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import dump_svmlight_file, load_svmlight_file

from _cli_run import run_cli, succeeded

import treeforge

AGARICUS = os.path.join(os.path.dirname(__file__), "fixtures", "agaricus")


def frame(n=500, seed=0):
    rng = np.random.default_rng(seed)
    data = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n),
                         "colour": rng.choice(["red", "green", "blue"], n)})
    data.loc[rng.random(n) < 0.05, "x2"] = np.nan
    data["y"] = ((data["x1"] + (data["colour"] == "red") + np.nan_to_num(data["x2"])) > 0.5).astype(int)
    return data


def predictions(path, data, tmp_path, *options):
    succeeded(run_cli("train", data, "--target", "y", "--out", path, "--early-stopping", "off", "--param",
                      "max_iter=15", "--seed", "3", "--quiet", *options, cwd=tmp_path))
    return succeeded(run_cli("predict", path, data, "--proba", "--out", "-", *options, cwd=tmp_path)).stdout


@pytest.mark.parametrize("name", ["train.parquet", "train.pq", "train.bin"])
def test_parquet_trains_the_model_csv_trains(name, tmp_path):
    data = frame()
    data.to_csv(tmp_path / "train.csv", index=False)
    parquet = data.assign(colour=data["colour"].astype("category"))  # a dictionary column, read as its values
    parquet.to_parquet(tmp_path / name)
    options = ["--format", "parquet"] if name.endswith(".bin") else []
    assert predictions("p.json", name, tmp_path, *options) == predictions("c.json", "train.csv", tmp_path)
    info = succeeded(run_cli("info", "p.json", cwd=tmp_path)).stdout
    assert "colour" in info and "categorical" in info


def test_agaricus_libsvm_files_train_to_their_known_accuracy(tmp_path):
    train, test = (os.path.join(AGARICUS, f"agaricus.txt.{part}.gz") for part in ("train", "test"))
    succeeded(run_cli("train", train, "--format", "libsvm", "--target", "label", "--out", "m.json", "--quiet",
                      cwd=tmp_path))
    shown = succeeded(run_cli("eval", "m.json", test, "--format", "libsvm", cwd=tmp_path)).stdout
    assert float(shown.split("accuracy")[1].split()[0]) >= 0.99, shown
    # The file's rows are the dense rows scikit-learn's reader gives, features f0, f1, ...
    X, y = load_svmlight_file(test)
    predicted = succeeded(run_cli("predict", "m.json", test, "--format", "libsvm", "--out", "-", cwd=tmp_path))
    model = treeforge.load_model(tmp_path / "m.json")
    expected = model.predict(X.toarray())
    np.testing.assert_array_equal(np.array(predicted.stdout.split()[1:], dtype=float), expected)


def test_a_libsvm_file_short_of_the_last_features_predicts(tmp_path):
    rng = np.random.default_rng(1)
    X = np.where(rng.random((300, 6)) < 0.6, 0.0, rng.normal(size=(300, 6)))
    y = (X[:, 0] - X[:, 5] > 0).astype(int)
    dump_svmlight_file(X, y, str(tmp_path / "train.svm"), zero_based=True)
    dump_svmlight_file(X[:20, :3], y[:20], str(tmp_path / "few.svm"), zero_based=True)  # never reaches f3..f5
    succeeded(run_cli("train", "train.svm", "--target", "label", "--out", "m.json", "--quiet", cwd=tmp_path))
    shown = succeeded(run_cli("predict", "m.json", "few.svm", "--out", "-", cwd=tmp_path)).stdout.split()[1:]
    padded = np.column_stack([X[:20, :3], np.zeros((20, 3))])
    np.testing.assert_array_equal(np.array(shown, dtype=float),
                                  treeforge.load_model(tmp_path / "m.json").predict(padded))


@pytest.mark.parametrize("content, options, message", [
    (None, ["--delimiter", ";"], "--delimiter applies to CSV files; data.parquet is read as parquet"),
    (None, ["--no-header"], "--no-header applies to CSV files"),
    (b"not parquet at all", [], "data.parquet is not a readable Parquet file"),
])
def test_parquet_refusals_are_one_line(content, options, message, tmp_path):
    if content is None:
        frame().to_parquet(tmp_path / "data.parquet")
    else:
        (tmp_path / "data.parquet").write_bytes(content)
    result = run_cli("train", "data.parquet", "--target", "y", *options, cwd=tmp_path)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert len(errors) == 1 and message in errors[0], result.stderr


def test_a_damaged_libsvm_file_is_named(tmp_path):
    (tmp_path / "bad.svm").write_text("1 1:0.5 2:x\n")
    result = run_cli("train", "bad.svm", "--target", "label", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "error: bad.svm is not a LibSVM/SVMlight file" in result.stderr
