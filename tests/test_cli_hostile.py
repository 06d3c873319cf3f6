"""The command line on hostile input (issue 22): it never writes over an input (item 4), its column
lookups are linear (item 5), damaged input is a one-line error naming the file (item 6), and outputs
are written atomically, through symbolic links, checked before training (item 11)."""

import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

import treeforge
from treeforge import _files, cli
from treeforge.cli import _tabular

_TIMEOUT = 180


def write_rows(path, header, rows):
    path.write_text("\n".join(",".join(map(str, row)) for row in [header, *rows]) + "\n")
    return path


def small_rows(n=60, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    return ["a", "b", "y"], [[f"{u:.4f}", f"{v:.4f}", "yes" if u + v > 0 else "no"] for u, v in x]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """(directory, d.csv, m.json) with a model trained on d.csv by the command."""
    directory = tmp_path_factory.mktemp("hostile")
    data = write_rows(directory / "d.csv", *small_rows())
    assert cli.main(["train", str(data), "--target", "y", "--param", "max_iter=3", "--out",
                     str(directory / "m.json"), "--quiet"]) == 0
    return directory, data, directory / "m.json"


def is_phase(line):
    return re.fullmatch(r"note: (reading .* \.\.\.|read \d+ rows in .*)", line) is not None


def one_error_line(capsys):
    """The one error line on stderr, after at most the phase lines of train (reading, read)."""
    err = [line for line in capsys.readouterr().err.strip().splitlines() if not is_phase(line)]
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def files_of(directory):
    return {path.name: path.read_bytes() for path in directory.iterdir() if path.is_file()}


# --------------------------------------------------------------------------------------------
# Item 4: an output is never one of the inputs
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command, out", [
    ("train", "d.csv"), ("train", "./sub/../d.csv"), ("train", "link.csv"), ("train", "hard.csv"),
    ("train-valid", "v.csv"), ("predict", "d.csv"), ("predict", "m.json"), ("predict", "link.json"),
    ("predict", "./m.json"),
])
def test_an_output_is_never_an_input(workspace, tmp_path, monkeypatch, capsys, command, out):
    directory, data, model = workspace
    for path in (data, model):
        shutil.copy(path, tmp_path / path.name)
    shutil.copy(data, tmp_path / "v.csv")
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.csv").symlink_to("d.csv")
    (tmp_path / "link.json").symlink_to(tmp_path / "m.json")
    os.link(tmp_path / "d.csv", tmp_path / "hard.csv")
    monkeypatch.chdir(tmp_path)
    before = files_of(tmp_path)
    arguments = {"train": ["train", "d.csv", "--target", "y", "--param", "max_iter=2"],
                 "train-valid": ["train", "d.csv", "--valid", "v.csv", "--target", "y", "--param", "max_iter=2"],
                 "predict": ["predict", "m.json", "d.csv"]}[command.split()[0]]
    assert cli.main([*arguments, "--out", out]) == 1
    assert "is the same file as" in one_error_line(capsys)
    assert files_of(tmp_path) == before and not list((tmp_path / "sub").iterdir())
    assert (tmp_path / "link.csv").is_symlink() and (tmp_path / "link.json").is_symlink()


# --------------------------------------------------------------------------------------------
# Item 11: outputs checked before training, errors naming them; atomic writes
# --------------------------------------------------------------------------------------------


def test_an_unwritable_output_directory_is_found_before_training(workspace, monkeypatch, capsys):
    _, data, _ = workspace

    def refuse(prefix="", suffix="", dir=None):
        raise PermissionError(13, "Permission denied", os.path.join(dir, f"{prefix}XXXX{suffix}"))

    monkeypatch.setattr(_files.tempfile, "mkstemp", refuse)
    out = os.path.join(os.path.dirname(data), "locked.json")
    assert cli.main(["train", str(data), "--target", "y", "--out", out]) == 1
    err = capsys.readouterr().err
    assert err == f"error: cannot write {out}: Permission denied\n"  # nothing trained, no temporary name
    estimator = treeforge.HistGradientBoostingClassifier(max_iter=2).fit(np.eye(4), [0, 1, 0, 1])
    with pytest.raises(PermissionError) as info:
        estimator.save_model(out)
    assert info.value.filename == out and _files.TEMP_SUFFIX not in str(info.value)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs permissions that bind (not root)")
