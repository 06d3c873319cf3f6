"""Running the ``treeforge`` command in a child process, and the CSV files it reads, for the command-line tests."""

import csv
import subprocess
import sys

TIMEOUT = 180


def run_cli(*args, cwd):
    """Run ``python -m treeforge ARGS`` (the installed package, or the one on PYTHONPATH)."""
    return subprocess.run([sys.executable, "-m", "treeforge", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=TIMEOUT)


def succeeded(result):
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def write_csv(path, header, rows, delimiter=","):
    """Write ``rows`` under ``header`` (None: a file without one); returns ``path``."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
        if header is not None:
            writer.writerow(header)
        writer.writerows(rows)
    return path
