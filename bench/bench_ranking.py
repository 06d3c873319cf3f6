"""Learning to rank: treeforge's HistGradientBoostingRanker beside LightGBM's ``lambdarank`` and
XGBoost's ``rank:ndcg``, same data, rounds, leaves and threads.

Two data sets:

- ``example``: LightGBM's ``examples/lambdarank`` files (``rank.train`` / ``rank.test`` and their
  query files; 3,005 training rows in 201 queries, 768 test rows in 50; read from
  ``tests/fixtures/lambdarank``). Too small for timing claims: its rows are for accuracy.
- ``generated``: ``--queries`` training queries of ``--docs`` documents (1,000,000 rows in 10,000
  queries by default) and a tenth as many test queries, 20 features; each document's relevance
  (0..4) is its rank within the query of a nonlinear score plus noise (top 5% 4, next 10% 3, next
  15% 2, next 25% 1).

Every library's test scores go through one NDCG@k / MAP@k (``treeforge._core.ranking_metric``:
gains 2^label - 1, ties averaged). Fit times are medians of ``--repeats``, libraries round-robin in
one process, 2 threads.

    python bench/bench_ranking.py
    python bench/bench_ranking.py --queries 1000 --repeats 1 --no-write
"""

import argparse
import gzip
from pathlib import Path

import numpy as np

import common

N_THREADS = 2
FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "lambdarank"


def example_data():
    from sklearn.datasets import load_svmlight_file

    parts = []
    for name in ("train", "test"):
        with gzip.open(FIXTURES / f"rank.{name}.gz") as f:
            X, y = load_svmlight_file(f, n_features=300)
        parts += [X.toarray(), y, np.loadtxt(FIXTURES / f"rank.{name}.query.gz", dtype=int)]
    return parts


def generated_queries(n_queries, docs, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_queries * docs, 20))
    score = X[:, 0] + 0.5 * X[:, 1] ** 2 + np.sin(2 * X[:, 2]) * X[:, 3] + 0.3 * X[:, 4] * X[:, 5]
    score += rng.normal(scale=0.7, size=len(score))
    rank = np.argsort(np.argsort(-score.reshape(n_queries, docs), axis=1), axis=1) / docs  # 0 = best
    y = np.select([rank < 0.05, rank < 0.15, rank < 0.30, rank < 0.55], [4, 3, 2, 1], 0).reshape(-1)
    return X, y.astype(np.float64), np.full(n_queries, docs)


def generated_data(n_queries, docs):
    return [*generated_queries(n_queries, docs, 0), *generated_queries(max(n_queries // 10, 2), docs, 1)]


def make_rankers(params):
    import lightgbm
    import xgboost

    from treeforge import HistGradientBoostingRanker

    rounds, leaves, rate, min_leaf = params["rounds"], params["leaves"], params["learning_rate"], params["min_leaf"]
    return {
        "treeforge": (HistGradientBoostingRanker(
            max_iter=rounds, max_leaf_nodes=leaves, learning_rate=rate, min_samples_leaf=min_leaf,
            early_stopping=False, n_jobs=N_THREADS, random_state=0), "group"),
        "lightgbm": (lightgbm.LGBMRanker(
            objective="lambdarank", n_estimators=rounds, num_leaves=leaves, learning_rate=rate,
            min_child_samples=min_leaf, n_jobs=N_THREADS, random_state=0, verbose=-1), "group"),
        "xgboost": (xgboost.XGBRanker(
            objective="rank:ndcg", n_estimators=rounds, max_leaves=leaves, max_depth=0, grow_policy="lossguide",
            tree_method="hist", learning_rate=rate, n_jobs=N_THREADS, random_state=0), "qid"),
    }


def fit_ranker(ranker, how, X, y, group):
    if how == "group":
        return ranker.fit(X, y, group=group)
    return ranker.fit(X, y, qid=np.repeat(np.arange(len(group)), group))


def test_metrics(ranker, X, y, group):
    from treeforge import _core

    begin = np.concatenate([[0], np.cumsum(group)])
    scores = np.ascontiguousarray(ranker.predict(X), dtype=np.float64)
    return {f"NDCG@{k}": _core.ranking_metric("ndcg", k, y, scores, begin) for k in (1, 5, 10)} | {
        "MAP@10": _core.ranking_metric("map", 10, y, scores, begin)}


def run(name, data, params, repeats):
    X, y, group, X_test, y_test, group_test = data
    rankers = make_rankers(params)
    cases = {lib: (lambda r=r, how=how: {"fit": common.timed(lambda: fit_ranker(r, how, X, y, group))})
             for lib, (r, how) in rankers.items()}
    medians = common.interleaved_medians(cases, repeats, warmup=0)
    rows = []
    for lib, (ranker, _) in rankers.items():
        metrics = test_metrics(ranker, X_test, y_test, group_test)
        fit_s = medians[lib]["fit"]
        rows.append([name, lib, common.fmt(fit_s), "—" if lib == "treeforge" else
                     common.ratio(medians["treeforge"]["fit"], fit_s), *(f"{v:.4f}" for v in metrics.values())])
        common.log(f"{name} {lib}: fit {fit_s:.2f} s, {metrics}")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=10_000, help="training queries of the generated set")
    parser.add_argument("--docs", type=int, default=100, help="documents per generated query")
    parser.add_argument("--leaves", type=int, default=31)
    common.add_common_args(parser, repeats=3)
    parser.set_defaults(rounds=100)
    args = parser.parse_args(argv)
    params = {"rounds": args.rounds, "leaves": args.leaves, "learning_rate": 0.1, "min_leaf": 20}
    rows = run("example", example_data(), params, args.repeats)
    rows += run("generated", generated_data(args.queries, args.docs), params, args.repeats)
    body = common.markdown_table(["data", "library", f"fit s ({N_THREADS} threads)", "treeforge/peer",
                                  "NDCG@1", "NDCG@5", "NDCG@10", "MAP@10"], rows)
    notes = [f"{args.rounds} rounds, {args.leaves} leaves, learning rate 0.1, at least 20 rows a leaf; treeforge "
             "loss='lambdarank' (NDCG@10), LightGBM objective='lambdarank' (its defaults), XGBoost "
             "objective='rank:ndcg' (hist, lossguide, its defaults)",
             f"generated: {args.queries:,} training queries of {args.docs} documents, 20 features; test "
             f"{max(args.queries // 10, 2):,} queries", f"fit: medians of {args.repeats} repeats, round-robin",
             "metrics on the test queries, one implementation for all libraries (gains 2^label - 1, ties averaged)"]
    common.finish_section(args, "ranking", "Learning to rank: lambdarank", ["treeforge", "xgboost", "lightgbm"],
                          body, notes, default_rounds=100)


if __name__ == "__main__":
    main()
