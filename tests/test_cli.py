"""The treeforge command: ``python -m treeforge`` run end to end on temporary CSV files, and its helpers in-process."""

import csv
import gzip
import importlib.util
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from _cli_run import TIMEOUT, run_cli, write_csv

import treeforge
from treeforge import cli
from treeforge.cli import _console, _estimators, _main
from treeforge.cli._tabular import DataError, read_csv


def start_cli(*args, cwd):
    """Start ``python -m treeforge ARGS`` with Ctrl-C raising KeyboardInterrupt in it (even if ignored here)."""
    restore_sigint = (lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)) if os.name == "posix" else None
    return subprocess.Popen([sys.executable, "-m", "treeforge", *map(str, args)], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=restore_sigint)


def is_phase(line):
    """Whether a line of stderr is a phase line of train (reading, read), which may precede an error."""
    return re.fullmatch(r"note: (reading .* \.\.\.|read \d+ rows in .*)", line) is not None


def assert_one_line_error(result, *fragments, code=1):
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if not is_phase(line)]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def churn_rows(n, seed=0):
    """Rows of a small binary problem: two numeric columns (with gaps), a text column, a text target."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        x1, x2 = rng.normal(), rng.normal()
        plan = rng.choice(["basic", "plus", "pro"])
        score = 1.5 * x1 - x2 + (plan == "pro") - 0.5 + rng.normal(0, 0.3)
        rows.append([f"c{i}", "" if i % 17 == 0 else f"{x1:.4f}", "NA" if i % 23 == 0 else f"{x2:.4f}", plan,
                     "yes" if score > 0 else "no"])
    return ["id", "x1", "x2", "plan", "churned"], rows


@pytest.fixture(scope="module")
def churn(tmp_path_factory):
    """(directory, train.csv, test.csv) of the small binary problem."""
    directory = tmp_path_factory.mktemp("churn")
    header, rows = churn_rows(600)
    return (directory, write_csv(directory / "train.csv", header, rows[:450]),
            write_csv(directory / "test.csv", header, rows[450:]))


@pytest.fixture(scope="module")
def trained(churn):
    """The churn model trained by the command (with its run), plus the data files."""
    directory, train, test = churn
    result = run_cli("train", train, "--target", "churned", "--ignore", "id", "--param", "max_iter=20",
                     "--out", "model.json", cwd=directory)
    assert result.returncode == 0, result.stderr
    return directory, train, test, directory / "model.json", result


# --------------------------------------------------------------------------------------------
# The command end to end
# --------------------------------------------------------------------------------------------


def test_train_predict_eval_info_round_trip(trained):
    directory, train, test, model_path, result = trained
    assert "task: binary (inferred from the target 'churned': 2 classes 'no', 'yes')" in result.stdout
    assert "model saved to model.json" in result.stdout
    assert "iteration 20/20" in result.stderr and "\r" not in result.stderr  # plain lines, not a terminal

    predicted = run_cli("predict", model_path, test, "--proba", "--out", "pred.csv", cwd=directory)
    assert predicted.returncode == 0, predicted.stderr
    with open(directory / "pred.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["prediction", "proba_no", "proba_yes"] and len(rows) == 151
    assert {row[0] for row in rows[1:]} <= {"no", "yes"}
    assert all(abs(float(row[1]) + float(row[2]) - 1) < 1e-5 for row in rows[1:])  # 6 significant digits
    model = treeforge.load_model(model_path)
    assert [row[0] for row in rows[1:]] == [("yes" if float(row[2]) > 0.5 else "no") for row in rows[1:]]
    assert model.n_iter_ == 20

    evaluated = run_cli("eval", model_path, test, cwd=directory)
    assert evaluated.returncode == 0, evaluated.stderr
    accuracy = float(evaluated.stdout.split("accuracy ")[1].split()[0])
    assert accuracy > 0.75 and "log_loss" in evaluated.stdout and "auc" in evaluated.stdout


def test_info_describes_the_model(trained, capsys):
    model_path = trained[3]
    assert cli.main(["info", str(model_path)]) == 0
    info = capsys.readouterr().out
    assert "HistGradientBoostingClassifier" in info and "task: binary, target 'churned'" in info
    assert "20 iterations, 20 trees" in info and "categorical, 3 values" in info and "ignored columns: id" in info


def test_predict_matches_columns_by_name(trained, capsys):
    directory, _, test, model_path, _ = trained
    with open(test, newline="") as handle:
        rows = list(csv.reader(handle))
    order = [4, 3, 0, 2, 1]  # target first, id in the middle, x2 before x1
    write_csv(directory / "shuffled.csv", [rows[0][i] for i in order] + ["extra"],
              [[row[i] for i in order] + ["?"] for row in rows[1:]])
    kept = (0, 1, 3)  # x2 left out
    write_csv(directory / "lacking.csv", [rows[0][i] for i in kept], [[row[i] for i in kept] for row in rows[1:]])

    shuffled = run_cli("predict", model_path, "shuffled.csv", cwd=directory)
    assert shuffled.returncode == 0, shuffled.stderr
    assert "note: ignoring column the model does not use: extra" in shuffled.stderr
    assert cli.main(["predict", str(model_path), str(test)]) == 0
    original = capsys.readouterr()
    assert shuffled.stdout == original.out and len(original.out.splitlines()) == 151  # predictions on stdout
    assert "ignoring" not in original.err  # id and the target were known to the model

    assert cli.main(["predict", str(model_path), str(directory / "lacking.csv")]) == 1
    assert capsys.readouterr().err == (f"error: {directory / 'lacking.csv'} lacks the feature column 'x2' "
                                       "that the model was trained with\n")


_GOOD = ["good.csv", "--ignore", "id"]
# name -> (arguments, fragments of the one error line); the files are written by _write_error_files.
_ERRORS = {
    "missing file": (["train", "nowhere.csv", "--target", "y"], ["nowhere.csv: no such file"]),
    "missing target": (["train", *_GOOD, "--target", "Churned"],
                       ["target column 'Churned' is not in good.csv", "did you mean 'churned'?"]),
    "ragged row": (["train", "ragged.csv", "--target", "y"], ["ragged.csv line 4: 2 fields where the header has 3"]),
    "non-numeric value": (["train", "typo.csv", "--target", "churned", "--ignore", "id"],
                          ["typo.csv line 42, column 'x1': '12,5' is not a number"]),
    "empty file": (["train", "empty.csv", "--target", "y"], ["empty.csv is empty"]),
    "one class": (["train", "one_class.csv", "--target", "churned", "--ignore", "id"],
                  ["the target column 'churned' has only one class ('yes')"]),
    "unknown parameter": (["train", *_GOOD, "--target", "churned", "--param", "max_iters=5"],
                          ["unknown parameter 'max_iters'", "did you mean 'max_iter'?"]),
}


def _write_error_files(directory):
    header, rows = churn_rows(60, seed=3)
    write_csv(directory / "good.csv", header, rows)
    (directory / "ragged.csv").write_text("a,b,y\n1,2,no\n3,4,yes\n5,6\n7,8,no\n")
    typo = [list(row) for row in rows]
    typo[40][1] = "12,5"  # a quoted decimal comma on line 42, in a column of numbers
    write_csv(directory / "typo.csv", header, typo)
    (directory / "empty.csv").write_text("")
    write_csv(directory / "one_class.csv", header, [row[:4] + ["yes"] for row in rows])


@pytest.fixture(scope="module")
def error_runs(tmp_path_factory):
    """Every case of ``_ERRORS`` run once, all at the same time: {name: CompletedProcess}."""
    directory = tmp_path_factory.mktemp("errors")
    _write_error_files(directory)
    started = {name: start_cli(*arguments, cwd=directory) for name, (arguments, _) in _ERRORS.items()}
    runs = {}
    for name, process in started.items():
        stdout, stderr = process.communicate(timeout=TIMEOUT)
        runs[name] = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    return runs


@pytest.mark.parametrize("case", list(_ERRORS))
def test_errors_are_one_line_with_exit_code_1(error_runs, case):
    assert_one_line_error(error_runs[case], *_ERRORS[case][1])


@pytest.mark.parametrize("arguments, message", [
    (["train", "good.csv", "--target", "churned", "--param", "learning_rate=-1"],
     "error: The 'learning_rate' parameter of HistGradientBoostingClassifier must be a float in the range "
     "(0.0, inf). Got -1 instead."),
    (["predict", "nowhere.json", "good.csv"], "error: nowhere.json: no such file"),
    (["train", "good.csv", "--target", "churned", "--valid-fraction", "1.5"],
     "error: --valid-fraction must be between 0 and 1, got 1.5"),
    (["train", "good.csv", "--target", "churned", "--model", "gbdt", "--task", "binary", "--ignore", "churned"],
     "error: the target column 'churned' cannot also be ignored, the weight or the query id"),
])
def test_more_errors_in_process(tmp_path, monkeypatch, capsys, arguments, message):
    _write_error_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert cli.main(arguments) == 1
    assert capsys.readouterr().err.splitlines()[-1] == message


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")
def test_interrupted_training_keeps_a_valid_checkpoint_and_resume_is_identical(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3000, 8))
    labels = np.where(X[:, 0] + X[:, 1] * X[:, 2] + rng.normal(0, 0.5, 3000) > 0, "up", "down")
    write_csv(tmp_path / "data.csv", [f"f{i}" for i in range(8)] + ["move"],
              [[f"{v:.5f}" for v in row] + [label] for row, label in zip(X, labels)])
    common = ["--target", "move", "--valid-fraction", "0.25", "--seed", "3"]
    # Early stopping on the validation set, which never triggers: its scores travel in the checkpoint.
    process = start_cli("train", "data.csv", *common, "--param", "max_iter=5000", "n_iter_no_change=5000",
                        "--checkpoint-every", "5", "--out", "model.json", cwd=tmp_path)
    checkpoint = tmp_path / "model.checkpoint.json"
    deadline = time.monotonic() + TIMEOUT
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=TIMEOUT)

    assert process.returncode == 130, stderr
    assert "no model written" in stderr and "--resume model.checkpoint.json" in stderr and "Traceback" not in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv", "model.checkpoint.json"]  # no partial file
    snapshot = treeforge.load_model(checkpoint)
    n_done = snapshot.n_iter_
    assert n_done % 5 == 0 and n_done > 0
    assert snapshot.validation_score_.shape == (n_done + 1,)

    target = max(40, n_done + 15)
    resumed = run_cli("train", "--resume", checkpoint, "--param", f"max_iter={target}", "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stderr == ""
    uninterrupted = ["train", str(tmp_path / "data.csv"), *common, "--param", f"max_iter={target}",
                     "n_iter_no_change=5000", "--out", str(tmp_path / "reference.json"), "--quiet"]
    assert cli.main(uninterrupted) == 0
    assert (tmp_path / "model.json").read_bytes() == (tmp_path / "reference.json").read_bytes()
    assert treeforge.load_model(tmp_path / "model.json").n_iter_ == target


def test_demo_trains_on_the_shipped_dataset(tmp_path):
    result = run_cli("train", "--demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "task: binary (inferred from the target 'churned'" in result.stdout
    assert "validation: accuracy" in result.stdout and "auc" in result.stdout
    assert "model saved to treeforge-demo-model.json" in result.stdout
    model = treeforge.load_model(tmp_path / "treeforge-demo-model.json")
    assert list(model.classes_) == ["no", "yes"]


def test_console_script_is_installed():
    executable = shutil.which("treeforge")
    in_site_packages = any(part in os.path.abspath(treeforge.__file__) for part in ("site-packages", "dist-packages"))
    if executable is None:
        if not in_site_packages:
            pytest.skip("treeforge runs from a source tree (PYTHONPATH): no console script")
        pytest.fail("treeforge is installed but its console script is not on PATH")
    result = subprocess.run([executable, "--version"], capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0 and result.stdout.startswith("treeforge ")


@pytest.mark.parametrize("model", ["rf", "adaboost"])
def test_other_models(churn, model, capsys):
    directory, train, test = churn
    classifier = _estimators.MODELS[model][1]
    arguments = ["train", str(train), "--target", "churned", "--ignore", "id", "--model", model,
                 "--out", str(directory / f"{model}.json"), "--quiet"]
    if getattr(_estimators._import_estimator_module(_estimators.MODELS[model][0]), classifier, None) is None:
        assert cli.main(arguments) == 1
        assert f"error: --model {model} needs treeforge.{classifier}" in capsys.readouterr().err
        pytest.skip(f"treeforge.{classifier} is not written yet")
    result = run_cli(*arguments, cwd=directory)
    assert result.returncode == 0, result.stderr
    evaluated = run_cli("eval", f"{model}.json", test, cwd=directory)
    assert evaluated.returncode == 0, evaluated.stderr
    assert float(evaluated.stdout.split("accuracy ")[1].split()[0]) > 0.7


# --------------------------------------------------------------------------------------------
# In-process: options, reading rules, progress
# --------------------------------------------------------------------------------------------


def test_help_lists_defaults_and_version(capsys):
    for command in ("train", "predict", "eval", "info"):
        with pytest.raises(SystemExit) as exit_info:
            cli.main([command, "--help"])
        assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: gbdt)" in text and "(default: auto)" in text and "(default: 0)" in text
    assert "(default: standard output)" in text
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert capsys.readouterr().out.strip() == f"treeforge {treeforge.__version__}"


def test_config_file_then_param_then_seed(tmp_path):
    config = tmp_path / "params.toml"
    config.write_text('learning_rate = 0.05\nmax_iter = 50\nscoring = "loss"\n')
    args = _main.build_parser().parse_args(["train", "d.csv", "--config", str(config), "--param", "max_iter=7",
                                          "l2_regularization=1e-3", "early_stopping=false", "--seed", "4"])
    assert _estimators.collect_params(args) == {"learning_rate": 0.05, "max_iter": 7, "scoring": "loss",
                                        "l2_regularization": 1e-3, "early_stopping": False, "random_state": 4}
    assert [_estimators.parse_value(text) for text in ("None", "3", "2.5", "True", "[1, 2]", "lossguide")] == \
        [None, 3, 2.5, True, [1, 2], "lossguide"]


def test_reader_handles_gzip_sniffed_delimiters_quotes_and_missing_markers(tmp_path):
    text = 'name;size;note\n"a;b";1.5;"say ""hi"""\nc;NA;\nd;null;x\n\ne;2e3;N/A\n'
    with gzip.open(tmp_path / "data.csv.gz", "wt") as handle:
        handle.write(text)
    table, source = read_csv(str(tmp_path / "data.csv.gz"))
    assert source.delimiter == ";" and source.is_gzip
    assert table.column("name").to_pylist() == ["a;b", "c", "d", "e"]
    assert table.column("size").to_pylist() == [1.5, None, None, 2000.0]
    assert table.column("note").to_pylist() == ['say "hi"', None, "x", None]
    assert source.line_of_row(3) == 6  # the blank line is skipped, as pyarrow does


