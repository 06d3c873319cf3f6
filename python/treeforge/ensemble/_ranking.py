"""HistGradientBoostingRanker: gradient boosting over query groups (LambdaMART, RankNet, listwise softmax)."""

import re
from numbers import Integral
from typing import NamedTuple, Optional

import numpy as np
from sklearn.base import _fit_context
from sklearn.model_selection import train_test_split
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _num_samples

from .. import _core
from ._base import (
    check_positive_total_weight,
    published_when_fitted,
    reads_one_fit,
    resolve_n_threads,
    store_init_arguments,
)
from ._boosting_start import FitOptions
from ._docstrings import GRADIENT_BOOSTING_DOC_PARTS, fill_doc, with_doc_parts
from ._eval_metrics import Metric
from ._gradient_boosting import BaseHistGradientBoosting
from ._model_io import register_estimator

MAX_RELEVANCE = 31  # the core's kMaxRelevance: gains 2^label - 1 stay exact doubles
_OBJECTIVES = {"pairwise": "rank_pairwise", "listwise": "rank_listwise"}  # lambdarank carries its k
_SCORING = re.compile(r"^(loss|ndcg|map)(?:@([1-9][0-9]*))?$")


class QueryGroups(NamedTuple):
    """Where each query's rows are once the rows are in query order."""

    begin: np.ndarray  # (n_queries + 1,) int64: query q holds rows begin[q]:begin[q + 1]
    order: Optional[np.ndarray]  # the given rows in query order; None when they already are

    def rows_of(self, queries):
        """The rows of ``queries`` (sorted query indices), in order."""
        starts, sizes = self.begin[queries], np.diff(self.begin)[queries]
        offsets = np.cumsum(sizes) - sizes
        return np.arange(sizes.sum()) - np.repeat(offsets, sizes) + np.repeat(starts, sizes)

    def subset(self, queries):
        """The groups of ``queries`` (sorted query indices) once their rows are taken out."""
        return QueryGroups(np.concatenate([[0], np.cumsum(np.diff(self.begin)[queries])]), None)


def query_groups(n_rows, group, qid, names=("group", "qid")):
    """The query groups of ``n_rows`` rows from ``group`` (sizes of consecutive queries, LightGBM's
    form) or ``qid`` (a query id per row, XGBoost's form, in any order: rows are grouped by id,
    stably, queries ordered by id); ValueError naming the parameter otherwise."""
    group_name, qid_name = names
    if (group is None) == (qid is None):
        raise ValueError(f"HistGradientBoostingRanker needs the query of every row: pass {group_name}= (the sizes "
                         f"of consecutive queries) or {qid_name}= (a query id per row), exactly one of them.")
    if group is not None:
        sizes = np.asarray(group)
        if sizes.ndim != 1 or sizes.size == 0 or sizes.dtype.kind not in "iuf" or not np.all(sizes == np.floor(sizes)):
            raise ValueError(f"{group_name} must be a 1-D sequence of integer query sizes.")
        if np.any(sizes < 1) or sizes.sum() != n_rows:
            raise ValueError(f"{group_name} must hold query sizes >= 1 that sum to the {n_rows} rows; "
                             f"got sizes from {sizes.min()} summing to {sizes.sum()}.")
        return QueryGroups(np.concatenate([[0], np.cumsum(sizes.astype(np.int64))]), None)
    ids = np.asarray(qid)
    if ids.ndim != 1 or ids.shape[0] != n_rows:
        raise ValueError(f"{qid_name} must hold one query id per row: {n_rows} values, got shape {ids.shape}.")
    if ids.dtype.kind not in "iu":
        raise ValueError(f"{qid_name} must hold integer query ids, got dtype {ids.dtype}.")
    codes = np.unique(ids, return_inverse=True)[1].reshape(-1)
    order = np.argsort(codes, kind="stable")
    begin = np.concatenate([[0], np.cumsum(np.bincount(codes))]).astype(np.int64)
    return QueryGroups(begin, None if np.all(order[1:] > order[:-1]) else order)


