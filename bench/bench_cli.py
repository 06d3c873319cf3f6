"""The command line end to end (issue #28): ``treeforge train`` on a 1,000,000 x 9 CSV file beside a LightGBM script
doing read + fit + save with the same settings, and the start-up of ``treeforge --help`` and ``treeforge info``.

The file (seeded, written once to the cache): 1,000,000 customers with six numeric columns (age and
visits integers, income, balance, tenure, a score with 5 % missing), two text columns (city: 30
values, segment: 4) and a binary target ``label`` drawn from a logistic score of them all; 58 MB.
Every run is a fresh process, spawned by a lean launcher that reports its wall time and its peak
RSS (``ru_maxrss`` from ``os.wait4``, whole process); cases run round-robin, the first one rotating
each repeat; tables give medians. 100 iterations, 31 leaves, learning rate 0.1, 2 threads
(``OMP_NUM_THREADS=2`` for every process):

- ``treeforge train DATA --target label --param max_iter=100 max_leaf_nodes=31 --threads 2 --quiet``:
  the default early stopping (auto: on above 10,000 rows) holds out 10 % and scores it each iteration;
- the same with ``--early-stopping off``: all rows, every iteration, as the LightGBM script;
- LightGBM: ``pandas.read_csv`` (the text columns as ``category``), ``LGBMClassifier(n_estimators=100,
  num_leaves=31, n_jobs=2).fit``, ``booster_.save_model``;
- ``--baseline DIR``: the first case again with the ``treeforge`` package found in DIR (e.g. a
  ``git archive`` of an older revision with the same ``_core``), to show a change.

    python bench/bench_cli.py                                  # 5 repeats of the three cases, 10 of --help and info
    python bench/bench_cli.py --repeats 1 --rows 100000 --no-write
"""

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np

import common

N_THREADS = 2
_CITIES = np.array([f"city_{i:02d}" for i in range(30)])
_SEGMENTS = np.array(["retail", "online", "wholesale", "partner"])
_CHUNK_ROWS = 250_000
_GENERATOR_VERSION = 1

_LIGHTGBM_SCRIPT = """\
import sys
import lightgbm as lgb
import pandas as pd
frame = pd.read_csv(sys.argv[1], dtype={"city": "category", "segment": "category"})
y = frame.pop("label")
model = lgb.LGBMClassifier(n_estimators=100, num_leaves=31, learning_rate=0.1, n_jobs=2, verbose=-1)
model.fit(frame, y)
model.booster_.save_model(sys.argv[2])
"""

# Spawns the command, waits for it and prints its wall time, peak RSS (KiB) and exit code; its stdout
# goes to /dev/null. A process forked from this small launcher reports its own peak, not ours.
_LAUNCHER = ("import os, sys, time\n"
             "tic = time.perf_counter()\n"
             "pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ,\n"
             "                     file_actions=[(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)])\n"
             "_, status, usage = os.wait4(pid, 0)\n"
             "print('RUN', time.perf_counter() - tic, usage.ru_maxrss, os.waitstatus_to_exitcode(status), flush=True)\n")


def _chunk(rng, n):
    """One chunk of the file's columns (a pyarrow Table)."""
    import pyarrow as pa

    age, income = rng.integers(18, 90, n), np.round(rng.lognormal(10.5, 0.6, n), 2)
    balance, tenure = np.round(rng.normal(1500, 900, n), 2), np.round(rng.uniform(0, 20, n), 3)
    visits, score = rng.poisson(3.0, n), np.round(rng.normal(0, 1, n), 5)
    score[rng.random(n) < 0.05] = np.nan
    city, segment = rng.integers(0, len(_CITIES), n), rng.integers(0, len(_SEGMENTS), n)
    logit = (0.03 * (age - 45) + 0.8 * (np.log(income) - 10.5) - 0.0004 * (balance - 1500)
             + 0.1 * np.nan_to_num(score) * visits + 0.8 * np.sin(1.7 * city) + np.array([0, 0.6, -0.4, 0.2])[segment]
             - 0.1 * tenure + 0.5)
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return pa.table({"age": age, "income": income, "balance": balance, "tenure": tenure, "visits": visits,
                     "score": score, "city": _CITIES[city], "segment": _SEGMENTS[segment], "label": label})