def test_text_column_rules(tmp_path):
    """Text is categorical unless 90% of it are numbers; then the first other value is an error."""
    rows = [[str(i), f"{i}.5" if i != 7 else "?", "red" if i % 3 else "10", "yes" if i % 2 else "no"]
            for i in range(40)]
    write_csv(tmp_path / "d.csv", ["id", "mostly_numbers", "mostly_text", "y"], rows)
    console = _console.Console(quiet=True)
    table, source = read_csv(str(tmp_path / "d.csv"))
    from treeforge.cli._tabular import infer_schema

    with pytest.raises(DataError, match=r"d.csv line 9, column 'mostly_numbers': '\?' is not a number"):
        infer_schema(table, source, "y", ["id"], None, [], console)
    schema = infer_schema(table, source, "y", ["id"], None, ["mostly_numbers"], console)
    assert schema["categories"]["mostly_text"] == ["10", "red"] and "mostly_numbers" in schema["categories"]
    table, source = read_csv(str(tmp_path / "d.csv"), na_values=["?"])
    assert infer_schema(table, source, "y", ["id"], None, [], console)["categories"] == {"mostly_text": ["10", "red"]}


def test_unseen_category_warns_and_becomes_missing(trained, capsys):
    directory, _, _, model_path, _ = trained
    write_csv(directory / "new_plan.csv", ["x1", "x2", "plan"], [["0.1", "0.2", "enterprise"], ["0.1", "0.2", "pro"]])
    assert cli.main(["predict", str(model_path), str(directory / "new_plan.csv"), "--proba"]) == 0
    captured = capsys.readouterr()
    assert "warning: column 'plan': 1 value not seen in training (e.g. 'enterprise') treated as missing" in captured.err
    assert len(captured.out.strip().splitlines()) == 3


