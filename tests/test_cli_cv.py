"""``treeforge cv`` end to end (issue #28): K-fold cross-validation scored as scikit-learn scores the same
folds, its refusals of impossible folds, its phase and fold lines (none under --quiet)."""

import csv
import os
import subprocess
import sys

import numpy as np
import pytest
from sklearn import metrics
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate

from _cli_run import TIMEOUT, run_cli, succeeded, write_csv

import treeforge


def assert_usage_error(result, *fragments):
    """Exit code 2 (a misused option) and one error line naming the problem, no traceback."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert "error: " in error, result.stderr
    for fragment in fragments:
        assert fragment in error, error


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A directory with classes.csv (3 text classes, the rarest with 24 rows; gaps in x2) and
    prices.csv (regression with sample weights)."""
    directory = tmp_path_factory.mktemp("cv")
    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 3))
    score = X[:, 0] - X[:, 1] + 0.5 * X[:, 2] + rng.normal(0, 0.7, 300)
    species = np.where(score > 0.3, "gentoo", "adelie").astype(object)
    species[np.argsort(score)[:24]] = "chinstrap"  # a rare class of 24 rows
    rows = [[f"{a:.4f}", "" if i % 13 == 0 else f"{b:.4f}", f"{c:.4f}", s]
            for i, ((a, b, c), s) in enumerate(zip(X, species))]
    write_csv(directory / "classes.csv", ["x1", "x2", "x3", "species"], rows)
    weight = rng.uniform(0.5, 2.0, 300)
    price = 3 * X[:, 0] - X[:, 1] ** 2 + rng.normal(0, 0.3, 300)
    write_csv(directory / "prices.csv", ["x1", "x2", "x3", "w", "price"],
              [[f"{a:.4f}", f"{b:.4f}", f"{c:.4f}", f"{v:.3f}", f"{p:.4f}"]
               for (a, b, c), v, p in zip(X, weight, price)])
    return directory


def read_back(path, target, weight=None):
    """(X, y, w) of a CSV file as plain Python reads it: empty fields missing, the rest floats."""
    with open(path, newline="") as handle:
        records = list(csv.DictReader(handle))
    features = [name for name in records[0] if name not in (target, weight)]
    X = np.array([[float(r[name]) if r[name] else np.nan for name in features] for r in records])
    y = np.array([r[target] for r in records], dtype=object)
    w = None if weight is None else np.array([float(r[weight]) for r in records])
    return X, y, w


