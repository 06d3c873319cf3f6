"""Learning to rank: the ranking losses' gradients, NDCG and MAP against brute force, query groups,
invariances and determinism of HistGradientBoostingRanker, and its accuracy beside LightGBM's."""

import itertools
import pickle
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import ndcg_score
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import _num_samples

from treeforge import HistGradientBoostingRanker, _core, load_model
from treeforge.ensemble._ranking import query_groups

LOSSES = ("lambdarank:3", "rank_pairwise", "rank_listwise")
DATA = Path(__file__).resolve().parent / "fixtures" / "lambdarank"


def ranking_problem(n_queries=40, size=15, seed=0):
    """Documents whose relevance follows two of their five features, in queries of random sizes."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 2 * size, n_queries)
    X = rng.normal(size=(sizes.sum(), 5))
    y = np.clip(np.round(1.5 + X[:, 0] - 0.5 * X[:, 1] + rng.normal(scale=0.5, size=len(X))), 0, 4)
    return X, y, sizes


def begin_of(sizes):
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


@pytest.mark.parametrize("objective", LOSSES)
def test_gradients_are_the_derivatives_of_the_loss(objective):
    rng = np.random.default_rng(1)
    sizes = [4, 6, 1, 5]
    y = rng.integers(0, 4, sum(sizes)).astype(float)
    y[11:16] = 2.0  # the last query has one label: nothing to order
    weight = np.repeat([1.0, 2.5, 1.0, 0.5], sizes)
    margin = rng.normal(size=len(y))  # distinct scores: a ranking that small steps do not change
    begin, total = begin_of(sizes), weight.sum()
    grad, hess, _ = _core._testing.gradients(objective, 1, y, margin, sample_weight=weight, group_begin=begin)
    eps = 1e-6
    for i in range(len(y)):
        step = np.zeros_like(margin)
        step[i] = eps
        up = _core._testing.gradients(objective, 1, y, margin + step, sample_weight=weight, group_begin=begin)[2]
        down = _core._testing.gradients(objective, 1, y, margin - step, sample_weight=weight, group_begin=begin)[2]
        # the mean loss is divided by the total weight; gradients are those of the weighted sum
        assert grad[i] == pytest.approx((up - down) / (2 * eps) * total, rel=1e-4, abs=1e-6)
    assert np.all(grad[10:] == 0) and np.all(hess[10:] == 0)  # one document or one label
    assert np.all(hess >= 0) and np.all(np.isfinite(grad))


@pytest.mark.parametrize("objective", LOSSES)
def test_tied_scores_give_finite_gradients_that_order_the_labels(objective):
    y = np.array([0, 3, 1, 0, 2.0])
    grad, hess, loss = _core._testing.gradients(objective, 1, y, np.zeros(5), group_begin=begin_of([5]))
    assert np.isfinite(loss) and np.all(np.isfinite(grad)) and np.all(hess > 0)
    # the most relevant document is pushed up most, the irrelevant ones down
    assert np.argmin(grad) == 1 and grad[0] > 0 and grad[3] > 0


def brute_force_ndcg(label, score, k):
    """NDCG@k averaged over every order of tied scores, by enumerating them."""
    gains = 2.0 ** label - 1
    ideal = sum(g / np.log2(p + 2) for p, g in enumerate(sorted(gains, reverse=True)[:k]))
    if ideal == 0:
        return 1.0
    values = []
    for perm in itertools.permutations(range(len(label))):
        ranked = sorted(perm, key=lambda i: -score[i])  # stable: ties in the permutation's order
        values.append(sum(gains[i] / np.log2(p + 2) for p, i in enumerate(ranked[:k])) / ideal)
    return float(np.mean(values))


def brute_force_average_precision(label, score, k):
    ranked = sorted(range(len(label)), key=lambda i: (-score[i], label[i] > 0))  # relevant last in a tie
    relevant = [label[i] > 0 for i in ranked]
    if not any(relevant):
        return 1.0
    hits, total = 0, 0.0
    for p, is_relevant in enumerate(relevant[:k]):
        if is_relevant:
            hits += 1
            total += hits / (p + 1)
    return total / min(sum(relevant), k)


def test_ndcg_and_map_equal_brute_force_with_ties_and_weights():
    rng = np.random.default_rng(2)
    sizes = [5, 6, 3, 1, 4]
    y = rng.integers(0, 4, sum(sizes)).astype(float)
    y[14] = y[15] = y[16] = y[17] = 0  # no relevant document: scores 1
    score = rng.integers(0, 3, sum(sizes)).astype(float)  # many ties
    weight = np.repeat([1.0, 3.0, 0.5, 2.0, 1.0], sizes)
    begin = begin_of(sizes)
    for k in (1, 3, 10):
        queries = [slice(begin[q], begin[q + 1]) for q in range(len(sizes))]
        w = np.array([weight[q.start] for q in queries])
        ndcg = [brute_force_ndcg(y[q], score[q], k) for q in queries]
        ap = [brute_force_average_precision(y[q], score[q], k) for q in queries]
        got = _core.ranking_metric("ndcg", k, y, score, begin, weight)
        assert got == pytest.approx(np.average(ndcg, weights=w), rel=1e-12)
        assert _core.ranking_metric("map", k, y, score, begin, weight) == pytest.approx(np.average(ap, weights=w))
    # scikit-learn's ndcg_score averages ties the same way (gains given as 2^label - 1)
    first = slice(0, 5)
    assert _core.ranking_metric("ndcg", 3, y[first], score[first], begin_of([5])) == pytest.approx(
        ndcg_score([2.0 ** y[first] - 1], [score[first]], k=3))


def test_group_sizes_and_query_ids_give_the_same_model():
    X, y, sizes = ranking_problem()
    qid = np.repeat(np.arange(len(sizes)) * 7 + 3, sizes)
    a = HistGradientBoostingRanker(max_iter=15, random_state=0).fit(X, y, group=sizes)
    b = HistGradientBoostingRanker(max_iter=15, random_state=0).fit(X, y, qid=qid)
    assert np.array_equal(a.predict(X), b.predict(X))


@pytest.mark.parametrize("loss", ["lambdarank", "pairwise", "listwise"])
def test_the_same_model_for_any_row_order_within_and_across_queries(loss):
    X, y, sizes = ranking_problem(seed=3)
    qid = np.repeat(np.arange(len(sizes)), sizes)
    perm = np.random.default_rng(4).permutation(len(y))
    params = dict(loss=loss, max_iter=15, subsample=0.7, random_state=0)
    a = HistGradientBoostingRanker(**params).fit(X, y, qid=qid)
    b = HistGradientBoostingRanker(**params).fit(X[perm], y[perm], qid=qid[perm])
    assert np.array_equal(a.predict(X), b.predict(X))


def test_the_same_model_on_any_thread_count():
    X, y, sizes = ranking_problem(n_queries=200, seed=5)
    models = [HistGradientBoostingRanker(max_iter=10, n_jobs=n, random_state=0).fit(X, y, group=sizes)
              for n in (1, 2, 3)]
    assert all(np.array_equal(models[0].predict(X), m.predict(X)) for m in models[1:])


def test_queries_of_equal_labels_change_nothing():
    X, y, sizes = ranking_problem(seed=6)
    X = np.round(X * 2)  # few distinct values, each its own bin whatever rows are added
    flat = X[np.random.default_rng(7).integers(0, len(X), 30)]
    params = dict(max_iter=10, random_state=0, min_samples_leaf=1)
    a = HistGradientBoostingRanker(**params).fit(X, y, group=sizes)
    b = HistGradientBoostingRanker(**params).fit(np.vstack([X, flat]), np.r_[y, np.full(30, 2.0)],
                                                 group=np.r_[sizes, [10, 20]])
    # their rows add no gradient and no hessian to any histogram: the same trees
    assert np.array_equal(a.predict(X), b.predict(X))


def test_early_stopping_holds_out_whole_queries():
    groups = query_groups(10, [3, 4, 1, 2], None)
    assert groups.rows_of(np.array([1, 3])).tolist() == [3, 4, 5, 6, 8, 9]
    assert groups.subset(np.array([1, 3])).begin.tolist() == [0, 4, 6]
    X, y, sizes = ranking_problem(n_queries=300, seed=8)
    ranker = HistGradientBoostingRanker(max_iter=200, early_stopping=True, random_state=0).fit(X, y, group=sizes)
    assert ranker.n_iter_ < 200 and len(ranker.validation_score_) == ranker.n_iter_ + 1
    assert 0 < ranker.validation_score_[-1] <= 1


def test_given_validation_queries_and_map_scoring():
    X, y, sizes = ranking_problem(n_queries=80, seed=9)
    Xv, yv, sv = ranking_problem(n_queries=20, seed=10)
    ranker = HistGradientBoostingRanker(max_iter=30, early_stopping=True, scoring="map@5", random_state=0)
    ranker.fit(X, y, group=sizes, X_val=Xv, y_val=yv, group_val=sv)
    begin = begin_of(sv)
    assert ranker.validation_score_[-1] == pytest.approx(_core.ranking_metric("map", 5, yv, ranker.predict(Xv), begin))


@pytest.mark.parametrize("kwargs, message", [
    ({}, "exactly one of them"),
    ({"group": [5, 5], "qid": np.zeros(100, int)}, "exactly one of them"),
    ({"group": [50, 49]}, "sum to the 100 rows"),
    ({"group": [50, 50.5]}, "integer query sizes"),
    ({"qid": np.zeros(99, int)}, "one query id per row"),
    ({"qid": np.zeros(100)}, "integer query ids"),
    ({"group": [100], "sample_weight": np.arange(100.0)}, "share one sample weight"),
    ({"group": [100], "X_val": np.zeros((5, 3)), "y_val": np.zeros(5)}, "group_val= "),
])
def test_bad_query_groups_are_refused_by_name(kwargs, message):
    X, y = np.random.default_rng(0).normal(size=(100, 3)), np.tile([0.0, 1, 2, 3], 25)
    with pytest.raises(ValueError, match=message):
        HistGradientBoostingRanker(max_iter=2).fit(X, y, **kwargs)


@pytest.mark.parametrize("labels", [[0.5, 1], [-1, 2], [32, 0], [np.nan, 1]])
def test_labels_must_be_relevance_grades(labels):
    with pytest.raises(ValueError, match="relevance labels|y contains NaN"):
        HistGradientBoostingRanker(max_iter=2).fit(np.zeros((20, 2)), np.resize(labels, 20), group=[20])


def test_bad_scoring_is_named():
    with pytest.raises(ValueError, match="scoring must be"):
        HistGradientBoostingRanker(scoring="ndcg@0").fit(np.zeros((20, 2)), np.zeros(20), group=[20])


def test_model_files_and_pickles_keep_the_ranker(tmp_path):
    X, y, sizes = ranking_problem(seed=11)
    ranker = HistGradientBoostingRanker(loss="listwise", max_iter=10, random_state=0).fit(X, y, group=sizes)
    ranker.save_model(tmp_path / "ranker.json")
    for copy in (load_model(tmp_path / "ranker.json"), pickle.loads(pickle.dumps(ranker))):
        assert type(copy) is HistGradientBoostingRanker
        assert np.array_equal(copy.predict(X), ranker.predict(X))
        assert copy.score(X, y, group=sizes) == ranker.score(X, y, group=sizes)


def load_lambdarank_example(name):
    import gzip

    from sklearn.datasets import load_svmlight_file

    with gzip.open(DATA / f"rank.{name}.gz") as f:
        X, y = load_svmlight_file(f, n_features=300)
    return X.toarray(), y, np.loadtxt(DATA / f"rank.{name}.query.gz", dtype=int)


def test_ndcg_on_lightgbm_example_within_noise_of_lightgbm():
    lightgbm = pytest.importorskip("lightgbm")
    X, y, group = load_lambdarank_example("train")
    X_test, y_test, group_test = load_lambdarank_example("test")
    ranker = HistGradientBoostingRanker(max_iter=100, random_state=0, n_jobs=1).fit(X, y, group=group)
    peer = lightgbm.LGBMRanker(n_estimators=100, num_leaves=31, min_child_samples=20, verbose=-1, n_jobs=1)
    peer.fit(X, y, group=group)
    begin = begin_of(group_test)
    peer_ndcg = _core.ranking_metric("ndcg", 10, y_test, peer.predict(X_test), begin)
    assert ranker.score(X_test, y_test, group=group_test) >= peer_ndcg - 0.005


class _QueriesOfTen(HistGradientBoostingRanker):
    """The ranker as scikit-learn's checks call it, fit(X, y) and score(X, y): every ten rows a
    query, the targets' distinct values as relevance grades (their order, at most 31)."""

    @staticmethod
    def _grades(y):
        return np.minimum(np.unique(np.asarray(y), return_inverse=True)[1].reshape(-1), 31)

    def fit(self, X, y, sample_weight=None):
        return super().fit(X, self._grades(y), sample_weight, qid=np.arange(_num_samples(X)) // 10)

    def score(self, X, y, sample_weight=None):
        return super().score(X, self._grades(y), sample_weight, qid=np.arange(_num_samples(X)) // 10)


_QUERY_WEIGHTS = ("a ranker's sample weights weight queries: the checks give the rows of one query different "
                  "weights, which the ranker refuses by name")


@parametrize_with_checks([_QueriesOfTen(max_iter=5, min_samples_leaf=5)], expected_failed_checks=lambda est: {
    "check_sample_weights_not_overwritten": _QUERY_WEIGHTS,
    "check_sample_weight_equivalence_on_dense_data": _QUERY_WEIGHTS,
    "check_sample_weight_equivalence_on_sparse_data": _QUERY_WEIGHTS,
})
def test_scikit_learn_checks_with_queries_given(estimator, check):
    # scikit-learn has no ranker type and its checks fit without query groups, which a ranker
    # refuses (as LightGBM's and XGBoost's do): they run on the ranker with a query every ten rows.
    check(estimator)


def test_eval_sets_record_ndcg_and_map_per_set_and_stop_early():
    X, y, sizes = ranking_problem(n_queries=120, seed=12)
    Xa, ya, sa = ranking_problem(n_queries=20, seed=13)
    Xb, yb, sb = ranking_problem(n_queries=25, seed=14)
    qid_b = np.repeat(np.arange(len(sb)), sb)
    perm = np.random.default_rng(15).permutation(len(yb))  # qid in any order
    seen = []

    def top_share(y_true, y_pred, sample_weight, group):
        seen.append(group.sum() == len(y_true))
        return ("first_is_best", float(np.mean(y_true[np.r_[0, np.cumsum(group)[:-1]]] >= 0)), True)

    ranker = HistGradientBoostingRanker(max_iter=40, early_stopping=True, n_iter_no_change=3, random_state=0)
    ranker.fit(X, y, group=sizes, eval_set=[(Xa, ya), (Xb[perm], yb[perm])], eval_group=[sa, None],
               eval_qid=[None, qid_b[perm]], eval_names=["a", "b"], eval_metric=["ndcg@5", "map", top_share])
    assert set(ranker.evals_result_) == {"a", "b"}
    assert set(ranker.evals_result_["b"]) == {"ndcg@5", "map@10", "first_is_best"} and all(seen)
    # each iteration's value is the metric of the staged scores on that set
    staged = list(ranker.staged_predict(Xb))
    for it in (0, ranker.n_iter_ - 1):
        expected = _core.ranking_metric("ndcg", 5, yb, staged[it], begin_of(sb))
        assert ranker.evals_result_["b"]["ndcg@5"][it] == pytest.approx(expected, rel=1e-12)
    assert ranker.n_iter_ < 40 and ranker.best_iteration_ is not None
    with pytest.raises(ValueError, match=r"eval_group\[1\]= .* or eval_qid\[1\]="):
        HistGradientBoostingRanker(max_iter=2).fit(X, y, group=sizes, eval_set=[(Xa, ya), (Xb, yb)],
                                                   eval_group=[sa, None])
    with pytest.raises(ValueError, match="eval_metric of a ranker"):
        HistGradientBoostingRanker(max_iter=2).fit(X, y, group=sizes, eval_set=[(Xa, ya)], eval_group=[sa],
                                                   eval_metric="rmse")


def test_callbacks_and_init_model_continue_a_ranker():
    from treeforge.callback import EarlyStopping  # noqa: F401  (the protocol is shared)

    X, y, sizes = ranking_problem(seed=16)
    first = HistGradientBoostingRanker(max_iter=10, random_state=0).fit(X, y, group=sizes)
    continued = HistGradientBoostingRanker(max_iter=10, random_state=0).fit(X, y, group=sizes, init_model=first)
    whole = HistGradientBoostingRanker(max_iter=20, random_state=0).fit(X, y, group=sizes)
    assert continued.n_iter_ == 20
    np.testing.assert_allclose(continued.predict(X), whole.predict(X), rtol=0, atol=1e-12)

    class StopAtFive:
        def after_iteration(self, estimator, progress):
            return progress.n_iter >= 5

    stopped = HistGradientBoostingRanker(max_iter=30, random_state=0).fit(X, y, group=sizes, callbacks=[StopAtFive()])
    assert stopped.n_iter_ == 5
