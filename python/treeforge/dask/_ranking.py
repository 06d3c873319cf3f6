"""The Dask ranker: learning to rank fitted where the queries live, the model the single machine fits."""

import numpy as np

from ..ensemble._ranking import MAX_RELEVANCE, HistGradientBoostingRanker
from ._estimators import _DASK_PARAMETERS, _DaskBoosting, dask_parameter_constraints


class DaskHistGradientBoostingRanker(_DaskBoosting, HistGradientBoostingRanker):
    """Histogram gradient boosting for learning to rank on Dask: the model
    :class:`treeforge.HistGradientBoostingRanker` fits on one machine with the same parameters,
    seed and ``qid``, bit for bit.

    The queries are given by ``fit(..., qid=...)``, a dask collection of query ids aligned with X's
    rows, as ``xgboost.dask.DaskXGBRanker`` takes them: the ids sorted (each query's rows together,
    ids increasing) and every query inside one block of rows, so that each worker holds whole
    queries and the ranking losses, which compare the documents of a query, stay inside a worker.
    Everything else is :class:`DaskHistGradientBoostingRegressor`'s (data placement, bins, the
    ring, ``timeout``), with these not supported yet (issue #26): ``warm_start``, early stopping and
    categorical features. ``subsample`` draws whole queries by their global order, as one machine does.

    Parameters
    ----------
    client : distributed.Client, default=None
        The cluster to fit on; None: the current client.
    timeout : float, default=30.0
        Seconds a worker waits for a peer before the fit fails.
    **params
        The parameters of :class:`treeforge.HistGradientBoostingRanker`.

    Attributes
    ----------
    communication_ : dict
        As the regressor's.

    Examples
    --------
    >>> import dask.array as da  # doctest: +SKIP
    >>> from treeforge.dask import DaskHistGradientBoostingRanker  # doctest: +SKIP
    >>> X = da.random.random((10_000, 5), chunks=(2_500, 5))  # doctest: +SKIP
    >>> qid = da.arange(10_000, chunks=2_500) // 20  # 500 queries of 20 documents  # doctest: +SKIP
    >>> ranker = DaskHistGradientBoostingRanker(max_iter=20).fit(X, da.floor(4 * X[:, 0]), qid=qid)  # doctest: +SKIP
    >>> ranker.predict(X).compute().shape  # doctest: +SKIP
    (10000,)
    """

    _local_class = HistGradientBoostingRanker
    _label_dtype = np.float64
    _parameter_constraints: dict = dask_parameter_constraints(HistGradientBoostingRanker)

    def __init__(self, loss="lambdarank", *, ndcg_at=10, learning_rate=0.1, max_iter=100, max_leaf_nodes=31,
                 max_depth=None, min_samples_leaf=20, l2_regularization=0.0, max_features=1.0, max_bins=255,
                 categorical_features="from_dtype", monotonic_cst=None, interaction_cst=None, warm_start=False,
                 early_stopping=False, scoring="ndcg", validation_fraction=0.1, n_iter_no_change=10, tol=1e-7,
                 verbose=0, random_state=None, l1_regularization=0.0, min_split_gain=0.0, min_child_weight=1e-3,
                 subsample=1.0, colsample_bytree=1.0, n_jobs=None, grow_policy="lossguide", cat_smooth=10.0,
                 cat_l2=10.0, max_cat_threshold=32, max_cat_to_onehot=4, min_data_per_group=100, client=None,
                 timeout=30.0):
        super().__init__(**{k: v for k, v in locals().items() if k not in ("self", "__class__", *_DASK_PARAMETERS)})
        self.client = client
        self.timeout = timeout

    def fit(self, X, y, sample_weight=None, *, qid=None):
        """Fit on dask collections, each worker on the queries it holds.

        Parameters
        ----------
        X : dask.array.Array of shape (n_samples, n_features) or dask.dataframe.DataFrame
            Training documents, numbers; NaN is missing.
        y : dask.array.Array of shape (n_samples,) or dask.dataframe.Series
            Relevance labels, integers from 0 to 31, aligned to X's rows.
        sample_weight : dask.array.Array of shape (n_samples,) or dask.dataframe.Series, default=None
            Query weights, given per row: the rows of a query share one weight.
        qid : dask.array.Array of shape (n_samples,) or dask.dataframe.Series
            The query id of every row: sorted, each query's rows in one block of X's rows.

        Returns
        -------
        self : object
            Fitted; ``to_local()`` gives the ordinary :class:`treeforge.HistGradientBoostingRanker`.
        """
        if qid is None:
            raise ValueError(f"{type(self).__name__}.fit needs qid=, the query id of every row (a dask collection "
                             "aligned with X)")
        return self._fit_dask(X, y, sample_weight, qid)

    def _check_dask_loss(self):
        pass  # every ranking loss: their sums stay inside a query, and so inside a worker

    def _dask_targets(self, y):
        import dask.array as da

        if not bool(((y >= 0) & (y <= MAX_RELEVANCE) & (y == da.floor(y))).all().compute()):
            raise ValueError(f"y must hold relevance labels: integers from 0 to {MAX_RELEVANCE}.")
        self.n_trees_per_iteration_ = 1
        return y
