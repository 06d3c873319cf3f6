"""The command line on paths that are not what they seem (issue 22): an input that is not a regular
file (a FIFO, /dev/zero, a directory, a socket) is refused before it is opened, with one line naming
it, instead of blocking for ever (item 2); an output that cannot be written is refused before any
input is read (item 3)."""

import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from treeforge import _files, cli
from treeforge.cli import _commands, _tabular

# A child that still runs after this long is taken as hung (each needs a few seconds to start).
_DEADLINE = 120


def _write_rows(path, n=60, seed=0):
    rng = np.random.default_rng(seed)
    rows = [f"{u:.4f},{v:.4f},{'yes' if u + v > 0 else 'no'}" for u, v in rng.normal(size=(n, 2))]
    path.write_text("a,b,y\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A directory with d.csv, a model m.json trained on it, a FIFO, a directory and a socket."""
    directory = tmp_path_factory.mktemp("special")
    data = _write_rows(directory / "d.csv")
    assert cli.main(["train", str(data), "--target", "y", "--param", "max_iter=3", "--out",
                     str(directory / "m.json"), "--quiet"]) == 0
    os.mkfifo(directory / "fifo")
    (directory / "folder.csv").mkdir()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(directory / "sock.csv"))
    yield directory
    server.close()


# (arguments with {dir} for the workspace, the path the error must name)
INPUT_CASES = {
    "train DATA fifo": (["train", "{dir}/fifo", "--target", "y"], "{dir}/fifo"),
    "train --valid fifo": (["train", "{dir}/d.csv", "--target", "y", "--valid", "{dir}/fifo"], "{dir}/fifo"),
    "train --config fifo": (["train", "{dir}/d.csv", "--target", "y", "--config", "{dir}/fifo"], "{dir}/fifo"),
    "train --resume fifo": (["train", "--resume", "{dir}/fifo"], "{dir}/fifo"),
    "train DATA /dev/zero": (["train", "/dev/zero", "--target", "y"], "/dev/zero"),
    "train DATA directory": (["train", "{dir}/folder.csv", "--target", "y"], "{dir}/folder.csv"),
    "train DATA socket": (["train", "{dir}/sock.csv", "--target", "y"], "{dir}/sock.csv"),
    "predict DATA fifo": (["predict", "{dir}/m.json", "{dir}/fifo"], "{dir}/fifo"),
    "predict MODEL fifo": (["predict", "{dir}/fifo", "{dir}/d.csv"], "{dir}/fifo"),
    "eval DATA fifo": (["eval", "{dir}/m.json", "{dir}/fifo"], "{dir}/fifo"),
    "info MODEL fifo": (["info", "{dir}/fifo"], "{dir}/fifo"),
}
_KINDS = {"fifo": "a named pipe (FIFO)", "zero": "a character device", "directory": "a directory",
          "socket": "a socket"}


@pytest.fixture(scope="module")
def input_runs(workspace):
    """{case: (exit code or None if it hung, stderr)}: every case's ``python -m treeforge`` run at once."""
    children = {}
    for case, (arguments, _) in INPUT_CASES.items():
        arguments = [argument.format(dir=workspace) for argument in arguments]
        children[case] = subprocess.Popen([sys.executable, "-m", "treeforge", *arguments], cwd=workspace,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline, runs = time.monotonic() + _DEADLINE, {}
    for case, child in children.items():
        try:
            runs[case] = (child.wait(timeout=max(1.0, deadline - time.monotonic())), child.stderr.read())
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            runs[case] = (None, child.stderr.read())
        child.stderr.close()
    return runs


@pytest.mark.parametrize("case", list(INPUT_CASES))
def test_an_input_that_is_not_a_regular_file_is_refused_at_once(workspace, input_runs, case):
    """Before, a FIFO blocked the command for ever (opening one for reading waits for a writer)."""
    code, stderr = input_runs[case]
    assert code is not None, f"still running after {_DEADLINE} s: it blocked on the input"
    assert code == 1, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    path = INPUT_CASES[case][1].format(dir=workspace)
    kind = _KINDS[next(key for key in _KINDS if key in case.rsplit(" ", 1)[1])]
    assert lines[0] == f"error: {path} is {kind}, not a regular file", lines[0]


# --------------------------------------------------------------------------------------------
# Item 3: predict checks its output before reading the model and the data
# --------------------------------------------------------------------------------------------


@pytest.fixture
def reading_fails_the_test(monkeypatch):
    """The command's readers of model files and data replaced by ones that fail the test if called."""

    def must_not_read(*args, **kwargs):
        raise AssertionError(f"read {args[0]} before refusing the output")

    monkeypatch.setattr(_commands, "load_model_file", must_not_read)
    monkeypatch.setattr(_tabular, "read_csv", must_not_read)


def _refuse_temporary_files(prefix="", suffix="", dir=None):
    raise PermissionError(13, "Permission denied", os.path.join(dir, f"{prefix}XXXX{suffix}"))


@pytest.mark.parametrize("out, reason", [
    ("{dir}/missing/dir/p.csv", "its directory does not exist"),
    ("/nonexistent/dir/p.csv", "its directory does not exist"),
    ("{dir}/folder.csv", "Is a directory"),
    ("{dir}/locked/p.csv", "Permission denied"),
])
@pytest.mark.parametrize("proba", [False, True])
def test_predict_refuses_an_unwritable_output_before_reading(workspace, reading_fails_the_test, monkeypatch,
                                                             capsys, out, reason, proba):
    """Before, the model was loaded, the data read and every row predicted, and only writing failed."""
    out = out.format(dir=workspace)
    if "locked" in out:  # a directory without write permission (which would not bind for root)
        (workspace / "locked").mkdir(exist_ok=True)
        monkeypatch.setattr(_files.tempfile, "mkstemp", _refuse_temporary_files)
    before = sorted(os.listdir(workspace))
    arguments = ["predict", str(workspace / "m.json"), str(workspace / "d.csv"), "--out", out]
    assert cli.main(arguments + (["--proba"] if proba else [])) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"error: cannot write {out}: {reason}\n"
    assert sorted(os.listdir(workspace)) == before


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs permissions that bind (not root)")
def test_predict_refuses_a_read_only_directory_before_reading(workspace, tmp_path, reading_fails_the_test, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert cli.main(["predict", str(workspace / "m.json"), str(workspace / "d.csv"),
                         "--out", str(locked / "p.csv")]) == 1
        assert capsys.readouterr().err == f"error: cannot write {locked / 'p.csv'}: Permission denied\n"
    finally:
        locked.chmod(0o700)


def test_predict_still_writes_a_writable_output(workspace, tmp_path, capsys):
    out = tmp_path / "p.csv"
    assert cli.main(["predict", str(workspace / "m.json"), str(workspace / "d.csv"), "--out", str(out),
                     "--quiet"]) == 0
    assert out.read_text().splitlines()[0] == "prediction" and len(out.read_text().splitlines()) == 61
    assert [name for name in os.listdir(tmp_path) if name.endswith(_files.TEMP_SUFFIX)] == []