def test_progress_redraws_a_bar_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    class Step:
        def __init__(self, n_iter):
            self.n_iter, self.max_iter, self.is_last = n_iter, 4, n_iter == 4
            self.train_score, self.validation_score = [-0.7], [-0.5, -0.25]

    stream = Terminal()
    progress = _console.Progress(_console.Console(), "loss", stream)
    for n_iter in range(1, 5):
        progress(Step(n_iter))
    progress.close()
    text = stream.getvalue()
    # Redrawn at most every 0.1 s: the first and the last steps at least.
    assert 2 <= text.count("\r[") <= 4 and "4/4" in text and "valid loss 0.25" in text and text.endswith("\n")
    quiet = Terminal()
    _console.Progress(_console.Console(quiet=True), "loss", quiet)(Step(1))
    assert quiet.getvalue() == ""


def test_validation_file_and_weights(churn, tmp_path, capsys):
    directory, train, test = churn
    with open(train, newline="") as handle:
        rows = list(csv.reader(handle))
    write_csv(tmp_path / "weighted.csv", rows[0] + ["w"], [row + [str(1 + i % 3)] for i, row in enumerate(rows[1:])])
    model_path = tmp_path / "w.json"
    assert cli.main(["train", str(tmp_path / "weighted.csv"), "--target", "churned", "--ignore", "id", "--weight", "w",
                     "--valid", str(test), "--param", "max_iter=15", "--out", str(model_path)]) == 0
    assert "validation: accuracy" in capsys.readouterr().out
    meta = json.loads(model_path.read_text())["metadata"]["cli"]
    assert meta["weight"] == "w" and meta["rows"] == {"train": 450, "valid": 150}
    assert cli.main(["eval", str(model_path), str(test)]) == 0  # no weight column there: unweighted
    assert "binary on 150 rows: accuracy" in capsys.readouterr().out