def in_query_order(order, X, *arrays):
    """X and per-row arrays (None kept) with their rows in ``order`` (None: as they are)."""
    if order is None:
        return (X, *arrays)
    return (_safe_indexing(X, order), *(None if a is None else np.asarray(a)[order] for a in arrays))


def check_relevance(y, name="y"):
    """y as float64 relevance labels, integers in [0, MAX_RELEVANCE]; ValueError otherwise."""
    y = np.ascontiguousarray(y, dtype=np.float64).reshape(-1)
    if not np.all((y >= 0) & (y <= MAX_RELEVANCE) & (y == np.floor(y))):
        raise ValueError(f"{name} must hold relevance labels: integers from 0 to {MAX_RELEVANCE}.")
    return y


_RANKER_DOC_PARTS = {
    **GRADIENT_BOOSTING_DOC_PARTS,
    "boosting_parameters": GRADIENT_BOOSTING_DOC_PARTS["boosting_parameters"].replace(
        """    scoring : str, callable or None, default='loss'
        Score used for early stopping: 'loss' uses the training loss; any other value is passed to
        :func:`sklearn.metrics.check_scoring` and evaluated on at most 10,000 training samples and
        on the validation set. Ignored without early stopping.
    validation_fraction : int, float or None, default=0.1
        Proportion (or absolute number) of the training data set aside to score early stopping.""",
        """    scoring : str, default='ndcg'
        Score used for early stopping: 'ndcg' or 'map' (at ``ndcg_at``), 'ndcg@k' or 'map@k', or
        'loss' (the negated loss). Ignored without early stopping.
    validation_fraction : int, float or None, default=0.1
        Proportion (or absolute number) of the training queries set aside, whole, to score early
        stopping."""),
}