def test_a_read_only_directory_is_reported_naming_the_output(workspace, tmp_path, capsys):
    _, data, _ = workspace
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert cli.main(["train", str(data), "--target", "y", "--out", str(locked / "m.json")]) == 1
        assert one_error_line(capsys) == f"error: cannot write {locked / 'm.json'}: Permission denied"
    finally:
        locked.chmod(0o700)


def test_saving_through_a_symlink_replaces_its_target(workspace, tmp_path):
    estimator = treeforge.load_model(workspace[2])
    target, link = tmp_path / "models" / "real.json", tmp_path / "link.json"
    target.parent.mkdir()
    target.write_text("old")
    target.chmod(0o600)
    link.symlink_to(target)
    estimator.save_model(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert oct(target.stat().st_mode & 0o777) == oct(0o600)
    assert treeforge.load_model(target).n_iter_ == estimator.n_iter_
    assert sorted(p.name for p in target.parent.iterdir()) == ["real.json"]


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_a_killed_save_leaves_a_recognisable_file_that_the_next_save_removes(workspace, tmp_path):
    estimator = treeforge.load_model(workspace[2])
    path = tmp_path / "model.json"
    code = ("import os, signal, sys; from treeforge import _files; "
            "_files._temporary_file(sys.argv[1], sys.argv[1]); os.kill(os.getpid(), signal.SIGKILL)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.path.dirname(os.path.dirname(treeforge.__file__)),
                                                        os.environ.get("PYTHONPATH", "")])}
    for _ in range(2):
        killed = subprocess.run([sys.executable, "-c", code, str(path)], env=env, timeout=_TIMEOUT)
        assert killed.returncode == -signal.SIGKILL
    orphans = [p.name for p in tmp_path.iterdir()]
    assert len(orphans) == 2 and all(name.startswith(".model.json.") and name.endswith(_files.TEMP_SUFFIX)
                                     for name in orphans)
    mine = tmp_path / f".model.json.{os.getpid()}.inprogress{_files.TEMP_SUFFIX}"  # a live process's write
    mine.write_text("")
    (tmp_path / f".other.json.{2**30 + 1}.x{_files.TEMP_SUFFIX}").write_text("")  # another file's: kept
    estimator.save_model(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [mine.name, f".other.json.{2**30 + 1}.x{_files.TEMP_SUFFIX}", "model.json"])


# --------------------------------------------------------------------------------------------
# Item 5: column lookups are linear in the number of columns
# --------------------------------------------------------------------------------------------


class CountingTable:
    """A pyarrow Table that counts how often its (freshly built) ``column_names`` list is asked for."""

    def __init__(self, table):
        self.table, self.name_lists = table, 0

    @property
    def column_names(self):
        self.name_lists += 1
        return self.table.column_names

    def __getattr__(self, name):
        return getattr(self.table, name)


def test_many_columns_are_matched_by_name_with_one_list_of_names(tmp_path, capsys):
    rng = np.random.default_rng(5)
    n_columns, n_rows = 3000, 30
    values = rng.normal(size=(n_rows, n_columns))
    names = [f"c{j}" for j in range(n_columns)]
    order = rng.permutation(n_columns)  # the file's columns in another order than the model's
    table = pa.table({names[j]: values[:, j] for j in order} | {"id": np.arange(n_rows), "extra": np.zeros(n_rows)})
    features = [names[j] for j in range(0, n_columns, 2)] + [names[j] for j in range(1, n_columns, 2)]
    schema = {"features": features, "categories": {}, "known": ["id"]}
    counting = CountingTable(table)
    source = _tabular.CsvFile.__new__(_tabular.CsvFile)
    source.path = "wide.csv"
    X = _tabular.features_matrix(counting, source, schema, console=cli._console.Console())
    expected = np.column_stack([values[:, int(name[1:])] for name in features])
    np.testing.assert_array_equal(X, expected)
    assert X.flags.c_contiguous and X.shape == (n_rows, n_columns)
    assert counting.name_lists <= 2, f"the list of {n_columns + 2} names was built {counting.name_lists} times"
    assert capsys.readouterr().err == "note: ignoring column the model does not use: extra\n"
    with pytest.raises(_tabular.DataError, match="lacks the feature columns 'c1', 'c3'"):
        _tabular.features_matrix(CountingTable(table.drop_columns(["c1", "c3"])), source, schema)