def test_plot_draws_a_png_or_says_how_to_get_matplotlib(churn, tmp_path, capsys, monkeypatch):
    directory, train, _ = churn
    plot = tmp_path / "curve.png"
    arguments = ["train", str(train), "--target", "churned", "--ignore", "id", "--valid-fraction", "0.3",
                 "--param", "max_iter=10", "--out", str(tmp_path / "m.json"), "--plot", str(plot), "--quiet"]
    if importlib.util.find_spec("matplotlib") is not None:
        assert cli.main(arguments) == 0
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name: None if name == "matplotlib" else real_find_spec(name))
    capsys.readouterr()
    assert cli.main(arguments) == 1
    assert capsys.readouterr().err == "error: --plot needs matplotlib: pip install 'treeforge[plot]'\n"


def test_task_inference_says_why():
    from treeforge.cli._tabular import infer_task

    assert infer_task(np.array(["b", "a", "b"], dtype=object), "text", "y", "auto") == \
        ("binary", "inferred from the target 'y': 2 classes 'a', 'b'")
    task, reason = infer_task(np.array([1, 2, 3, 5, 3]), "integer", "stars", "auto")
    assert task == "multiclass" and "--task regression overrides" in reason
    assert infer_task(np.linspace(0, 1, 50), "number", "y", "auto")[0] == "regression"
    assert infer_task(np.arange(50), "integer", "y", "auto")[0] == "regression"  # too many values for classes
    with pytest.raises(DataError, match="--task binary, but the target column 'y' has 3 classes"):
        infer_task(np.array([0, 1, 2]), "integer", "y", "binary")


def test_load_demo():
    from treeforge.datasets import load_demo

    X, y, feature_names = load_demo()
    assert X.shape == (3000, 8) and X.dtype == np.float64 and np.isnan(X).any()
    assert set(np.unique(y)) == {"no", "yes"} and feature_names[2:4] == ["contract", "payment_method"]
    assert set(np.unique(X[:, 2])) == {0.0, 1.0, 2.0}  # contract codes, in sorted order of the values
    pytest.importorskip("pandas")
    frame, _, _ = load_demo(as_frame=True)
    assert list(frame.columns) == feature_names and frame["contract"].iloc[0] == "month-to-month"
