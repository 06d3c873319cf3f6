"""The command line without silent surprises (issue #28), run through ``python -m treeforge``: index
columns left out (item 1), early stopping said (item 2), decimal commas (item 3), and the smaller
ones (item 6: ``--out -``, headerless files, digits of probabilities, progress in a log, phases from
the first second, parameters suggested from the model's own)."""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from _cli_run import TIMEOUT, run_cli, succeeded, write_csv

from treeforge import cli
from treeforge.cli import _tabular


def notes(result):
    return [line for line in result.stderr.splitlines() if line.startswith("note: ")]


def cli_metadata(model_path):
    return json.loads(model_path.read_text())["metadata"]["cli"]


def species_rows(n=240, seed=0):
    """Rows sorted by class, as penguins are: the row index alone separates the classes."""
    rng = np.random.default_rng(seed)
    species = np.repeat(["adelie", "chinstrap", "gentoo"], n // 3)
    bill = rng.normal(40, 3, n) + 3 * (species == "gentoo") + rng.normal(0, 2, n)
    mass = rng.normal(4000, 300, n) + 400 * (species == "chinstrap")
    return [[f"{b:.2f}", f"{m:.0f}", s] for b, m, s in zip(bill, mass, species)]


# --------------------------------------------------------------------------------------------
# Item 1: an index column is not a feature
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    """A file as DataFrame.to_csv writes it (a blank first header field, then the row index), the
    model trained on it by the command, and the run."""
    directory = tmp_path_factory.mktemp("indexed")
    rows = species_rows()
    write_csv(directory / "frame.csv", ["", "bill", "mass", "species"], [[i, *row] for i, row in enumerate(rows)])
    write_csv(directory / "plain.csv", ["bill", "mass", "species"], rows)
    result = succeeded(run_cli("train", "frame.csv", "--target", "species", "--param", "max_iter=10",
                               "--out", "model.json", cwd=directory))
    return directory, result


def test_a_blank_named_index_column_is_left_out_with_a_note(indexed):
    directory, result = indexed
    assert ("note: column 1 has no name in the header (a row index, as DataFrame.to_csv writes?): left out of "
            "the features (--keep-index-column keeps it)") in notes(result)
    assert "2 features" in result.stderr
    meta = cli_metadata(directory / "model.json")
    assert meta["features"] == ["bill", "mass"] and meta["index_columns"] == [""] and "" in meta["known"]

    info = succeeded(run_cli("info", "model.json", cwd=directory)).stdout
    assert "index columns left out: (no name)" in info
    feature_lines = info.split("features (2, by importance):\n")[1].splitlines()[:2]
    assert sorted(line.split()[0] for line in feature_lines) == ["bill", "mass"]

    # At predict time the index column, present or not, is skipped silently and changes nothing.
    with_index = succeeded(run_cli("predict", "model.json", "frame.csv", "--proba", cwd=directory))
    without_index = succeeded(run_cli("predict", "model.json", "plain.csv", "--proba", cwd=directory))
    assert with_index.stdout == without_index.stdout and len(with_index.stdout.splitlines()) == 241
    assert "ignoring" not in with_index.stderr and "ignoring" not in without_index.stderr
    assert succeeded(run_cli("eval", "model.json", "frame.csv", cwd=directory)).stdout.startswith("multiclass on 240")


def test_keep_index_column_keeps_it_and_info_names_it(indexed, capsys):
    directory, _ = indexed
    model = directory / "kept.json"
    assert cli.main(["train", str(directory / "frame.csv"), "--target", "species", "--keep-index-column",
                     "--param", "max_iter=5", "--out", str(model), "--quiet"]) == 0
    assert cli_metadata(model)["features"] == ["", "bill", "mass"]
    assert cli.main(["info", str(model)]) == 0
    info = capsys.readouterr().out
    assert "  (no name)  " in info and "index columns left out" not in info
    assert not any(line.strip() and not line.strip().split()[0] for line in info.splitlines())
    assert cli.main(["predict", str(model), str(directory / "frame.csv")]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 241


@pytest.mark.parametrize("name, values, is_index", [
    ("Unnamed: 0", range(240), True),  # pandas reading back a blank header field, saved again
    ("row", range(240), True),
    ("row", range(1, 241), True),
    ("row", range(2, 242), False),
    ("row", range(0, 480, 2), False),
    ("row", [*range(239), 0], False),
])
def test_row_numbers_are_an_index_whatever_the_name(tmp_path, capsys, name, values, is_index):
    rows = species_rows()
    path = write_csv(tmp_path / "d.csv", ["bill", name, "mass", "species"],
                     [[row[0], v, *row[1:]] for row, v in zip(rows, values)])
    model = tmp_path / "m.json"
    assert cli.main(["train", str(path), "--target", "species", "--param", "max_iter=3", "--out", str(model)]) == 0
    err = capsys.readouterr().err
    assert (name in cli_metadata(model)["features"]) is not is_index
    assert (f"column '{name}'" in err and "left out of the features" in err) is is_index


def test_a_file_of_only_an_index_column_says_how_to_keep_it(tmp_path, capsys):
    path = write_csv(tmp_path / "d.csv", ["", "y"], [[i, i % 2] for i in range(30)])
    assert cli.main(["train", str(path), "--target", "y", "--out", str(tmp_path / "m.json")]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: {path}: no feature column is left besides the target, weight, ignored and index columns "
        "(--keep-index-column keeps the index columns)")


def test_row_numbers_rule():
    holds = _tabular._holds_row_numbers
    assert holds(pa.chunked_array([np.arange(5)])) and holds(pa.chunked_array([np.arange(1, 6)]))
    assert not holds(pa.chunked_array([np.arange(5.0)]))  # floats are measurements
    assert not holds(pa.chunked_array([pa.array([0, 1, None, 3])]))
    assert not holds(pa.chunked_array([np.array([0])]))
    assert not holds(pa.chunked_array([np.array([1, 0, 2])]))


# --------------------------------------------------------------------------------------------
# Item 3: decimal commas
# --------------------------------------------------------------------------------------------


def price_rows(n=300, seed=1):
    """Rows of a regression problem as text: two numbers with two decimals, a category, the target."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(10, 3, n), rng.normal(0, 1, n)
    kind = rng.choice(["x", "y"], n)
    price = 2 * a + b + (kind == "y") + rng.normal(0, 0.5, n)
    return [[f"{u:.2f}", f"{v:.3f}", k, f"{p:.2f}"] for u, v, k, p in zip(a, b, kind, price)]


@pytest.fixture(scope="module")
def decimals(tmp_path_factory):
    """The same table as a ';'-separated file with decimal commas, with points, and as a ','-separated
    file with quoted decimal commas."""
    directory = tmp_path_factory.mktemp("decimals")
    rows, header = price_rows(), ["a", "b", "kind", "price"]
    with_commas = [[field.replace(".", ",") for field in row] for row in rows]
    write_csv(directory / "commas.csv", header, with_commas, delimiter=";")
    write_csv(directory / "points.csv", header, rows, delimiter=";")
    write_csv(directory / "quoted.csv", header, with_commas)
    return directory


def test_decimal_commas_of_a_semicolon_file_are_detected_with_a_note(decimals):
    trained = succeeded(run_cli("train", "commas.csv", "--target", "price", "--param", "max_iter=10",
                                "--out", "commas.json", cwd=decimals))
    assert ("note: commas.csv: numbers read with a decimal comma (1,5 is 1.5), as this ';'-separated file "
            "writes them (--decimal . reads a comma as text)") in notes(trained)
    assert "task: regression" in trained.stdout and "(1 categorical)" in trained.stderr
    assert cli_metadata(decimals / "commas.json")["categories"] == {"kind": ["x", "y"]}
    succeeded(run_cli("train", "points.csv", "--target", "price", "--param", "max_iter=10", "--out", "points.json",
                      "--quiet", cwd=decimals))
    # The same numbers, the same model; predict detects the commas again.
    from_commas = succeeded(run_cli("predict", "commas.json", "commas.csv", cwd=decimals))
    from_points = succeeded(run_cli("predict", "points.json", "points.csv", cwd=decimals))
    assert from_commas.stdout == from_points.stdout and len(from_commas.stdout.splitlines()) == 301
    assert "decimal comma" in from_commas.stderr and "decimal comma" not in from_points.stderr


def test_decimal_option_reads_quoted_decimal_commas(decimals, capsys):
    model = decimals / "quoted.json"
    assert cli.main(["train", str(decimals / "quoted.csv"), "--target", "price", "--decimal", ",",
                     "--param", "max_iter=10", "--out", str(model), "--quiet"]) == 0
    assert cli_metadata(model)["categories"] == {"kind": ["x", "y"]}
    assert cli.main(["eval", str(model), str(decimals / "quoted.csv"), "--decimal", ","]) == 0
    assert capsys.readouterr().out.startswith("regression on 300 rows: rmse")


@pytest.mark.parametrize("arguments, message", [
    (["quoted.csv", "--target", "price"],
     "error: quoted.csv, column 'a': numbers written with a decimal comma (e.g. '11,04') would become categories: "
     "--decimal , reads them as numbers; --categorical a keeps them as categories"),
    (["commas.csv", "--target", "price", "--decimal", "."],
     "error: commas.csv, column 'a': numbers written with a decimal comma (e.g. '11,04') would become categories: "
     "--decimal , reads them as numbers; --categorical a keeps them as categories"),
    (["points.csv", "--target", "price", "--decimal", ","],
     "error: points.csv, column 'a': numbers written with a decimal point (e.g. '11.04') would become categories: "
     "--decimal . reads them as numbers; --categorical a keeps them as categories"),
    (["commas.csv", "--target", "price", "--decimal", ".", "--categorical", "a", "b"],
     "error: commas.csv, column 'price': numbers written with a decimal comma (e.g. '20,83') would become class "
     "labels: --decimal , reads them as numbers; --task regression needs them read as numbers"),
])
def test_numbers_never_become_categories_silently(decimals, monkeypatch, capsys, arguments, message):
    monkeypatch.chdir(decimals)
    assert cli.main(["train", *arguments, "--out", "never.json"]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == message
    assert not (decimals / "never.json").exists()


def test_categorical_keeps_decimal_commas_as_categories_when_asked(decimals, capsys):
    model = decimals / "as_categories.json"
    assert cli.main(["train", str(decimals / "quoted.csv"), "--target", "kind", "--categorical", "a", "b",
                     "--ignore", "price", "--param", "max_iter=3", "--out", str(model)]) == 0
    err = capsys.readouterr().err
    assert set(cli_metadata(model)["categories"]) == {"a", "b"}
    # Many levels for the rows: each is named before training.
    assert "note: column 'a' has 261 distinct values in 300 rows: an identifier? (--ignore a)" in err
    assert err.index("distinct values") < err.index("note: training")


def test_decimal_comma_detection_needs_commas_and_no_points(tmp_path):
    cases = {"commas": ("a;b\n1,5;2\n2,5;3\n", ","), "points": ("a;b\n1.5;2\n2.5;3\n", "."),
             "both": ("a;b\n1,5;2.5\n2,5;3\n", "."), "integers": ("a;b\n1;2\n3;4\n", "."),
             "comma file": ('a,b\n"1,5",2\n"2,5",3\n', ".")}
    for name, (text, decimal) in cases.items():
        (tmp_path / "d.csv").write_text(text)
        source = _tabular.CsvFile(str(tmp_path / "d.csv"))
        assert (source.decimal, source.decimal_detected) == (decimal, decimal == ","), name
    assert _tabular.CsvFile(str(tmp_path / "d.csv"), decimal=",").decimal == ","


# --------------------------------------------------------------------------------------------
# Item 2: early stopping is said
# --------------------------------------------------------------------------------------------


def noisy_rows(n, seed=2):
    """A noisy binary problem on which boosting at a high learning rate stops early soon."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    labels = np.where(X[:, 0] + X[:, 1] * X[:, 2] + rng.normal(0, 1.5, n) > 0, "up", "down")
    return [[f"{v:.3f}" for v in row] + [label] for row, label in zip(X, labels)]


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    directory = tmp_path_factory.mktemp("large")
    write_csv(directory / "large.csv", ["a", "b", "c", "move"], noisy_rows(12_000))
    write_csv(directory / "small.csv", ["a", "b", "c", "move"], noisy_rows(600, seed=3))
    return directory


def test_early_stopping_above_10000_rows_is_said_and_summarised(large):
    import treeforge

    result = succeeded(run_cli("train", "large.csv", "--target", "move", "--param", "max_iter=300",
                               "learning_rate=0.8", "--out", "model.json", cwd=large))
    assert ("note: early stopping is on (more than 10000 rows): 1200 held-out rows (of 12000) score the loss "
            "(log_loss) after each iteration, and training stops after 10 iterations without improvement "
            "(--early-stopping off trains every iteration)") in notes(result)
    assert "note: training HistGradientBoostingClassifier on 10800 rows" in result.stderr
    model = treeforge.load_model(large / "model.json")
    best = int(np.argmax(model.validation_score_))
    assert model.n_iter_ < 300 and best < model.n_iter_
    lines = result.stdout.splitlines()
    assert lines[1].startswith("trained HistGradientBoostingClassifier (") and \
        lines[1].endswith(" on 10800 rows, 1200 held out in " + lines[1].split(" held out in ")[1])
    assert lines[2] == (f"early stopping: stopped at iteration {model.n_iter_} of 300; best {best} "
                        f"(validation loss {-model.validation_score_[best]:.5g})")
    assert lines[3].startswith("validation: accuracy ")
    assert cli_metadata(large / "model.json")["rows"] == {"train": 10800, "valid": 1200}


def test_early_stopping_off_trains_every_row_and_iteration(large, capsys):
    model = large / "off.json"
    assert cli.main(["train", str(large / "large.csv"), "--target", "move", "--early-stopping", "off",
                     "--param", "max_iter=15", "--out", str(model)]) == 0
    captured = capsys.readouterr()
    assert "early stopping" not in captured.err + captured.out
    assert "on 12000 rows in" in captured.out and "training data (not held out): accuracy" in captured.out
    assert cli_metadata(model)["rows"] == {"train": 12000, "valid": 0}


def test_early_stopping_on_holds_out_rows_of_a_small_file(large, capsys):
    model = large / "on.json"
    assert cli.main(["train", str(large / "small.csv"), "--target", "move", "--early-stopping", "on",
                     "--param", "max_iter=200", "learning_rate=0.8", "validation_fraction=0.2",
                     "--out", str(model)]) == 0
    captured = capsys.readouterr()
    assert "note: early stopping is on: 120 held-out rows (of 600) score the loss (log_loss)" in captured.err
    assert "on 480 rows, 120 held out in" in captured.out and "early stopping: stopped at iteration" in captured.out
    assert cli_metadata(model)["rows"] == {"train": 480, "valid": 120}


def test_early_stopping_off_with_a_validation_file(large, capsys):
    assert cli.main(["train", str(large / "small.csv"), "--target", "move", "--valid", str(large / "small.csv"),
                     "--early-stopping", "off", "--param", "max_iter=12", "--out", str(large / "v.json")]) == 0
    captured = capsys.readouterr()
    assert ("note: early stopping is off: all 12 iterations are trained, and the 600 validation rows give the "
            "final metrics only") in captured.err
    assert "(12 iterations, " in captured.out and "validation: accuracy" in captured.out


@pytest.mark.parametrize("arguments, message", [
    (["--model", "rf", "--early-stopping", "on"],
     "error: --early-stopping on needs --model gbdt: --model rf grows every tree it is asked for"),
    (["--model", "adaboost", "--early-stopping", "on"],
     "error: --early-stopping on needs --model gbdt: --model adaboost grows every tree it is asked for"),
    (["--early-stopping", "off", "--param", "early_stopping=true"],
     "error: --early-stopping and --param early_stopping are both given: keep one"),
])
def test_early_stopping_option_errors(large, capsys, arguments, message):
    assert cli.main(["train", str(large / "small.csv"), "--target", "move", *arguments,
                     "--out", str(large / "never.json")]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == message


def test_forests_accept_early_stopping_off(large, capsys):
    assert cli.main(["train", str(large / "small.csv"), "--target", "move", "--model", "rf", "--early-stopping",
                     "off", "--param", "n_estimators=5", "--out", str(large / "rf.json"), "--quiet"]) == 0


def test_early_stopping_cannot_change_when_resuming(large, capsys):
    arguments = ["train", str(large / "small.csv"), "--target", "move", "--param", "max_iter=10",
                 "--checkpoint-every", "5", "--out", str(large / "resumable.json"), "--quiet"]
    assert cli.main(arguments) == 0
    # The checkpoint of iteration 5 stays beside the model: resuming may not change early stopping.
    checkpoint = large / "resumable.checkpoint.json"
    assert cli.main(["train", "--resume", str(checkpoint), "--early-stopping", "on"]) == 1
    assert capsys.readouterr().err == "error: --early-stopping cannot be changed when resuming: the checkpoint keeps it\n"


# --------------------------------------------------------------------------------------------
# Item 6: --out -, headerless files, digits, progress in a log, phases, parameter suggestions
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def species(tmp_path_factory):
    """A species file with a header and the same rows without one; a model trained on each."""
    directory = tmp_path_factory.mktemp("species")
    rows = species_rows(seed=4)
    write_csv(directory / "header.csv", ["bill", "mass", "species"], rows)
    write_csv(directory / "bare.csv", None, rows)
    assert cli.main(["train", str(directory / "header.csv"), "--target", "species", "--param", "max_iter=8",
                     "--out", str(directory / "header.json"), "--quiet"]) == 0
    return directory


def test_out_dash_writes_predictions_to_standard_output(species):
    result = succeeded(run_cli("predict", "header.json", "header.csv", "--proba", "--out", "-", cwd=species))
    assert result.stdout.splitlines()[0] == "prediction,proba_adelie,proba_chinstrap,proba_gentoo"
    assert len(result.stdout.splitlines()) == 241 and "written to" not in result.stderr
    assert not (species / "-").exists()
    refused = run_cli("train", "header.csv", "--target", "species", "--out", "-", cwd=species)
    assert refused.returncode == 1 and not (species / "-").exists()
    assert refused.stderr == "error: --out -: train writes its model to a file, not to standard output; name the file\n"


def _run_buffered(*args, cwd):
    """run_cli with standard output block-buffered, as in any pipe (PYTHONUNBUFFERED left out)."""
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    return subprocess.run([sys.executable, "-m", "treeforge", *args], cwd=cwd, env=environment, capture_output=True,
                          text=True, timeout=TIMEOUT)


def test_every_line_reaches_a_pipe(species, capsys):
    # The command ends with os._exit (cli.run) once its streams are flushed: info's lines, still in
    # stdout's buffer when it returns, and predictions of many pipe buffers must all reach the reader.
    assert cli.main(["info", str(species / "header.json")]) == 0
    assert succeeded(_run_buffered("info", "header.json", cwd=species)).stdout == capsys.readouterr().out
    write_csv(species / "many.csv", ["bill", "mass", "species"], species_rows(n=60_000, seed=5))
    piped = succeeded(_run_buffered("predict", "header.json", "many.csv", "--proba", "--out", "-", cwd=species))
    succeeded(run_cli("predict", "header.json", "many.csv", "--proba", "--out", "many_out.csv", cwd=species))
    assert len(piped.stdout.splitlines()) == 60_001 and piped.stdout == (species / "many_out.csv").read_text()


def test_headerless_files_with_no_header_and_columns(species, capsys):
    trained = succeeded(run_cli("train", "bare.csv", "--no-header", "--target", "column_2", "--param", "max_iter=8",
                                "--out", "bare.json", cwd=species))
    assert "task: multiclass (inferred from the target 'column_2'" in trained.stdout
    assert cli_metadata(species / "bare.json")["features"] == ["column_0", "column_1"]
    from_bare = succeeded(run_cli("predict", "bare.json", "bare.csv", "--no-header", "--proba", cwd=species))
    from_header = succeeded(run_cli("predict", "header.json", "header.csv", "--proba", cwd=species))
    assert from_bare.stdout == from_header.stdout  # the same rows, the same model: names by position

    # --columns names them: the model then reads files with that header.
    assert cli.main(["train", str(species / "bare.csv"), "--columns", "bill,mass,species", "--target", "species",
                     "--param", "max_iter=8", "--out", str(species / "named.json"), "--quiet"]) == 0
    assert cli.main(["predict", str(species / "named.json"), str(species / "header.csv"), "--proba"]) == 0
    assert capsys.readouterr().out == from_header.stdout
    assert cli.main(["eval", str(species / "named.json"), str(species / "bare.csv"), "--columns",
                     "bill, mass, species"]) == 0
    assert capsys.readouterr().out.startswith("multiclass on 240 rows: accuracy")


@pytest.mark.parametrize("arguments, message", [
    (["predict", "bare.json", "header.csv"],
     "error: header.csv lacks the feature columns 'column_0', 'column_1' that the model was trained with "
     "(it was trained on a file without a header: pass --no-header)"),
    (["train", "header.csv", "--columns", "bill,mass,species", "--target", "species"],
     "error: header.csv line 1 is a header naming the columns as --columns does: --columns is for a file "
     "without one (leave it out)"),
    (["train", "bare.csv", "--columns", "bill,mass", "--target", "mass"],
     "error: --columns names 2 columns, but bare.csv line 1 has 3 fields"),
])
def test_headerless_errors(species, monkeypatch, capsys, arguments, message):
    monkeypatch.chdir(species)
    if not (species / "bare.json").exists():
        assert cli.main(["train", "bare.csv", "--no-header", "--target", "column_2", "--out", "bare.json",
                         "--quiet"]) == 0
    assert cli.main(arguments) == 1
    assert capsys.readouterr().err.splitlines()[-1] == message


def test_column_names_must_not_be_empty(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "d.csv", "--columns", "a,,b", "--target", "a"])
    assert exit_info.value.code == 2 and "none empty" in capsys.readouterr().err


def test_probabilities_have_six_significant_digits_or_precision(species, capsys):
    def table(*extra):
        assert cli.main(["predict", str(species / "header.json"), str(species / "header.csv"), "--proba", *extra]) == 0
        return [row[1:] for row in csv.reader(capsys.readouterr().out.splitlines()[1:])]

    def digits(text):
        mantissa = text.split("e")[0].replace("-", "").replace(".", "").lstrip("0")
        return len(mantissa)

    default, three = table(), table("--precision", "3")
    assert max(digits(value) for row in default for value in row) == 6
    assert max(digits(value) for row in three for value in row) <= 3
    assert all(abs(sum(map(float, row)) - 1) < 1e-5 for row in default)
    np.testing.assert_allclose(np.array(three, dtype=float), np.array(default, dtype=float), rtol=5e-3, atol=1e-12)


def test_regression_predictions_are_whole_unless_precision_is_given(tmp_path, capsys):
    write_csv(tmp_path / "d.csv", ["a", "b", "kind", "price"], price_rows(100))
    model = tmp_path / "m.json"
    assert cli.main(["train", str(tmp_path / "d.csv"), "--target", "price", "--param", "max_iter=5",
                     "--out", str(model), "--quiet"]) == 0
    assert cli.main(["predict", str(model), str(tmp_path / "d.csv")]) == 0
    whole = np.array(capsys.readouterr().out.split()[1:], dtype=float)
    assert cli.main(["predict", str(model), str(tmp_path / "d.csv"), "--precision", "4"]) == 0
    rounded = capsys.readouterr().out.split()[1:]
    assert rounded == [f"{value:.4g}" for value in whole]


def test_rounding_to_significant_digits_matches_formatting():
    from treeforge.cli._commands import round_significant

    rng = np.random.default_rng(0)
    values = rng.normal(size=2000) * 10.0 ** rng.integers(-30, 30, size=2000)
    values[:6] = [0.0, np.nan, np.inf, -np.inf, 0.5, 999999.5]
    for digits in (1, 3, 6, 9, 12, 15):
        expected = np.array([float(f"{value:.{digits}g}") for value in values])
        np.testing.assert_array_equal(round_significant(values, digits), expected)


class _Step:
    """What Progress sees of an iteration: ``BoostingProgress``'s attributes."""

    def __init__(self, n_iter, max_iter, is_last, validation_score=()):
        self.n_iter, self.max_iter, self.is_last = n_iter, max_iter, is_last
        self.train_score, self.validation_score = [], list(validation_score)


def _log_of(steps, seconds_per_step, console=None):
    """The progress lines written to a log (not a terminal) for ``steps``, on a clock that advances
    ``seconds_per_step`` at each."""
    import io

    from treeforge.cli import _console

    now = [0.0]
    stream = io.StringIO()
    progress = _console.Progress(console or _console.Console(), "loss", stream, clock=lambda: now[0])
    for step in steps:
        now[0] += seconds_per_step
        progress(step)
    progress.close()
    return stream.getvalue().splitlines()


def test_progress_in_a_log_prints_a_few_lines_with_real_times():
    quick = _log_of([_Step(i, 10, i == 10) for i in range(1, 11)], 0.03)
    assert quick == ["iteration 10/10  done  elapsed 0.3 s"]  # one line for a 0.3 s fit, not ten of 0:00
    slow = _log_of([_Step(i, 100, i == 100) for i in range(1, 101)], 0.5)
    # After about 1, 3, 7, 15 and 31 s, then the last: intervals double up to a minute.
    assert [line.split("  ")[0] for line in slow] == [f"iteration {i}/100" for i in (2, 6, 14, 30, 62, 100)]
    assert slow[1] == "iteration 6/100  elapsed 3.0 s  remaining 47 s" and slow[-1].endswith("done  elapsed 50 s")
    hours = _log_of([_Step(i, 4000, i == 4000) for i in range(1, 4001)], 1.0)
    assert 60 < len(hours) < 75 and hours[-1] == "iteration 4000/4000  done  elapsed 1:06:40"


def test_progress_says_where_early_stopping_ended():
    scores = [-0.9, -0.5, -0.4, -0.3, -0.35, -0.36, -0.37]
    steps = [_Step(i, 20, i == 6, scores[:i + 1]) for i in range(1, 7)]
    assert _log_of(steps, 0.1) == ["iteration 6/20  stopped early at 6 (best 3)  elapsed 0.6 s  valid loss 0.37"]

    import io

    from treeforge.cli import _console

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    progress = _console.Progress(_console.Console(), "loss", stream)
    for step in steps:
        progress(step)
    progress.close()
    assert "stopped early at 6 (best 3)" in stream.getvalue().split("\r")[-1]


def test_progress_of_a_run_through_the_command(large):
    result = succeeded(run_cli("train", "large.csv", "--target", "move", "--param", "max_iter=300",
                               "learning_rate=0.8", "--out", "progress.json", cwd=large))
    import treeforge

    model = treeforge.load_model(large / "progress.json")
    lines = [line for line in result.stderr.splitlines() if line.startswith("iteration ")]
    assert lines[-1].startswith(f"iteration {model.n_iter_}/300  stopped early at {model.n_iter_} "
                                f"(best {int(np.argmax(model.validation_score_))})  elapsed ")
    assert len(lines) <= 8 and "0:00" not in result.stderr


def test_train_says_each_phase_before_it_runs(species, tmp_path):
    result = succeeded(run_cli("train", species / "header.csv", "--target", "species", "--param", "max_iter=5",
                               "--out", tmp_path / "model.json", cwd=tmp_path))
    lines = result.stderr.splitlines()
    reading = lines.index(f"note: reading {species / 'header.csv'} ...")
    read = next(i for i, line in enumerate(lines) if line.startswith("note: read 240 rows in "))
    training = next(i for i, line in enumerate(lines) if line.startswith("note: training "))
    first_iteration = next(i for i, line in enumerate(lines) if line.startswith("iteration "))
    assert reading == 0 and reading < read < training < first_iteration
    assert lines[read].endswith(" s")  # the time it took
    assert lines[training].endswith(", binning first ...")  # the estimator prints nothing while it bins

    quiet = succeeded(run_cli("train", species / "header.csv", "--target", "species", "--param", "max_iter=5",
                              "--out", tmp_path / "quiet.json", "--quiet", cwd=tmp_path))
    assert quiet.stderr == "" and quiet.stdout == ""


@pytest.mark.parametrize("model, given, suggested, meaning", [
    ("rf", "max_iter", "n_estimators", "the number of trees"),
    ("adaboost", "max_iter", "n_estimators", "the number of trees"),
    ("gbdt", "n_estimators", "max_iter", "the number of trees"),
    ("rf", "num_leaves", "max_leaf_nodes", "the leaves per tree"),
])
def test_a_parameter_of_another_model_suggests_this_models_own(species, tmp_path, model, given, suggested, meaning):
    result = run_cli("train", species / "header.csv", "--target", "species", "--model", model,
                     "--param", f"{given}=200", "--out", tmp_path / "m.json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    # Not 'max_bins', the nearest spelling of 'max_iter' among a forest's parameters.
    assert result.stderr == (f"error: unknown parameter '{given}' for --model {model}; "
                             f"did you mean '{suggested}' ({meaning})?\n")
    assert os.listdir(tmp_path) == []  # refused before reading, nothing written
