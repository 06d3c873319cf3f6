"""``treeforge train`` computes only what it shows (issue #28 item 4): no metrics under --quiet, no
per-iteration training loss beside a validation set."""

import csv

import numpy as np
import pytest

from treeforge import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from treeforge import cli
from treeforge.cli import _train


def _write_rows(path, header, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture()
def data_file(tmp_path):
    """A binary problem of 3000 rows (x, z numeric, a text column, target y)."""
    rng = np.random.default_rng(0)
    rows = [[f"{x:.3f}", f"{z:.3f}", rng.choice(["p", "q", "r"]), int(x + 0.3 * z + rng.normal(0, 0.5) > 0)]
            for x, z in rng.normal(size=(3000, 2))]
    return _write_rows(tmp_path / "data.csv", ["x", "z", "kind", "y"], rows)


def _train_args(data_file, tmp_path, *extra):
    return ["train", str(data_file), "--target", "y", "--param", "max_iter=15", "n_iter_no_change=100",
            "--out", str(tmp_path / "model.json"), *extra]


@pytest.mark.parametrize("quiet", [True, False])
def test_metrics_are_computed_only_when_shown(data_file, tmp_path, monkeypatch, capsys, quiet):
    calls = []
    real = _train.compute_metrics
    monkeypatch.setattr(_train, "compute_metrics", lambda *args: calls.append(args) or real(*args))
    assert cli.main(_train_args(data_file, tmp_path, *(["--quiet"] if quiet else []))) == 0
    assert len(calls) == (0 if quiet else 1)
    assert ("log_loss" in capsys.readouterr().out) is not quiet


@pytest.mark.parametrize("validation, recorded", [(["--valid-fraction", "0.2", "--early-stopping", "on"], False),
                                                  (["--param", "validation_fraction=None", "--early-stopping", "on"],
                                                   True)])
def test_training_loss_is_recorded_only_when_it_decides(data_file, tmp_path, monkeypatch, validation, recorded):
    fitted = []
    real_fit = HistGradientBoostingClassifier.fit

    def fit(self, *args, **kwargs):
        fitted.append((self, kwargs["record_train_score"]))
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(HistGradientBoostingClassifier, "fit", fit)
    assert cli.main(_train_args(data_file, tmp_path, "--quiet", *validation)) == 0
    (estimator, asked), = fitted
    assert asked is False and (len(estimator.train_score_) == 16) is recorded
    assert len(estimator.validation_score_) == (0 if recorded else 16)


def test_unknown_parameters_are_refused_before_the_data_are_read(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(_train, "_read_training_data", lambda *args: pytest.fail("the data were read"))
    assert cli.main(["train", str(_write_rows(tmp_path / "d.csv", ["a", "y"], [[1, 2]])), "--target", "y",
                     "--param", "learning_rat=0.1", "--out", str(tmp_path / "m.json")]) == 1
    assert "did you mean 'learning_rate'?" in capsys.readouterr().err


def test_estimators_record_no_training_score_when_asked_not_to():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(3000, 3)), rng.normal(size=3000)
    X_val, y_val = rng.normal(size=(500, 3)), rng.normal(size=500)
    common = dict(max_iter=12, early_stopping=True, n_iter_no_change=100, random_state=0, verbose=2)
    full = HistGradientBoostingRegressor(**common).fit(X, y, X_val=X_val, y_val=y_val)
    lean = HistGradientBoostingRegressor(**common).fit(X, y, X_val=X_val, y_val=y_val, record_train_score=False)
    assert len(full.train_score_) == 13 and lean.train_score_.shape == (0,)
    np.testing.assert_array_equal(lean.validation_score_, full.validation_score_)
    np.testing.assert_array_equal(lean.predict(X_val), full.predict(X_val))
    lean.set_params(max_iter=20, warm_start=True).fit(X, y, X_val=X_val, y_val=y_val)  # asked for: none to align with
    assert lean.train_score_.shape == (0,) and len(lean.validation_score_) == 21
    alone = HistGradientBoostingRegressor(**{**common, "validation_fraction": None})
    assert len(alone.fit(X, y, record_train_score=False).train_score_) == 13  # it decides stopping: recorded
    scored = HistGradientBoostingRegressor(**common, scoring="r2").fit(X, y, X_val=X_val, y_val=y_val,
                                                                         record_train_score=False)
    assert scored.train_score_.shape == (0,) and len(scored.validation_score_) == 13