# --------------------------------------------------------------------------------------------
# Item 6: damaged input is one line naming the file
# --------------------------------------------------------------------------------------------


def _gzip_cases(directory):
    header, rows = small_rows(3000)
    text = ("\n".join(",".join(row) for row in [header, *rows]) + "\n").encode()
    packed = gzip.compress(text)
    (directory / "truncated.csv.gz").write_bytes(packed[: len(packed) // 2])
    corrupt = bytearray(packed)
    corrupt[20:60] = bytes(b ^ 0xFF for b in corrupt[20:60])
    (directory / "corrupt.csv.gz").write_bytes(bytes(corrupt))
    late = bytearray(packed)
    late[-200:-20] = bytes(b ^ 0xFF for b in late[-200:-20])  # past the 64 KiB the delimiter is sniffed from
    (directory / "late.csv.gz").write_bytes(bytes(late))


@pytest.mark.parametrize("name, extra, fragments", [
    ("truncated.csv.gz", [], ["truncated.csv.gz", "gzip"]),
    ("corrupt.csv.gz", [], ["corrupt.csv.gz", "gzip"]),
    ("late.csv.gz", [], ["late.csv.gz"]),
    ("truncated.csv.gz", ["--delimiter", ","], ["truncated.csv.gz", "gzip"]),
    ("no_target.csv", [], ["no_target.csv: every value of the target column 'y' is missing"]),
    ("no_text_target.csv", [], ["no_text_target.csv: every value of the target column 'y' is missing"]),
    ("long.csv", [], ["long.csv line 4: a record longer than 1 MiB"]),
    ("latin1.csv", [], ["latin1.csv line 4: the text is not UTF-8"]),
    ("latin1.csv", ["--categorical", "b"], ["latin1.csv line 4: the text is not UTF-8"]),
])
def test_damaged_data_is_one_error_line_naming_the_file(tmp_path, monkeypatch, capsys, name, extra, fragments):
    _gzip_cases(tmp_path)
    write_rows(tmp_path / "no_target.csv", ["a", "b", "y"], [[1, 2, ""], [3, 4, "NA"], [5, 6, ""]])
    write_rows(tmp_path / "no_text_target.csv", ["a", "b", "y"], [[1, "u", ""], [3, "v", "NA"], [5, "w", ""]])
    write_rows(tmp_path / "long.csv", ["a", "b", "y"], [[1, 2, 0], [3, 4, 1], [5, "x" * 2_500_000, 0], [1, 2, 1]])
    (tmp_path / "latin1.csv").write_bytes(b"a,b,y\n1,x,0\n3,y,1\n5,caf\xe9,0\n1,z,1\n")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["train", name, "--target", "y", *extra, "--out", "m.json"]) == 1
    line = one_error_line(capsys)
    assert all(fragment in line for fragment in fragments), line
    assert not os.path.exists("m.json")


def _edited_model(model, directory, edit):
    document = json.loads(model.read_text())
    edit(document["metadata"]["cli"])
    path = directory / "edited.json"
    document.pop("checksum", None)  # edited on purpose: validated without it
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize("command", ["info", "predict", "eval"])
@pytest.mark.parametrize("edit, fragment", [
    (lambda meta: meta.pop("task"), "lacks the key 'task'"),
    (lambda meta: meta.pop("features"), "lacks the key 'features'"),
    (lambda meta: meta.pop("categories"), "lacks the key 'categories'"),
    (lambda meta: meta.pop("target"), "lacks the key 'target'"),
    (lambda meta: meta.pop("target_kind"), "lacks the key 'target_kind'"),
    (lambda meta: meta.pop("weight"), "lacks the key 'weight'"),
    (lambda meta: meta.update(features="a"), "'features' must be a list"),
    (lambda meta: meta.update(features=["a"]), "names 1 features, the model has 2"),
    (lambda meta: meta.update(rows={"train": 3}), "'rows' must map"),
])
def test_model_metadata_missing_a_key_is_one_error_line(workspace, tmp_path, capsys, command, edit, fragment):
    _, data, model = workspace
    path = _edited_model(model, tmp_path, edit)
    assert cli.main([command, str(path)] + ([str(data)] if command != "info" else [])) == 1
    line = one_error_line(capsys)
    assert line.startswith(f"error: {path}: ") and fragment in line, line