@register_estimator
class HistGradientBoostingRanker(BaseHistGradientBoosting):
    __doc__ = fill_doc("""Histogram-based gradient boosting for learning to rank.

    The rows are documents, grouped into queries by ``fit(..., group=...)`` (sizes of consecutive
    queries, as LightGBM's ``LGBMRanker``) or ``fit(..., qid=...)`` (a query id per row, in any
    order, as XGBoost's ``XGBRanker``); ``y`` holds relevance labels, integers from 0 to 31 (gain
    2^label - 1). ``predict`` gives scores: within a query, a higher score ranks higher.

    Parameters
    ----------
    loss : {'lambdarank', 'pairwise', 'listwise'}, default='lambdarank'
        - 'lambdarank': LambdaMART for NDCG@``ndcg_at``: the pairwise logistic loss of every pair of
          different labels, weighted by the change of NDCG@k their swap would make (positions
          beyond k count nothing; tied scores share their positions' mean discount).
        - 'pairwise': RankNet's logistic loss over all pairs of different labels, a query counting
          as much as its documents.
        - 'listwise': softmax cross-entropy of the query's scores against the target distribution
          (2^label - 1) / (sum of the query's gains), times its number of documents.
        A query whose labels are all equal contributes nothing.
    ndcg_at : int, default=10
        The k of NDCG@k that 'lambdarank' optimises, ``scoring='ndcg'`` and ``score`` report.
    {boosting_parameters}
    {extra_parameters}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    HistGradientBoostingRegressor : Pointwise regression on the labels.

    {notes}
    ``sample_weight`` weights queries: the rows of a query must share one weight. ``subsample``
    draws whole queries.

    Examples
    --------
    >>> import numpy as np
    >>> from treeforge import HistGradientBoostingRanker
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(600, 4))
    >>> y = np.clip(np.round(X[:, 0] + rng.normal(scale=0.5, size=600)), 0, 3)
    >>> ranker = HistGradientBoostingRanker(max_iter=20, random_state=0)
    >>> ranker.fit(X, y, group=[20] * 30).predict(X[:3]).shape
    (3,)
    >>> bool(ranker.score(X, y, group=[20] * 30) > 0.8)
    True
    """, _RANKER_DOC_PARTS)

    _parameter_constraints: dict = {
        **BaseHistGradientBoosting._parameter_constraints,
        "loss": [StrOptions({"lambdarank", "pairwise", "listwise"})],
        "ndcg_at": [Interval(Integral, 1, None, closed="left")],
        "scoring": [str],
    }

    def __init__(self, loss="lambdarank", *, ndcg_at=10, learning_rate=0.1, max_iter=100, max_leaf_nodes=31,
                 max_depth=None, min_samples_leaf=20, l2_regularization=0.0, max_features=1.0, max_bins=255,
                 categorical_features="from_dtype", monotonic_cst=None, interaction_cst=None, warm_start=False,
                 early_stopping="auto", scoring="ndcg", validation_fraction=0.1, n_iter_no_change=10, tol=1e-7,
                 verbose=0, random_state=None, l1_regularization=0.0, min_split_gain=0.0, min_child_weight=1e-3,
                 subsample=1.0, colsample_bytree=1.0, n_jobs=None, grow_policy="lossguide", cat_smooth=10.0,
                 cat_l2=10.0, max_cat_threshold=32, max_cat_to_onehot=4, min_data_per_group=100):
        store_init_arguments(self, locals())

    @with_doc_parts(_RANKER_DOC_PARTS)
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, group=None, qid=None, X_val=None, y_val=None, group_val=None,
            qid_val=None, sample_weight_val=None, callback=None, record_train_score=True, init_score=None,
            init_model=None, eval_set=None, eval_group=None, eval_qid=None, eval_names=None,
            eval_sample_weight=None, eval_init_score=None, eval_metric=None, callbacks=None):
        """Fit the ranker.

        {X_parameter}
        y : array-like of shape (n_samples,)
            Relevance labels, integers from 0 to 31.
        sample_weight : array-like of shape (n_samples,), default=None
            Query weights, given per row: the rows of a query must share one weight.
        group : array-like of int, default=None
            Sizes of the queries, whose rows are consecutive (they sum to n_samples).
        qid : array-like of int of shape (n_samples,), default=None
            The query id of every row (exactly one of ``group`` and ``qid``). Rows need not be
            sorted: they are grouped by id, keeping their order within a query.
        X_val, y_val, group_val, qid_val, sample_weight_val : default=None
            Validation queries for early stopping, used instead of ``validation_fraction``.
        callback, record_train_score, callbacks :
            As :meth:`HistGradientBoostingRegressor.fit`.
        {init_score_parameter}
        {init_model_parameter}
        eval_set : list of (X, y) pairs, default=None
            Evaluation queries scored after every iteration into ``evals_result_``; the last set's
            first metric decides early stopping. Each set's queries are given by ``eval_group`` or
            ``eval_qid`` (a list of one entry per set). ``eval_names``, ``eval_sample_weight`` and
            ``eval_init_score`` as for :meth:`HistGradientBoostingRegressor.fit`.
        eval_group, eval_qid : list of array-like, default=None
        eval_names, eval_sample_weight, eval_init_score : default=None
        eval_metric : str, callable or list of them, default=None
            'ndcg', 'map' (at ``ndcg_at``), 'ndcg@k' or 'map@k' (higher is better), or a callable
            ``metric(y_true, y_pred, sample_weight, group)`` given a set's relevance labels, scores,
            weights and query sizes, in query order. None: the metric ``scoring`` names.

        Returns
        -------
        self : object
        """
        queries = query_groups(_num_samples(X), group, qid)
        X, y, sample_weight, init_score = in_query_order(queries.order, X, y, sample_weight, init_score)
        valid_queries = None
        if X_val is not None or y_val is not None:
            if X_val is None or y_val is None:
                raise ValueError("X_val and y_val must be passed together.")
            valid_queries = query_groups(_num_samples(X_val), group_val, qid_val, ("group_val", "qid_val"))
            X_val, y_val, sample_weight_val = in_query_order(valid_queries.order, X_val, y_val, sample_weight_val)
        evaluation = eval_sets_in_query_order(eval_set, eval_group, eval_qid, eval_sample_weight, eval_init_score)
        if evaluation is not None:
            eval_set, eval_sample_weight, eval_init_score, eval_groups = evaluation
            valid_queries = QueryGroups(_concatenated(eval_groups), None)
        options = FitOptions(callback, record_train_score, init_score, init_model, eval_set, eval_names,
                             eval_sample_weight, eval_init_score, eval_metric, callbacks)
        with published_when_fitted(self) as fitted:
            fitted._queries = {"train": queries, "valid": valid_queries}
            fitted._eval_groups = None if evaluation is None else evaluation[3]
            try:
                fitted._fit(X, y, sample_weight, (X_val, y_val, sample_weight_val), options)
            finally:  # the fit's own bookkeeping, not a fitted attribute
                for name in ("_queries", "_scored", "_eval_groups"):
                    fitted.__dict__.pop(name, None)
        return self

    def _check_loss(self):
        self._scoring_metric()  # a malformed scoring is named before any work

    def _objective(self):
        return f"lambdarank:{int(self.ndcg_at)}" if self.loss == "lambdarank" else _OBJECTIVES[self.loss]

    def _encode_y(self, y):
        self.n_trees_per_iteration_ = 1
        return check_relevance(y)

    def _encode_y_val(self, y):
        return check_relevance(y, "y_val")

    def _split_validation(self, data, X_val, y_val, sample_weight_val):
        """Early stopping's validation queries: those given, or whole queries drawn from the data."""
        queries = self._queries["train"]
        drawn = self.do_early_stopping_ and X_val is None and self.validation_fraction is not None
        if not drawn:
            train, valid = super()._split_validation(data, X_val, y_val, sample_weight_val)
        else:
            n_queries = len(queries.begin) - 1
            if n_queries < 2:
                raise ValueError("Early stopping holds out whole queries: it needs at least 2 queries.")
            kept, held = (np.sort(part) for part in train_test_split(
                np.arange(n_queries), test_size=self.validation_fraction, random_state=self._seed))
            train = data.take(queries.rows_of(kept), copy_X=False)
            valid = data.take(queries.rows_of(held))
            self._queries = {"train": queries.subset(kept), "valid": queries.subset(held)}
            if train.weight is not None:
                check_positive_total_weight(train.weight, "sample_weight of the training queries")
        self._scored = {"train": train, "valid": valid}
        return train, valid

    def _query_groups(self, train, valid):
        valid_queries = self._queries["valid"] if valid is not None else None
        return {"group_begin": self._queries["train"].begin,
                "group_begin_valid": None if valid_queries is None else valid_queries.begin}

    def _scoring_metric(self):
        """(metric, k) of ``scoring``: metric 'loss', 'ndcg' or 'map'; ValueError for another value."""
        match = _SCORING.match(self.scoring) if isinstance(self.scoring, str) else None
        if match is None:
            raise ValueError(f"scoring must be 'ndcg', 'map', 'ndcg@k', 'map@k' or 'loss', got {self.scoring!r}.")
        return match.group(1), int(match.group(2) or self.ndcg_at)

    def _scoring_metric_name(self):
        """The eval_metric name of ``scoring`` (None for 'loss')."""
        metric, k = self._scoring_metric()
        return None if metric == "loss" else f"{metric}@{k}"

    def _own_metric(self, metric):
        """The ``Metric`` of an eval_metric entry: a ranking metric's name, or a callable given the
        set's query sizes."""
        if callable(metric):
            def score(estimator, y, labels, margin, weight, begin):
                return metric(labels, margin[:, 0], weight, np.diff(begin))
            return Metric(getattr(metric, "__name__", type(metric).__name__), score, False, needs_groups=True)
        match = _SCORING.match(metric) if isinstance(metric, str) else None
        if match is None or match.group(1) == "loss":
            raise ValueError(f"eval_metric of a ranker must be 'ndcg', 'map', 'ndcg@k', 'map@k' or a callable, "
                             f"got {metric!r}.")
        name, k = match.group(1), int(match.group(2) or self.ndcg_at)

        def ranking(estimator, y, labels, margin, weight, begin):
            return _core.ranking_metric(name, k, y, np.ascontiguousarray(margin[:, 0]), begin, weight,
                                        estimator._n_threads)
        return Metric(f"{name}@{k}", ranking, True, needs_groups=True)

    def _margin_score(self):
        """ScoreRecorder's score of the training or validation queries from their margins."""
        metric, k = self._scoring_metric()
        if metric == "loss":
            return None

        def score(which, margin):
            part = self._scored[which]
            return _core.ranking_metric(metric, k, part.y, margin.reshape(-1), self._queries[which].begin,
                                        part.weight, self._n_threads)
        return score

    @property
    def _n_threads(self):
        return resolve_n_threads(self.n_jobs)

    @with_doc_parts(_RANKER_DOC_PARTS)
    @reads_one_fit
    def predict(self, X, iteration_range=None):
        """Scores of the rows of X: within a query, a higher score ranks higher.

        {X_parameter}
        {iteration_range_parameter}

        Returns
        -------
        scores : ndarray of shape (n_samples,), float64
        """
        return self._margins(X, iteration_range).reshape(-1)

    @with_doc_parts(_RANKER_DOC_PARTS)
    @reads_one_fit
    def staged_predict(self, X):
        """Scores of the rows of X after each iteration.

        {X_parameter}

        Yields
        ------
        scores : ndarray of shape (n_samples,), float64
        """
        for margin in self._staged_raw_margins(X):
            yield margin.reshape(-1)

    def score(self, X, y, sample_weight=None, *, group=None, qid=None):
        """Mean NDCG@``ndcg_at`` over the queries of X (weighted by ``sample_weight``, per query).

        Gains 2^label - 1; tied scores share their positions' mean discount (scikit-learn's
        ``ndcg_score``); a query whose labels are all 0 scores 1 (LightGBM's and XGBoost's rule).
        """
        return ranking_score(self, "ndcg", self.ndcg_at, X, y, sample_weight, group, qid)