def parse_table(stdout):
    """({metric: per-fold values}, {metric: mean}, {metric: std}, per-fold test rows) of cv's table."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("fold "))
    names = lines[start].split()[2:]
    folds, rows, summary = {name: [] for name in names}, [], {}
    for line in lines[start + 1:]:
        cells = line.split()
        if cells[0] in ("mean", "std"):
            summary[cells[0]] = dict(zip(names, map(float, cells[1:])))
            continue
        rows.append(int(cells[1]))
        for name, cell in zip(names, cells[2:]):
            folds[name].append(float(cell))
    return folds, summary["mean"], summary["std"], rows


def assert_table_matches(stdout, expected):
    """The table's per-fold values, means and standard deviations are ``expected``'s ({metric: per-fold
    values}) as printed: 4 decimals."""
    folds, mean, std, _ = parse_table(stdout)
    assert list(folds) == list(expected)
    for name, values in expected.items():
        np.testing.assert_allclose(folds[name], values, atol=5.01e-5, rtol=0, err_msg=name)
        assert abs(mean[name] - np.mean(values)) <= 5.01e-5, name
        assert abs(std[name] - np.std(values)) <= 5.01e-5, name


# --------------------------------------------------------------------------------------------
# The folds and their scores are scikit-learn's
# --------------------------------------------------------------------------------------------


def test_classification_folds_are_stratified_and_scored_as_scikit_learn_scores_them(data):
    result = succeeded(run_cli("cv", "classes.csv", "--target", "species", "--folds", "4", "--seed", "3",
                               "--param", "max_iter=20", "--early-stopping", "off", cwd=data))
    X, y, _ = read_back(data / "classes.csv", "species")
    folds = StratifiedKFold(4, shuffle=True, random_state=3)
    model = treeforge.HistGradientBoostingClassifier(max_iter=20, early_stopping=False, random_state=3)
    scores = cross_validate(model, X, y, cv=folds,
                            scoring={"accuracy": "accuracy", "log_loss": "neg_log_loss", "auc": "roc_auc_ovr"})
    assert_table_matches(result.stdout, {"accuracy": scores["test_accuracy"], "log_loss": -scores["test_log_loss"],
                                         "auc": scores["test_auc"]})
    assert parse_table(result.stdout)[3] == [len(test) for _, test in folds.split(X, y)]
    # Stratified: every fold holds the rare class in its share (24 rows, 6 a fold).
    for _, test in folds.split(X, y):
        assert np.sum(y[test] == "chinstrap") == 6
    assert result.stdout.splitlines()[1] == ("4-fold cross-validation of HistGradientBoostingClassifier on 300 rows "
                                             "(stratified folds, seed 3):")
    fold_lines = [line for line in result.stderr.splitlines() if line.startswith("fold ")]
    assert [line.split()[1] for line in fold_lines] == ["1/4", "2/4", "3/4", "4/4"]
    assert sorted(os.listdir(data)) == ["classes.csv", "prices.csv"]  # no model written


def test_regression_folds_are_shuffled_and_weighted_as_train_weighs_held_out_rows(data):
    result = succeeded(run_cli("cv", "prices.csv", "--target", "price", "--weight", "w", "--model", "rf",
                               "--param", "n_estimators=15", "--folds", "3", "--quiet", cwd=data))
    X, y, w = read_back(data / "prices.csv", "price", weight="w")
    y = y.astype(np.float64)
    expected = {"rmse": [], "mae": [], "r2": []}
    for train, test in KFold(3, shuffle=True, random_state=0).split(X):
        model = treeforge.RandomForestRegressor(n_estimators=15, random_state=0)
        pred = model.fit(X[train], y[train], sample_weight=w[train]).predict(X[test])
        expected["rmse"].append(metrics.root_mean_squared_error(y[test], pred, sample_weight=w[test]))
        expected["mae"].append(metrics.mean_absolute_error(y[test], pred, sample_weight=w[test]))
        expected["r2"].append(metrics.r2_score(y[test], pred, sample_weight=w[test]))
    assert_table_matches(result.stdout, expected)
    # --quiet: the table alone, nothing on stderr.
    assert result.stderr == ""
    assert result.stdout.splitlines()[0] == ("3-fold cross-validation of RandomForestRegressor on 300 rows "
                                             "(shuffled folds, seed 0, weighted):")


def test_the_same_seed_gives_the_same_table_and_another_seed_other_folds(data):
    common = ["cv", "classes.csv", "--target", "species", "--folds", "3", "--param", "max_iter=5", "--quiet"]
    first, again = run_cli(*common, cwd=data), run_cli(*common, "--threads", "1", cwd=data)
    other = run_cli(*common, "--seed", "5", cwd=data)
    assert succeeded(first).stdout == succeeded(again).stdout
    assert parse_table(succeeded(other).stdout)[0] != parse_table(first.stdout)[0]


# --------------------------------------------------------------------------------------------
# Folds that cannot be made
# --------------------------------------------------------------------------------------------


def test_one_fold_is_refused(data):
    assert_usage_error(run_cli("cv", "classes.csv", "--target", "species", "--folds", "1", cwd=data),
                       "2 or more folds, got 1")
    assert_usage_error(run_cli("cv", "classes.csv", "--target", "species", "--folds", "two", cwd=data),
                       "whole number of folds")


def test_more_folds_than_rows_of_the_rarest_class_are_refused(data):
    result = run_cli("cv", "classes.csv", "--target", "species", "--folds", "25", cwd=data)
    assert_usage_error(result, "--folds 25 is more than the 24 rows of the rarest class ('chinstrap')",
                       "use --folds 24 or fewer")
    assert "fold 1/" not in result.stderr  # refused before any model is fitted


def test_more_folds_than_rows_are_refused(data):
    write_csv(data / "tiny.csv", ["x", "y"], [[f"{v:.1f}", f"{2 * v:.1f}"] for v in (0.5, 0.1, 0.9, 0.3)])
    try:
        assert_usage_error(run_cli("cv", "tiny.csv", "--target", "y", "--folds", "5", cwd=data),
                           "--folds 5 is more than the 4 rows of tiny.csv", "use --folds 4 or fewer")
        assert_usage_error(run_cli("cv", "tiny.csv", "--folds", "2", cwd=data), "cv needs --target")
    finally:
        os.remove(data / "tiny.csv")


# --------------------------------------------------------------------------------------------
# Phases and folds said, silent under --quiet; parameters checked as train checks them
# --------------------------------------------------------------------------------------------


def test_cv_says_each_phase_and_each_fold(data):
    result = succeeded(run_cli("cv", "classes.csv", "--target", "species", "--folds", "3", "--param", "max_iter=5",
                               cwd=data))
    lines = result.stderr.splitlines()
    assert lines[0] == "note: reading classes.csv ..."
    assert lines[1].startswith("note: read 300 rows in ")
    assert lines[2] == ("note: training 3 HistGradientBoostingClassifier models, one per fold, each on 200 rows and "
                        "3 features (0 categorical), binning first ...")
    assert [line.split("  ")[:2] for line in lines[3:]] == [[f"fold {k}/3", "5/5 iterations"] for k in (1, 2, 3)]


def test_early_stopping_is_said_and_each_fold_stops_on_its_own(data):
    result = succeeded(run_cli("cv", "classes.csv", "--target", "species", "--folds", "3", "--early-stopping", "on",
                               "--param", "learning_rate=0.9", "n_iter_no_change=3", cwd=data))
    assert ("note: early stopping is on: each fold's fit scores the loss (log_loss) on validation_fraction=0.1 "
            "of its training rows (held out) after each iteration and stops after 3 iterations without "
            "improvement (--early-stopping off trains every iteration)") in result.stderr.splitlines()
    iterations = [line.split("  ")[1] for line in result.stderr.splitlines() if line.startswith("fold ")]
    assert len(iterations) == 3 and all(int(done.split("/")[0]) < 100 for done in iterations), iterations
    refused = run_cli("cv", "classes.csv", "--target", "species", "--model", "rf", "--early-stopping", "on", cwd=data)
    assert refused.returncode == 1 and refused.stderr.startswith("error: --early-stopping on needs --model gbdt")


def test_a_parameter_of_another_model_suggests_this_models_own(data, tmp_path):
    # The check train makes (tests/test_cli_surprises.py), made before the data are read.
    result = run_cli("cv", data / "classes.csv", "--target", "species", "--model", "rf", "--param", "max_iter=200",
                     cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stderr == ("error: unknown parameter 'max_iter' for --model rf; "
                             "did you mean 'n_estimators' (the number of trees)?\n")


def test_cv_help_imports_no_scikit_learn():
    code = ("import sys\nfrom treeforge.cli import main\ntry:\n    main(['cv', '--help'])\nexcept SystemExit:\n"
            "    pass\nassert 'sklearn' not in sys.modules, 'scikit-learn imported'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert "--folds K" in result.stdout and "stratified" in result.stdout
