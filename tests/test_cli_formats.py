"""The command line's data formats beside CSV (issue #25): Parquet and LibSVM/SVMlight, by extension or
--format; the same model as from the same data in CSV (a LibSVM file's features never densified);
XGBoost's agaricus LibSVM files trained to their known accuracy; CSV-only options and unreadable
files refused on one line, a LibSVM file's with its line."""

import os
import subprocess
import sys

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
    # The file's rows are the rows scikit-learn's reader gives, features f0, f1, ... by their indices.
    X, y = load_svmlight_file(test, zero_based=True)
    predicted = succeeded(run_cli("predict", "m.json", test, "--format", "libsvm", "--out", "-", cwd=tmp_path))
    model = treeforge.load_model(tmp_path / "m.json")
    expected = model.predict(X.toarray())
    assert model.n_features_in_ == X.shape[1] == 127  # agaricus numbers its features from 1: f0 is empty
    np.testing.assert_array_equal(np.array(predicted.stdout.split()[1:], dtype=float), expected)


def sparse_data(n=600, n_features=8, seed=2):
    """A sparse X (60% zeros, some explicit NaN: missing) and binary labels that depend on it."""
    rng = np.random.default_rng(seed)
    X = np.where(rng.random((n, n_features)) < 0.6, 0.0, rng.normal(size=(n, n_features)))
    X[:, 2] = np.where(rng.random(n) < 0.5, 0.0, rng.integers(1, 5, size=n))  # small integer codes
    X[rng.random((n, n_features)) < 0.03] = np.nan
    y = (np.nan_to_num(X[:, 0]) - np.nan_to_num(X[:, 5]) + (X[:, 2] == 3) + rng.normal(0, 0.3, n) > 0).astype(int)
    return X, y


def write_svm(path, X, y):
    """X's non-zeros (NaN too, which scikit-learn's writer refuses) as a LibSVM file, indices from 0."""
    with open(path, "w") as handle:
        for label, row in zip(y, X):
            handle.write(f"{label} " + " ".join(f"{j}:{float(row[j])!r}" for j in np.flatnonzero(row != 0)) + "\n")


@pytest.mark.parametrize("model, options", [("gbdt", ["--param", "max_iter=12"]),
                                            ("gbdt", ["--param", "max_iter=12", "--categorical", "f2",
                                                      "--ignore", "f4"]),
                                            ("rf", ["--param", "n_estimators=6"]),
                                            ("adaboost", ["--param", "n_estimators=6"])])
def test_a_libsvm_file_trains_the_model_its_csv_trains(model, options, tmp_path, assert_same_model):
    # The LibSVM path hands the estimator a CSR matrix, the CSV path a dense one: the same model.
    X, y = sparse_data()
    write_svm(tmp_path / "train.svm", X, y)
    pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])]).assign(label=y).to_csv(tmp_path / "train.csv",
                                                                                         index=False)
    fitted = {}
    for name in ("train.svm", "train.csv"):
        succeeded(run_cli("train", name, "--target", "label", "--model", model, "--seed", "4", "--quiet",
                          "--early-stopping", "off", *options, "--out", f"{name}.json", cwd=tmp_path))
        fitted[name] = treeforge.load_model(tmp_path / f"{name}.json")
    assert_same_model(fitted["train.svm"], fitted["train.csv"])
    predicted = [succeeded(run_cli("predict", f"{name}.json", name, "--raw", "--out", "-", cwd=tmp_path)).stdout
                 for name in ("train.svm", "train.csv")]
    assert predicted[0] == predicted[1]


_PEAK_MEMORY_SCRIPT = """
import sys
from treeforge.cli._main import main
code = main(["train", "wide.svm", "--target", "label", "--quiet", "--param", "max_iter=5",
             "--early-stopping", "off", "--out", "wide.json"])
with open("/proc/self/status") as status:
    print(code, [int(line.split()[1]) for line in status if line.startswith("VmHWM:")][0] // 1024)
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads the peak memory from /proc")
def test_a_libsvm_file_trains_in_memory_that_follows_its_non_zeros(tmp_path):
    # Dense, these features would take 20,000 x 262,144 x 8 bytes = 42 GB; their non-zeros take 3 MB.
    rng = np.random.default_rng(5)
    n, n_features, per_row = 20_000, 1 << 18, 8
    columns = rng.integers(0, n_features, size=(n, per_row))
    columns[0, -1] = n_features - 1  # the file reaches the last feature
    with open(tmp_path / "wide.svm", "w") as handle:
        for row in np.sort(columns, axis=1):
            label = int(row[0] < n_features // 2)
            handle.write(f"{label} " + " ".join(f"{j}:1" for j in np.unique(row)) + "\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", _PEAK_MEMORY_SCRIPT], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=600)
    assert out.returncode == 0, out.stderr
    code, peak_mib = map(int, out.stdout.split()[-2:])
    assert code == 0 and peak_mib < 1024, f"exit code {code}, peak resident memory {peak_mib} MiB"
    assert treeforge.load_model(tmp_path / "wide.json").n_features_in_ == n_features


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


@pytest.mark.parametrize("content, message", [
    ("1 1:0.5 2:0.25\n0 1:0.5 2:x\n", "error: bad.svm line 2: '2:x' is not index:value"),
    ("1 1:0.5\n# a comment\n\nyes 3:1\n", "error: bad.svm line 4: 'yes' is not a label"),
    ("1 1:0.5 -2:1\n", "error: bad.svm line 1: '-2:1' is not index:value"),
    ("\x00\x01 binary \xff", "error: bad.svm"),
])
def test_a_damaged_libsvm_file_is_named_with_its_line(content, message, tmp_path):
    (tmp_path / "bad.svm").write_text(content, encoding="latin-1")
    result = run_cli("train", "bad.svm", "--target", "label", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert message in result.stderr, result.stderr


def test_libsvm_indices_are_the_features_whatever_rows_a_file_holds(tmp_path):
    # A file whose rows never use index 0 still numbers its features from 0 (scikit-learn's reader
    # would guess one-based there and shift every feature by one); an index beyond the model's
    # features is refused with its line.
    X, y = sparse_data()
    write_svm(tmp_path / "train.svm", X, y)
    succeeded(run_cli("train", "train.svm", "--target", "label", "--out", "m.json", "--quiet", cwd=tmp_path))
    rows = X[:40].copy()
    rows[:, 0] = 0.0
    write_svm(tmp_path / "no_f0.svm", rows, y[:40])
    shown = succeeded(run_cli("predict", "m.json", "no_f0.svm", "--raw", "--out", "-", cwd=tmp_path)).stdout
    expected = treeforge.load_model(tmp_path / "m.json").decision_function(rows)
    np.testing.assert_array_equal(np.array(shown.split()[1:], dtype=float), expected)
    (tmp_path / "wide.svm").write_text("1 0:1 3:2\n0 1:1 8:1\n")
    result = run_cli("predict", "m.json", "wide.svm", "--out", "-", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "wide.svm line 2: feature index 8, but the model has features f0 to f7" in result.stderr, result.stderr
    result = run_cli("train", "train.svm", "--target", "f3", cwd=tmp_path)
    assert "target column 'f3' is a feature of the LibSVM file train.svm" in result.stderr, result.stderr