def eval_sets_in_query_order(eval_set, eval_group, eval_qid, eval_sample_weight, eval_init_score):
    """(eval_set, weights, offsets, group_begin of each set), every set's rows in query order; None
    without eval_set. ValueError naming the set whose queries are missing or wrong."""
    if eval_set is None:
        return None
    if not isinstance(eval_set, (list, tuple)) or not all(isinstance(pair, (list, tuple)) and len(pair) == 2
                                                          for pair in eval_set):
        raise ValueError("eval_set must be a non-empty list of (X, y) pairs.")
    n_sets = len(eval_set)
    per_set = {}
    for name, value in (("eval_group", eval_group), ("eval_qid", eval_qid), ("eval_sample_weight", eval_sample_weight),
                        ("eval_init_score", eval_init_score)):
        if value is not None and (not isinstance(value, (list, tuple)) or len(value) != n_sets):
            raise ValueError(f"{name} must be a list of one entry per eval_set entry ({n_sets}).")
        per_set[name] = [None] * n_sets if value is None else list(value)
    sets, weights, offsets, begins = [], [], [], []
    for i, (X, y) in enumerate(eval_set):
        queries = query_groups(_num_samples(X), per_set["eval_group"][i], per_set["eval_qid"][i],
                               (f"eval_group[{i}]", f"eval_qid[{i}]"))
        X, y, weight, offset = in_query_order(queries.order, X, y, per_set["eval_sample_weight"][i],
                                              per_set["eval_init_score"][i])
        sets.append((X, y))
        weights.append(weight)
        offsets.append(offset)
        begins.append(queries.begin)
    return (sets, None if eval_sample_weight is None else weights, None if eval_init_score is None else offsets,
            begins)


def _concatenated(begins):
    """The query groups of sets laid one after the other."""
    sizes = np.concatenate([np.diff(begin) for begin in begins])
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


def ranking_score(ranker, metric, k, X, y, sample_weight=None, group=None, qid=None):
    """``metric`` ('ndcg' or 'map') at ``k`` of the ranker's scores of X against labels y."""
    queries = query_groups(_num_samples(X), group, qid)
    scores = ranker.predict(X)
    scores, y, sample_weight = in_query_order(queries.order, scores, check_relevance(y), sample_weight)
    weight = None if sample_weight is None else np.ascontiguousarray(sample_weight, dtype=np.float64)
    return _core.ranking_metric(metric, int(k), y, np.ascontiguousarray(scores), queries.begin, weight,
                                ranker._n_threads)
