"""The sanitizer job of #22 ("Hostile files"): tools/sanitize.sh builds the core with
-fsanitize=address,undefined,float-cast-overflow (CMake option TREEFORGE_SANITIZE) into
build-asan/, and runs the tests that drive the core hardest and the fuzz corpus under it; any
sanitizer report, in the test process or a child, fails this test with the report.

About 7 CPU-minutes on two cores from a clean checkout, half of it the build (7-10 minutes of
wall time measured while another build shared the cores); later runs rebuild only what changed. Skipped only where the tools are missing (a C++ compiler with the ASan
runtime, cmake, ninja, pybind11); TREEFORGE_REQUIRE_SANITIZERS=1, set by .ci/run, turns that
skip into a failure, so that CI always runs it.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "sanitize.sh"


def _environment():
    """This interpreter and the tools installed beside it (a venv's cmake, ninja) first."""
    env = dict(os.environ, PYTHON=sys.executable)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def _missing(env):
    """What this machine lacks to build and run the sanitized core, or None."""
    if not SCRIPT.exists():
        return "tools/sanitize.sh is not here (not a source checkout)"
    for tool in ("bash", "cmake", "ninja", "ldd"):
        if shutil.which(tool, path=env["PATH"]) is None:
            return f"no {tool} on PATH"
    cxx = env.get("CXX") or shutil.which("c++", path=env["PATH"])
    if cxx is None:
        return "no C++ compiler (c++ or $CXX)"
    if subprocess.run([sys.executable, "-m", "pybind11", "--cmakedir"], capture_output=True).returncode:
        return "pybind11 is not installed for this Python"
    with tempfile.TemporaryDirectory() as tmp:
        probe = subprocess.run([cxx, "-fsanitize=address,undefined", "-x", "c++", "-", "-o", f"{tmp}/probe"],
                               input="int main() { return 0; }\n", capture_output=True, text=True, env=env)
    if probe.returncode:
        return f"{cxx} cannot link -fsanitize=address,undefined (no sanitizer runtime): {probe.stderr[-300:]}"
    return None


def test_core_under_address_and_undefined_behaviour_sanitizers():
    if os.environ.get("TREEFORGE_SANITIZED"):
        pytest.skip("already inside the sanitizer job")
    env = _environment()
    missing = _missing(env)
    if missing:
        if os.environ.get("TREEFORGE_REQUIRE_SANITIZERS") == "1":
            pytest.fail(f"TREEFORGE_REQUIRE_SANITIZERS=1 but {missing}")
        pytest.skip(f"cannot build the sanitized core: {missing}")
    done = subprocess.run(["bash", str(SCRIPT)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"tools/sanitize.sh exited {done.returncode}:\n{output[-20000:]}"
    assert "0 sanitizer report(s)" in output, output[-5000:]
