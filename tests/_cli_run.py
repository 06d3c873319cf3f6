"""Running the ``treeforge`` command in a child process, for the command-line tests."""

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
