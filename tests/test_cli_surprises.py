"""The command line without silent surprises (issue #28), run through ``python -m treeforge``: index
columns left out (item 1), early stopping said (item 2), decimal commas (item 3), and the smaller
ones (item 6: ``--out -``, headerless files, digits of probabilities, progress in a log)."""

import csv
import json
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from treeforge import cli
from treeforge.cli import _tabular

_TIMEOUT = 180


def run_cli(*args, cwd):
    """Run ``python -m treeforge ARGS`` (the installed package, or the one on PYTHONPATH)."""
    return subprocess.run([sys.executable, "-m", "treeforge", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=_TIMEOUT)


def succeeded(result):
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def notes(result):
    return [line for line in result.stderr.splitlines() if line.startswith("note: ")]


def write_csv(path, header, rows, delimiter=","):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
        if header is not None:
            writer.writerow(header)
        writer.writerows(rows)
    return path


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
