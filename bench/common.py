"""Shared benchmark harness: the .npy cache of the tasks (bench/tasks.py), the learner registry, fresh-subprocess runs with peak RSS, medians and the RESULTS.md writer.

A child run is ``python bench/common.py --child '<json spec>'``: it loads the cached arrays, fits,
predicts and prints one JSON line; the parent reads the child's peak RSS from ``os.wait4``.
"""

import argparse
import atexit
import compileall
import datetime
import functools
import importlib
import importlib.metadata
import json
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import numpy as np

import ensemble_learners
# The synthetic tasks live in tasks.py; re-exported so that scripts keep using ``common.TASKS`` etc.
from tasks import GENERATOR_VERSION, TASKS, Task, generate  # noqa: F401

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
# The working tree's package (tools/dev_build.sh drops _core there); runs import a snapshot of it.
PYTHON_DIR = os.path.join(REPO_DIR, "python")
CACHE_DIR = os.environ.get("TREEFORGE_BENCH_CACHE", "/tmp/treeforge-bench-cache")
RESULTS_PATH = os.path.join(BENCH_DIR, "RESULTS.md")



def _package_snapshot():
    """Folder holding a private copy of python/treeforge, taken once per benchmark run.

    tools/dev_build.sh rewrites _core in place; a process that has it loaded then dies of SIGBUS.
    Every process of a run (children inherit the folder through the environment) imports this
    copy instead, so a rebuild during the run can neither crash it nor mix two builds.
    """
    snapshot = os.environ.get("TREEFORGE_BENCH_PACKAGE")
    if snapshot and os.path.isdir(snapshot):
        return snapshot
    snapshot = tempfile.mkdtemp(prefix="treeforge-bench-package-")
    shutil.copytree(os.path.join(PYTHON_DIR, "treeforge"), os.path.join(snapshot, "treeforge"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    # Compiled as pip compiles an installed package (and the peers' are): without it every child
    # process compiles treeforge's modules again (0.06 s of a command-line run, PYTHONDONTWRITEBYTECODE).
    compileall.compile_dir(os.path.join(snapshot, "treeforge"), quiet=1)
    atexit.register(shutil.rmtree, snapshot, True)
    os.environ["TREEFORGE_BENCH_PACKAGE"] = snapshot
    return snapshot


PACKAGE_DIR = _package_snapshot()
sys.path.insert(0, PACKAGE_DIR)


# ------------------------------------------------------------------------------------ task cache


def _cache_paths(task):
    stem = f"{task.name}-{task.n_train}-{task.n_test}-s{task.seed}-v{GENERATOR_VERSION}"
    return {part: os.path.join(CACHE_DIR, f"{stem}.{part}.npy") for part in ("X_train", "y_train", "X_test", "y_test")}


def ensure_cached(task):
    """Generate and save the task's arrays unless cached; returns the four .npy paths."""
    paths = _cache_paths(task)
    if all(os.path.exists(p) for p in paths.values()):
        return paths
    os.makedirs(CACHE_DIR, exist_ok=True)
    tic = time.perf_counter()
    X, y = generate(task)
    arrays = {"X_train": X[:task.n_train], "y_train": y[:task.n_train],
              "X_test": X[task.n_train:], "y_test": y[task.n_train:]}
    for part, path in paths.items():
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            np.save(f, np.ascontiguousarray(arrays[part]))
        os.replace(tmp, path)  # atomic: a concurrent run never reads a half-written file
    log(f"generated {task.name} ({task.describe()}) in {time.perf_counter() - tic:.1f} s -> {CACHE_DIR}")
    return paths


def load_task(task):
    """(X_train, y_train, X_test, y_test) from the cache, generating them first if needed."""
    paths = ensure_cached(task)
    return tuple(np.load(paths[p]) for p in ("X_train", "y_train", "X_test", "y_test"))


def compute_metrics(task, y_true, output):
    """AUC (binary), log loss + accuracy (multiclass) or RMSE (regression) of predict(_proba) output."""
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

    if task.kind == "binary":
        return {"auc": float(roc_auc_score(y_true, output[:, 1]))}
    if task.kind == "multiclass":
        return {"log_loss": float(log_loss(y_true, output, labels=np.arange(task.n_classes))),
                "accuracy": float(accuracy_score(y_true, np.argmax(output, axis=1)))}
    return {"rmse": float(np.sqrt(np.mean((y_true - output) ** 2)))}


# ------------------------------------------------------------------------------------- learners

# Library-neutral tree parameters; each factory below translates them (matching: bench/README.md).
CONFIGS = {
    "leafwise": {"grow_policy": "lossguide", "max_leaf_nodes": 255, "max_depth": None},
    "depthwise": {"grow_policy": "depthwise", "max_leaf_nodes": None, "max_depth": 8},
}
COMMON_PARAMS = {"rounds": 200, "learning_rate": 0.1, "max_bins": 255, "min_samples_leaf": 20,
                 "min_child_weight": 1e-3}
# Per family: parameters shared by all configs, the configs, and the libraries run by default.
# A new family (e.g. "rf") adds an entry here and its Learner entries below.
FAMILIES = {
    "gbdt": {"params": COMMON_PARAMS, "configs": CONFIGS, "libs": ["treeforge", "sklearn", "lightgbm", "xgboost"]},
}


@dataclass(frozen=True)
class Learner:
    """One library's estimator for one family of ensembles.

    ``make(task, params, n_threads, seed)`` returns ``(unfitted estimator, runner label)``; the
    estimator has ``fit``, and ``predict_proba`` (classifiers) or ``predict`` (regressors).
    ``module`` is imported before the baseline RSS is taken, so import cost is not counted as fit memory.
    """

    family: str  # "gbdt", "rf", "adaboost"
    lib: str
    module: str
    make: object
    version_of: str = ""  # distribution name for the version, when not ``module``


def core_gbdt_config(task, params, n_threads, seed):
    """A ``_core.GbdtConfig`` from neutral params (``rounds`` is not part of it)."""
    from treeforge import _core

    cfg = _core.GbdtConfig()
    cfg.objective = {"binary": "binary_logloss", "multiclass": "multiclass_softmax",
                     "regression": "squared_error"}[task.kind]
    cfg.n_outputs = task.n_classes if task.kind == "multiclass" else 1
    cfg.learning_rate = params["learning_rate"]
    cfg.max_leaf_nodes = params["max_leaf_nodes"] or 0
    cfg.max_depth = params["max_depth"] or 0
    cfg.grow_policy = params["grow_policy"]
    cfg.min_samples_leaf = params["min_samples_leaf"]
    cfg.min_child_weight = params["min_child_weight"]
    cfg.l2_regularization = 0.0
    cfg.seed = seed
    cfg.n_threads = n_threads
    return cfg


class CoreGbdt:
    """Minimal estimator over ``treeforge._core`` (BinMapper → Booster.update × rounds → Model)."""

    def __init__(self, task, params, n_threads, seed):
        self.task, self.params, self.n_threads, self.seed = task, params, n_threads, seed

    def fit(self, X, y):
        from treeforge import _core

        mapper = _core.BinMapper(self.params["max_bins"], 200_000, self.seed).fit(X, self.n_threads)
        config = core_gbdt_config(self.task, self.params, self.n_threads, self.seed)
        booster = _core.Booster(config, mapper, mapper.transform(X, self.n_threads), np.asarray(y, np.float64))
        for _ in range(self.params["rounds"]):
            booster.update()
        self.model_ = booster.model()
        return self

    def _output(self, X):
        from treeforge import _core

        return _core.apply_link(self.model_.objective, self.model_.predict_margin(X, self.n_threads))

    def predict_proba(self, X):
        p = self._output(X)
        return np.column_stack([1 - p[:, 0], p[:, 0]]) if p.shape[1] == 1 else p

    def predict(self, X):
        return self._output(X)[:, 0]


def _hist_gradient_boosting_params(p, seed):
    """scikit-learn's HistGradientBoosting parameters, shared by treeforge's estimators."""
    return {"max_iter": p["rounds"], "learning_rate": p["learning_rate"], "max_leaf_nodes": p["max_leaf_nodes"],
            "max_depth": p["max_depth"], "min_samples_leaf": p["min_samples_leaf"], "l2_regularization": 0.0,
            "max_bins": p["max_bins"], "early_stopping": False, "random_state": seed}


def _make_treeforge(task, p, n_threads, seed):
    try:
        from treeforge import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    except ImportError:
        return CoreGbdt(task, p, n_threads, seed), "core Booster (estimator not importable)"
    cls = HistGradientBoostingRegressor if task.kind == "regression" else HistGradientBoostingClassifier
    return cls(**_hist_gradient_boosting_params(p, seed), grow_policy=p["grow_policy"],
               min_child_weight=p["min_child_weight"], n_jobs=n_threads), "estimator"


def _make_treeforge_core(task, p, n_threads, seed):
    return CoreGbdt(task, p, n_threads, seed), "core Booster"


def _make_sklearn(task, p, n_threads, seed):
    # No n_jobs parameter: threads come from OMP_NUM_THREADS, which the runner sets for every child.
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = HistGradientBoostingRegressor if task.kind == "regression" else HistGradientBoostingClassifier
    return cls(**_hist_gradient_boosting_params(p, seed)), "estimator"


def lightgbm_params(p, n_threads, seed):
    """LightGBM parameters for neutral params (sklearn-API names, also valid aliases of its native API)."""
    # LightGBM is always leaf-wise: depth-wise 8 is num_leaves=2**8 with max_depth=8 (the full tree).
    return {"learning_rate": p["learning_rate"], "num_leaves": p["max_leaf_nodes"] or 2 ** p["max_depth"],
            "max_depth": p["max_depth"] or -1, "min_child_samples": p["min_samples_leaf"],
            "min_child_weight": p["min_child_weight"], "reg_lambda": 0.0, "reg_alpha": 0.0, "min_split_gain": 0.0,
            "max_bin": p["max_bins"], "subsample": 1.0, "colsample_bytree": 1.0, "n_jobs": n_threads,
            "random_state": seed, "verbose": -1}


def xgboost_params(p, n_threads, seed):
    """XGBoost parameters for neutral params (sklearn-API names)."""
    # XGBoost has no minimum sample count per leaf; min_child_weight (hessian) is matched instead.
    return {"learning_rate": p["learning_rate"], "tree_method": "hist", "grow_policy": p["grow_policy"],
            "max_leaves": p["max_leaf_nodes"] or 0, "max_depth": p["max_depth"] or 0,
            "min_child_weight": p["min_child_weight"], "reg_lambda": 0.0, "reg_alpha": 0.0, "gamma": 0.0,
            "max_bin": p["max_bins"], "subsample": 1.0, "colsample_bytree": 1.0, "n_jobs": n_threads,
            "random_state": seed}


def _make_lightgbm(task, p, n_threads, seed):
    import lightgbm

    cls = lightgbm.LGBMRegressor if task.kind == "regression" else lightgbm.LGBMClassifier
    return cls(n_estimators=p["rounds"], **lightgbm_params(p, n_threads, seed)), "sklearn API"


def _make_xgboost(task, p, n_threads, seed):
    import xgboost

    cls = xgboost.XGBRegressor if task.kind == "regression" else xgboost.XGBClassifier
    return cls(n_estimators=p["rounds"], **xgboost_params(p, n_threads, seed)), "sklearn API"


# Adding a learner is one entry here plus its family's configs in FAMILIES.
LEARNERS = {(l.family, l.lib): l for l in [
    Learner("gbdt", "treeforge", "treeforge", _make_treeforge),
    Learner("gbdt", "treeforge-core", "treeforge", _make_treeforge_core),
    Learner("gbdt", "sklearn", "sklearn", _make_sklearn, version_of="scikit-learn"),
    Learner("gbdt", "lightgbm", "lightgbm", _make_lightgbm),
    Learner("gbdt", "xgboost", "xgboost", _make_xgboost),
]}
# Random forests and AdaBoost (bench/bench_forest.py) register their families and learners here.
FAMILIES.update(ensemble_learners.FAMILIES)
LEARNERS.update({key: Learner(*key, *rest) for key, rest in ensemble_learners.LEARNERS.items()})


def predict_output(task, estimator, X):
    """Probabilities (n, n_classes) for classifiers, values (n,) for regressors."""
    return estimator.predict(X) if task.kind == "regression" else estimator.predict_proba(X)


def library_version(learner):
    module = importlib.import_module(learner.module)
    return getattr(module, "__version__", None) or importlib.metadata.version(learner.version_of or learner.module)


# ------------------------------------------------------------------------------- child process


def current_rss():
    """Resident set size of this process now, in bytes."""
    import psutil

    return psutil.Process().memory_info().rss


def peak_rss_self():
    """Peak resident set size of this process so far, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child_main(spec):
    """Load, baseline, fit (timed), predict the test set (timed), score; print one JSON line."""
    task = Task(**spec["task"])
    learner = LEARNERS[(spec["family"], spec["lib"])]
    version = library_version(learner)  # imports the library before the baseline
    import sklearn.metrics  # noqa: F401  (used by every library's scoring; imported before the baseline)

    X_train, y_train, X_test, y_test = load_task(task)
    baseline = current_rss()
    estimator, runner = learner.make(task, spec["params"], spec["n_threads"], spec["seed"])
    tic = time.perf_counter()
    estimator.fit(X_train, y_train)
    fit_s = time.perf_counter() - tic
    peak_after_fit = peak_rss_self()
    tic = time.perf_counter()
    output = predict_output(task, estimator, X_test)
    predict_s = time.perf_counter() - tic
    result = dict(spec, version=version, runner=runner, fit_s=fit_s, predict_s=predict_s,
                  baseline_rss=baseline, peak_rss_after_fit=peak_after_fit, peak_rss_self=peak_rss_self(),
                  metrics=compute_metrics(task, y_test, output))
    print("RESULT " + json.dumps(result), flush=True)


# ------------------------------------------------------------------------------ parent process


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def child_env(n_threads):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [PACKAGE_DIR, env.get("PYTHONPATH", "")] if p)
    # The same thread limit for every library; scikit-learn has no n_jobs and reads only this.
    env["OMP_NUM_THREADS"] = str(n_threads)
    for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = "1"
    return env


# A lean launcher between the parent and each child. ru_maxrss keeps the high-water mark of the
# address space a process replaced at exec, so a child forked straight from this (large) parent
# would report at least the parent's size; spawned from this ~8 MiB launcher, it reports its own.
_LAUNCHER = ("import os, sys\n"
             "pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ)\n"
             "_, status, usage = os.wait4(pid, 0)\n"
             "print('RUSAGE', usage.ru_maxrss, os.waitstatus_to_exitcode(status), flush=True)\n")


def run_child(spec, timeout=None):
    """Run one fit/predict in a fresh interpreter; returns its result dict with ``peak_rss`` added.

    ``peak_rss`` (bytes) is ``ru_maxrss`` of exactly that child, as ``os.wait4`` returns it to the
    launcher that spawned it: the kernel's high-water mark of the whole process's resident set,
    measured the same way for every library. A failed child yields ``{"error": ...}``.
    """
    command = [sys.executable, "-S", "-c", _LAUNCHER, sys.executable, os.path.abspath(__file__),
               "--child", json.dumps(spec)]
    # Output goes to files, not pipes: nothing can block on a full pipe.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(command, stdout=out, stderr=err, text=True, start_new_session=True,
                                env=child_env(spec["n_threads"]))
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the launcher and the child
            proc.wait()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    lines = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    usage = [line.split() for line in stdout.splitlines() if line.startswith("RUSAGE ")]
    exit_code = int(usage[-1][2]) if usage else proc.returncode
    if not lines or not usage:
        return dict(spec, error=f"exit {exit_code}: {stderr.strip()[-2000:]}")
    result = json.loads(lines[-1][len("RESULT "):])
    result["peak_rss"] = int(usage[-1][1]) * 1024  # Linux reports KiB
    if exit_code != 0:  # e.g. a crash at interpreter exit, after the result was printed
        result["warning"] = f"exit {exit_code} after the result: {stderr.strip()[-500:]}"
    return result


_ROUND_TRIP_SOURCE = os.path.join(BENCH_DIR, "core_round_trip.cpp")
# Round trips from this many nanoseconds on mean the two CPUs were placed apart (about 350 ns
# against about 55 ns when they share a cache).
_APART_NS = 150


@functools.lru_cache(maxsize=None)
def _round_trip_binary():
    """Path of core_round_trip.cpp built with the system compiler (once per run), or None."""
    folder = tempfile.mkdtemp(prefix="treeforge-bench-probe-")
    atexit.register(shutil.rmtree, folder, True)
    binary = os.path.join(folder, "core_round_trip")
    compiler = shutil.which(os.environ.get("CXX", "c++"))
    built = compiler and subprocess.run([compiler, "-O2", "-pthread", "-o", binary, _ROUND_TRIP_SOURCE],
                                        capture_output=True).returncode == 0
    return binary if built else None


def core_round_trip_ns():
    """Nanoseconds of one cache line's round trip between the first two CPUs, or None.

    None without a C++ compiler, with a single CPU or when threads cannot be pinned. The host of
    this 2-core machine sometimes places its two virtual CPUs far apart (about 350 ns instead of
    55), which slows 2-thread fits that pass data between their threads; measured before and
    after every run, it tells which regime a timing was taken in.
    """
    binary = _round_trip_binary()
    if binary is None:
        return None
    run = subprocess.run([binary], capture_output=True, text=True)
    return float(run.stdout) if run.returncode == 0 else None


def _round_trips(result):
    """(before, after) round trips of a run, or None when either was not measured."""
    pair = result.get("core_round_trip_ns")
    return None if pair is None or None in pair else pair


def round_trip_note(results):
    """A section note: the core-to-core round trips measured before and after the runs."""
    pairs = [p for p in map(_round_trips, results) if p]
    if not pairs:
        return "core-to-core round trip: not measured (no C++ compiler, one CPU or no pinning)"
    values = sorted(v for pair in pairs for v in pair)
    near = sum(max(pair) < _APART_NS for pair in pairs)
    apart = sum(min(pair) >= _APART_NS for pair in pairs)
    return (f"core-to-core round trip before and after each run (bench/core_round_trip.cpp): {values[0]:.0f}-"
            f"{values[-1]:.0f} ns; {near} of {len(pairs)} runs with both below {_APART_NS} ns (the two CPUs near "
            f"each other, about 55 ns), {apart} with both above (placed apart, about 350 ns), the rest changed "
            "regime during the run; per run in the raw runs")


def run_interleaved(specs_by_case, libs, repeats, timeout=None, raw_path=None):
    """Run every case for every library ``repeats`` times, libraries round-robin within each repeat.

    ``specs_by_case``: list of functions lib -> spec. The starting library rotates each repeat,
    so slow drift of the machine (other jobs, heat) hits every library alike. Returns all results.
    """
    results = []
    for rep in range(repeats):
        order = libs[rep % len(libs):] + libs[:rep % len(libs)]
        for make_spec in specs_by_case:
            for lib in order:
                spec = dict(make_spec(lib), repeat=rep)
                before = core_round_trip_ns()
                result = run_child(spec, timeout)
                # The host moves the CPUs every 10-60 s: a run whose two probes agree kept one regime.
                result["core_round_trip_ns"] = [before, core_round_trip_ns()]
                results.append(result)
                log(_summary(result))
                if raw_path:
                    with open(raw_path, "a") as f:
                        f.write(json.dumps(result) + "\n")
    return results


def _summary(r):
    head = f"rep {r['repeat']} {r['task']['name']}/{r['task']['n_train']} {r['config']} {r['lib']} t={r['n_threads']}"
    if _round_trips(r):
        head += " (round trip {:.0f} / {:.0f} ns)".format(*_round_trips(r))
    if "error" in r:
        return f"{head}: FAILED {r['error'][-300:]}"
    metrics = " ".join(f"{k}={v:.4f}" for k, v in r["metrics"].items())
    return (f"{head}: fit {r['fit_s']:.2f}s predict {r['predict_s']:.3f}s peak {mib(r['peak_rss']):.0f} MiB "
            f"(+{mib(r['peak_rss'] - r['baseline_rss']):.0f}) {metrics} {r.get('warning', '')}")


# ------------------------------------------------------------------------------- statistics


def mib(n_bytes):
    return n_bytes / 2 ** 20


def timed(fn):
    """Seconds taken by ``fn()``."""
    tic = time.perf_counter()
    fn()
    return time.perf_counter() - tic


def interleaved_medians(cases, repeats, warmup=1):
    """Median seconds of each stage of each in-process case, cases called round-robin.

    ``cases``: {name: fn() -> {stage: seconds}}, one call per repeat; the starting case rotates
    each repeat and the first ``warmup`` rounds are discarded. Returns {name: {stage: median}}.
    """
    names, samples = list(cases), {name: {} for name in cases}
    for rep in range(warmup + repeats):
        for name in names[rep % len(names):] + names[:rep % len(names)]:
            stages = cases[name]()
            for stage, seconds in stages.items():
                if rep >= warmup:
                    samples[name].setdefault(stage, []).append(seconds)
    return {name: {stage: statistics.median(v) for stage, v in stages.items()} for name, stages in samples.items()}


def aggregate(results, key_fields):
    """Median fit/predict time, peak RSS, peak − baseline and metrics per group of ``key_fields``."""
    groups = {}
    for r in results:
        groups.setdefault(tuple(_field(r, k) for k in key_fields), []).append(r)
    rows = []
    for key, group in groups.items():
        ok = [r for r in group if "error" not in r]
        row = dict(zip(key_fields, key), n=len(ok), failed=len(group) - len(ok))
        if ok:
            row.update(runner=ok[0]["runner"], version=ok[0]["version"],
                       fit_s=statistics.median(r["fit_s"] for r in ok),
                       predict_s=statistics.median(r["predict_s"] for r in ok),
                       peak_mib=statistics.median(mib(r["peak_rss"]) for r in ok),
                       delta_mib=statistics.median(mib(r["peak_rss"] - r["baseline_rss"]) for r in ok),
                       metrics={m: statistics.median(r["metrics"][m] for r in ok) for m in ok[0]["metrics"]})
        rows.append(row)
    return rows


def _field(result, name):
    return result["task"][name] if name in ("n_train", "n_test") else result[name]


def ratio(numerator, denominator):
    return "" if not numerator or not denominator else f"{numerator / denominator:.2f}"


# ---------------------------------------------------------------------------------- reporting

_METRIC_LABELS = {"auc": "AUC", "log_loss": "log loss", "accuracy": "accuracy", "rmse": "RMSE"}
_KEY_LABELS = {"n_train": "train rows", "config": "config", "n_threads": "threads"}


def results_table(agg_rows, libs, key_columns=("config",), per_million_rows=False, thread_speedup=False):
    """Markdown table of ``aggregate`` rows (grouped by n_train, config, n_threads, lib).

    Ratios are treeforge / peer on the same row key (below 1: treeforge is faster or smaller).
    ``per_million_rows`` adds fit seconds per million training rows; ``thread_speedup`` adds the fit
    speed-up over the same library's 1-thread run.
    """
    ref_lib = next((lib for lib in libs if lib.startswith("treeforge")), None)
    index = {(r["n_train"], r["config"], r["n_threads"], r["lib"]): r for r in agg_rows}
    metrics = list(dict.fromkeys(m for r in agg_rows for m in r.get("metrics", {})))
    headers = [_KEY_LABELS[k] for k in key_columns] + ["library", "fit s", "predict s", "peak RSS MiB",
                                                        "peak − baseline MiB"]
    headers += [_METRIC_LABELS.get(m, m) for m in metrics]
    headers += ["fit s / 1M rows"] * per_million_rows + ["speed-up vs 1 thread"] * thread_speedup
    headers += [f"{ref_lib}/peer fit", "predict", "peak RSS"] if ref_lib else []
    lib_order = {lib: i for i, lib in enumerate(libs)}
    config_order = {c: i for i, c in enumerate(dict.fromkeys(r["config"] for r in agg_rows))}
    out = []
    for r in sorted(agg_rows, key=lambda r: (r["n_train"], config_order[r["config"]], r["n_threads"],
                                             lib_order.get(r["lib"], 99))):
        label = r["lib"] + ("" if r.get("runner") in (None, "estimator", "sklearn API") else f" ({r['runner']})")
        label += f" ({r['failed']} failed)" if r["failed"] else ""
        cells = [fmt(r[k]) for k in key_columns] + [label]
        if not r["n"]:
            out.append(cells + ["failed"] + [""] * (len(headers) - len(cells) - 1))
            continue
        cells += [fmt(r["fit_s"]), fmt(r["predict_s"]), f"{r['peak_mib']:,.0f}", f"{r['delta_mib']:,.0f}"]
        cells += [fmt(r["metrics"].get(m), 4) for m in metrics]
        if per_million_rows:
            cells.append(fmt(r["fit_s"] / r["n_train"] * 1e6))
        if thread_speedup:
            one = index.get((r["n_train"], r["config"], 1, r["lib"]))
            cells.append(ratio(one and one.get("fit_s"), r["fit_s"]))
        if ref_lib:
            ref = index.get((r["n_train"], r["config"], r["n_threads"], ref_lib), {})
            cells += ["—"] * 3 if r["lib"] == ref_lib else [
                ratio(ref.get("fit_s"), r["fit_s"]), ratio(ref.get("predict_s"), r["predict_s"]),
                ratio(ref.get("peak_mib"), r["peak_mib"])]
        out.append(cells)
    return markdown_table(headers, out)



_LOAD_AT_START = " / ".join(f"{x:.1f}" for x in os.getloadavg())


def machine_info():
    """One line: cores, CPU model, RAM, Python, OS, load average (the machine may be shared)."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
        with open("/proc/meminfo") as f:
            ram = int(next(line.split()[1] for line in f if line.startswith("MemTotal"))) / 2 ** 20
    except (OSError, StopIteration):
        ram = float("nan")
    load_now = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"nproc {len(os.sched_getaffinity(0))}, {model}, {ram:.0f} GiB RAM, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}; load average (1/5/15 min) at start {_LOAD_AT_START}, "
            f"at end {load_now} (above nproc, other jobs were competing)")


def treeforge_revision():
    try:
        rev = subprocess.run(["git", "-C", REPO_DIR, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO_DIR, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        revision = rev + (" + uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        revision = "unknown revision"
    package = os.path.join(PACKAGE_DIR, "treeforge")
    built = [os.path.getmtime(os.path.join(package, f)) for f in os.listdir(package) if f.startswith("_core")]
    return revision + (f", _core built {time.strftime('%Y-%m-%d %H:%M', time.localtime(max(built)))}" if built else "")


def versions_line(libs, family="gbdt"):
    parts = []
    for lib in libs:
        learner = LEARNERS.get((family, lib))
        try:
            version = library_version(learner) if learner else importlib.metadata.version(lib)
        except Exception as exc:  # a missing peer is reported, not fatal
            version = f"unavailable ({type(exc).__name__})"
        parts.append(f"{lib} {version}" + (f" ({treeforge_revision()})" if lib.startswith("treeforge") else ""))
    return ", ".join(parts + [f"numpy {np.__version__}"])


def command_line():
    return "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], REPO_DIR)] + sys.argv[1:])


def section_header(title, libs, notes=(), family="gbdt"):
    """Markdown heading plus the command, date, machine and versions that produced a section."""
    lines = [f"### {title}", "", f"- command: `{command_line()}` (from the repository root)",
             f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
             f"- machine: {machine_info()}", f"- versions: {versions_line(libs, family)}"]
    return "\n".join(lines + [f"- {note}" for note in notes]) + "\n"


def markdown_table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def fmt(value, digits=3):
    if value is None or value == "":
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1 else f"{value:,.{max(digits - 2, 1)}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


_PREAMBLE = ("# treeforge benchmark results\n\nEach section is written by a script in `bench/` (see "
             "`bench/README.md`) and replaced, alone, when that benchmark is re-run; text outside the "
             "markers is kept.\n")


def write_section(key, body, path=RESULTS_PATH):
    """Insert or replace the section ``key`` of the results file, leaving every other section as it was."""
    begin, end = f"<!-- bench:{key}:begin -->", f"<!-- bench:{key}:end -->"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    text = open(path).read() if os.path.exists(path) else _PREAMBLE
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    log(f"wrote section {key!r} to {path}")


def quick_suffix(args, default_rounds=200):
    """'' for a full-size run, else ' (quick: …)' so quick runs never overwrite full results."""
    parts = []
    if args.rows_scale != 1.0:
        parts.append(f"rows-scale {args.rows_scale:g}")
    if getattr(args, "rounds", default_rounds) != default_rounds:
        parts.append(f"{args.rounds} rounds")
    return f" (quick: {', '.join(parts)})" if parts else ""


def finish_section(args, key, title, libs, body, notes=(), family="gbdt", default_rounds=200):
    """Print a section (header + body) and write it to ``args.out`` unless ``--no-write``.

    Quick runs (``--rows-scale`` below 1 or fewer rounds) get their own key, so they never replace
    a full-size section.
    """
    suffix = quick_suffix(args, default_rounds)
    text = section_header(title + suffix, libs, notes, family) + "\n" + body
    print(text)
    if not args.no_write:
        write_section(key + ("-quick" if suffix else ""), text, args.out)


def add_common_args(parser, repeats=3, rounds=True):
    parser.add_argument("--repeats", type=int, default=repeats, help="repeats; medians are reported")
    if rounds:
        parser.add_argument("--rounds", type=int, default=COMMON_PARAMS["rounds"], help="boosting rounds")
    parser.add_argument("--rows-scale", type=float, default=1.0, help="fraction of every task's rows (quick runs)")
    parser.add_argument("--out", default=RESULTS_PATH, help="markdown results file (default bench/RESULTS.md)")
    parser.add_argument("--no-write", action="store_true", help="print the tables only")
    return parser


def csv_list(text):
    return [item for item in text.split(",") if item]


def int_list(text):
    return [int(item) for item in csv_list(text)]


def component_parser(doc, tasks=("binary",), repeats=5):
    """Parser of an in-process component benchmark: --tasks, --threads (1,2) and the common flags."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=csv_list, default=list(tasks), help="comma-separated")
    parser.add_argument("--threads", type=int_list, default=[1, 2], help="comma-separated thread counts")
    return add_common_args(parser, repeats=repeats, rounds=False)


def logistic_gradients(y, seed=0):
    """Logistic-loss (grad, hess) float32 at random margins, so that the hessians are not constant."""
    p = 1.0 / (1.0 + np.exp(-np.random.default_rng(seed).normal(0.0, 1.0, len(y))))
    return (p - y).astype(np.float32), (p * (1.0 - p)).astype(np.float32)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", required=True, help="JSON spec of one run (used by the benchmark scripts)")
    child_main(json.loads(parser.parse_args().child))
