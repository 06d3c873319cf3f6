"""Ranking on the command line: ``--group COL`` (query ids) with ``--task ranking``; train, eval and cv
report NDCG@1/5/10 and MAP over whole queries; LibSVM files with ``qid:`` fields or LightGBM's
``.query`` files; the misuses refused on one line."""

import gzip
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import dump_svmlight_file

from _cli_run import run_cli, succeeded

import treeforge
from treeforge import _core

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "lambdarank"


def ranking_frame(n_queries=60, size=10, seed=0):
    """Documents in queries named by text ids, rows shuffled across queries."""
    rng = np.random.default_rng(seed)
    n = n_queries * size
    data = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n),
                         "query": np.repeat([f"q{i:03d}" for i in range(n_queries)], size)})
    data["rel"] = np.clip(np.round(1.5 + data["x1"] + rng.normal(scale=0.5, size=n)), 0, 3).astype(int)
    return data.sample(frac=1.0, random_state=1).reset_index(drop=True)


def metrics_of(text):
    return {name: float(value) for name, value in re.findall(r"(ndcg@\d+|map) (\d\.\d+)", text)}


def reference_metrics(model_path, data):
    """The metrics computed from the saved model through the Python API (queries by id, any row order)."""
    model = treeforge.load_model(model_path)
    scores = model.predict(data[["x1", "x2"]].to_numpy())
    qid = np.unique(data["query"], return_inverse=True)[1]
    order = np.argsort(qid, kind="stable")
    begin = np.concatenate([[0], np.cumsum(np.bincount(qid))])
    y, s = data["rel"].to_numpy(float)[order], scores[order]
    values = {f"ndcg@{k}": _core.ranking_metric("ndcg", k, y, s, begin) for k in (1, 5, 10)}
    return values | {"map": _core.ranking_metric("map", 0, y, s, begin)}


def test_train_and_eval_report_ranking_metrics_over_queries(tmp_path):
    ranking_frame().to_csv(tmp_path / "train.csv", index=False)
    test = ranking_frame(n_queries=20, seed=2)
    test.to_csv(tmp_path / "test.csv", index=False)
    trained = succeeded(run_cli("train", "train.csv", "--target", "rel", "--group", "query", "--param",
                                "max_iter=20", "--out", "model.json", cwd=tmp_path))
    assert "task: ranking" in trained.stdout + trained.stderr
    assert "HistGradientBoostingRanker" in trained.stdout + trained.stderr
    shown = succeeded(run_cli("eval", "model.json", "test.csv", cwd=tmp_path)).stdout
    assert "ranking on 200 rows in 20 queries" in shown
    values, expected = metrics_of(shown), reference_metrics(tmp_path / "model.json", test)
    assert values.keys() == expected.keys()
    for name, value in values.items():
        assert value == pytest.approx(expected[name], abs=1e-4)  # printed with 4 decimals
    predicted = succeeded(run_cli("predict", "model.json", "test.csv", "--out", "-", cwd=tmp_path)).stdout
    assert len(predicted.splitlines()) == 201  # the query column is known, not a feature


def test_valid_fraction_holds_out_whole_queries(tmp_path):
    ranking_frame(n_queries=50, size=7).to_csv(tmp_path / "train.csv", index=False)
    result = succeeded(run_cli("train", "train.csv", "--target", "rel", "--group", "query", "--valid-fraction",
                               "0.2", "--param", "max_iter=10", "--out", "model.json", cwd=tmp_path))
    held = int(re.search(r"(\d+) held out", result.stdout + result.stderr).group(1))
    assert held == 70  # 10 of the 50 queries of 7 rows, none cut apart