def ensure_csv(n_rows, seed=0):
    """The benchmark's CSV file of ``n_rows`` rows, written to the cache unless it is there; its path."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    path = os.path.join(common.CACHE_DIR, f"cli-{n_rows}x9-s{seed}-v{_GENERATOR_VERSION}.csv")
    if os.path.exists(path):
        return path
    os.makedirs(common.CACHE_DIR, exist_ok=True)
    rng = np.random.default_rng(seed)
    table = pa.concat_tables([_chunk(rng, min(_CHUNK_ROWS, n_rows - start)) for start in range(0, n_rows, _CHUNK_ROWS)])
    temp_path = f"{path}.{os.getpid()}.tmp"
    pacsv.write_csv(table, temp_path)
    os.replace(temp_path, path)  # atomic: a concurrent run never reads a half-written file
    common.log(f"wrote {path} ({os.path.getsize(path) / 1e6:.0f} MB)")
    return path


def run(command, env, timeout, model=None):
    """{wall_s, peak_mib[, n_iter]} of one run of ``command`` in a fresh process (n_iter: the boosting
    iterations of the treeforge model file ``model`` it wrote); RuntimeError if it fails."""
    with tempfile.TemporaryFile("w+") as err:
        result = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, *command], stdout=subprocess.PIPE,
                                stderr=err, text=True, env=env, timeout=timeout)
        err.seek(0)
        stderr = err.read()
    line = next((line.split() for line in result.stdout.splitlines() if line.startswith("RUN ")), None)
    if line is None or int(line[3]) != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {stderr.strip()[-1000:]}")
    result = {"wall_s": float(line[1]), "peak_mib": int(line[2]) / 1024}
    if model is not None:
        with open(model) as handle:
            result["n_iter"] = json.load(handle)["fitted"]["n_iter_"]
    return result


def train_cases(args, path, workdir):
    """{case name: (command, environment, model file or None)} of the end-to-end runs."""
    env = common.child_env(N_THREADS)
    model, off_model, old_model = (os.path.join(workdir, name) for name in ("model.json", "off.json", "old.json"))
    train = [sys.executable, "-m", "treeforge", "train", path, "--target", "label", "--param", "max_iter=100",
             "max_leaf_nodes=31", "--threads", str(N_THREADS), "--quiet", "--out"]
    script = os.path.join(workdir, "lightgbm_script.py")
    with open(script, "w") as handle:
        handle.write(_LIGHTGBM_SCRIPT)
    cases = {
        "treeforge train (early stopping auto: on, 10 % held out)": ([*train, model], env, model),
        "treeforge train --early-stopping off": ([*train, off_model, "--early-stopping", "off"], env, off_model),
        "LightGBM script (pandas read, fit, save)": ([sys.executable, script, path, os.path.join(workdir, "lgb.txt")],
                                                     env, None),
    }
    if args.baseline:
        compileall.compile_dir(args.baseline, quiet=1)  # as the snapshot is (common._package_snapshot)
        old_env = {**env, "PYTHONPATH": os.path.abspath(args.baseline)}
        cases["treeforge train, --baseline package"] = ([*train, old_model], old_env, old_model)
    return cases


def interleaved(cases, repeats, timeout):
    """{case: [run results]}: every case (command, environment, model file) once per repeat, round-robin,
    the first case rotating."""
    names, results = list(cases), {name: [] for name in cases}
    for rep in range(repeats):
        for name in names[rep % len(names):] + names[:rep % len(names)]:
            command, env, model = cases[name]
            results[name].append(run(command, env, timeout, model))
            common.log(f"rep {rep} {name}: {results[name][-1]['wall_s']:.2f} s, {results[name][-1]['peak_mib']:.0f} MiB")
    return results


def _median(runs, key):
    return statistics.median(r[key] for r in runs)


def train_table(results, reference):
    rows = []
    for name, runs in results.items():
        wall, peak = _median(runs, "wall_s"), _median(runs, "peak_mib")
        ref_wall, ref_peak = _median(results[reference], "wall_s"), _median(results[reference], "peak_mib")
        walls = ", ".join(f"{r['wall_s']:.2f}" for r in runs)
        n_iter = "/".join(sorted({str(r["n_iter"]) for r in runs})) if "n_iter" in runs[0] else "100"
        rows.append([name, n_iter, f"{wall:.2f}", f"{wall / ref_wall:.2f}", f"{peak:.0f}", f"{peak / ref_peak:.2f}",
                     walls])
    return common.markdown_table(["case", "iterations", "wall (s)", "wall / LightGBM", "peak RSS (MiB)",
                                  "peak / LightGBM", "every run's wall (s)"], rows)


def startup_table(results):
    rows = [[name, f"{_median(runs, 'wall_s'):.3f}", f"{min(r['wall_s'] for r in runs):.3f}",
             f"{_median(runs, 'peak_mib'):.0f}"] for name, runs in results.items()]
    return common.markdown_table(["command", "wall (s), median", "wall (s), fastest", "peak RSS (MiB)"], rows)


def startup_cases(args, workdir):
    env = common.child_env(N_THREADS)
    model = os.path.join(workdir, "model.json")
    cases = {"treeforge --help": ([sys.executable, "-m", "treeforge", "--help"], env, None),
             "treeforge info model.json": ([sys.executable, "-m", "treeforge", "info", model], env, None),
             "python -c pass (the interpreter alone)": ([sys.executable, "-c", "pass"], env, None)}
    if args.baseline:
        compileall.compile_dir(args.baseline, quiet=1)  # as the snapshot is (common._package_snapshot)
        old_env = {**env, "PYTHONPATH": os.path.abspath(args.baseline)}
        cases["treeforge --help, --baseline package"] = ([sys.executable, "-m", "treeforge", "--help"], old_env, None)
        cases["treeforge info model.json, --baseline package"] = (
            [sys.executable, "-m", "treeforge", "info", model], old_env, None)
    return cases


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="end-to-end runs of each case (medians)")
    parser.add_argument("--startup-repeats", type=int, default=10, help="runs of --help and info")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the CSV file")
    parser.add_argument("--baseline", metavar="DIR", help="a folder holding another treeforge package to compare")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--out", default=common.RESULTS_PATH)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    path = ensure_csv(args.rows)
    with tempfile.TemporaryDirectory(prefix="treeforge-bench-cli-") as workdir:
        train = interleaved(train_cases(args, path, workdir), args.repeats, args.timeout)
        startup = interleaved(startup_cases(args, workdir), args.startup_repeats, args.timeout)
    reference = "LightGBM script (pandas read, fit, save)"
    body = (train_table(train, reference) + "\nStart-up (info reads the model file of the first case):\n\n"
            + startup_table(startup))
    notes = [f"file: {args.rows:,} rows x 9 columns (6 numeric, 2 text, binary label), "
             f"{os.path.getsize(path) / 1e6:.0f} MB; medians of {args.repeats} runs ({args.startup_repeats} for "
             "start-up), each a fresh process; peak RSS is the whole process's (ru_maxrss)",
             f"threads: {N_THREADS} (--threads, n_jobs, OMP_NUM_THREADS)"]
    quick = args.rows != 1_000_000
    title = f"Command line end to end: {args.rows:,} x 9 CSV, treeforge train beside a LightGBM script"
    text = common.section_header(title + (" (quick)" if quick else ""), ["treeforge", "lightgbm", "pandas"], notes)
    print(text + "\n" + body)
    if not args.no_write:
        common.write_section("cli-end-to-end" + ("-quick" if quick else ""), text + "\n" + body, args.out)


if __name__ == "__main__":
    main()