def test_libsvm_with_a_lightgbm_query_file_and_with_qid_fields(tmp_path):
    for name in ("rank.train", "rank.train.query", "rank.test", "rank.test.query"):
        with gzip.open(FIXTURES / f"{name}.gz") as source, open(tmp_path / name.replace("rank.", "rank_"), "wb") as f:
            shutil.copyfileobj(source, f)
    for part in ("train", "test"):  # LightGBM's companion file: DATA plus .query
        (tmp_path / f"rank_{part}.svm").write_bytes((tmp_path / f"rank_{part}").read_bytes())
        (tmp_path / f"rank_{part}.svm.query").write_bytes((tmp_path / f"rank_{part}.query").read_bytes())
    succeeded(run_cli("train", "rank_train.svm", "--target", "label", "--group", "qid", "--param", "max_iter=30",
                      "--early-stopping", "off", "--out", "model.json", cwd=tmp_path))
    first = metrics_of(succeeded(run_cli("eval", "model.json", "rank_test.svm", cwd=tmp_path)).stdout)
    assert first["ndcg@10"] > 0.7  # LightGBM's lambdarank example: 0.73-0.75 for the peers
    # the same rows with qid: fields instead of the companion file
    from sklearn.datasets import load_svmlight_file

    X, y = load_svmlight_file(str(tmp_path / "rank_test"), n_features=301, zero_based=True)  # indices as given
    sizes = np.loadtxt(tmp_path / "rank_test.query", dtype=int)
    dump_svmlight_file(X, y, str(tmp_path / "fields.svm"), query_id=np.repeat(np.arange(1, len(sizes) + 1), sizes))
    second = metrics_of(succeeded(run_cli("eval", "model.json", "fields.svm", cwd=tmp_path)).stdout)
    assert second == first


def test_cv_folds_whole_queries(tmp_path):
    ranking_frame(n_queries=30).to_csv(tmp_path / "data.csv", index=False)
    result = succeeded(run_cli("cv", "data.csv", "--target", "rel", "--group", "query", "--folds", "3",
                               "--param", "max_iter=10", cwd=tmp_path))
    assert "whole queries" in result.stdout
    rows = [line.split() for line in result.stdout.splitlines() if re.match(r"^[123] ", line)]
    assert [int(row[1]) % 10 for row in rows] == [0, 0, 0]  # 10 rows a query
    assert {"ndcg@10", "map"} <= set(result.stdout.split())
    too_many = run_cli("cv", "data.csv", "--target", "rel", "--group", "query", "--folds", "31", cwd=tmp_path)
    assert too_many.returncode == 2 and "30 queries" in too_many.stderr


@pytest.mark.parametrize("options, message", [
    (["--task", "ranking"], "--task ranking needs --group COL"),
    (["--group", "query", "--model", "rf"], "--model rf does not rank"),
    (["--group", "query", "--task", "regression"], "names the query ids of a ranking task"),
    (["--group", "nope"], "nope"),
    (["--group", "query", "--param", "ndcg_att=5"], "did you mean 'ndcg_at'"),
])
def test_misused_ranking_options_are_refused_on_one_line(options, message, tmp_path):
    ranking_frame(n_queries=5).to_csv(tmp_path / "train.csv", index=False)
    result = run_cli("train", "train.csv", "--target", "rel", *options, cwd=tmp_path)
    assert result.returncode != 0 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_query_id_or_a_bad_query_file_is_named(tmp_path):
    data = ranking_frame(n_queries=5)
    data.loc[7, "query"] = None
    data.to_csv(tmp_path / "train.csv", index=False)
    result = run_cli("train", "train.csv", "--target", "rel", "--group", "query", cwd=tmp_path)
    assert result.returncode != 0 and "line 9" in result.stderr and "query id is missing" in result.stderr
    dump_svmlight_file(np.eye(4), [0, 1, 2, 0], str(tmp_path / "d.svm"))
    (tmp_path / "d.svm.query").write_text("2\n3\n")
    result = run_cli("train", "d.svm", "--target", "label", "--group", "qid", cwd=tmp_path)
    assert result.returncode != 0 and "d.svm.query" in result.stderr and "sum to the 4 rows" in result.stderr
