"""Random forests on Dask: each worker grows every tree on the rows it holds, the histograms reduced
through the same ring as boosting's; the model the single machine would fit, bit for bit."""

from typing import NamedTuple

import numpy as np

from .. import _core
from ..ensemble._base import draw_seed, resolve_n_threads
from ..ensemble._forest import RandomForestClassifier, RandomForestRegressor
from ..ensemble._forest_data import n_samples_bootstrap
from ._collections import as_dask_matrix, as_dask_vector, fitted_bin_mapper, placed_blocks, resolve_client
from ._estimators import (
    _DASK_PARAMETERS,
    _check_values,
    _communication,
    _DaskClassifierOutputs,
    _DaskModel,
    dask_classes,
    dask_parameter_constraints,
)
from ._training import binned_rows, fit_on_workers, joined_ring


class ForestJob(NamedTuple):
    """What every worker of a forest's fit is given alike."""

    token: int
    hosts: list
    ports: list
    n_rows: int
    bin_mapper: object
    config: dict
    n_estimators: int
    n_threads: int
    classification: bool
    sampling_weights: object  # every row's sample weight for a weighted bootstrap, else None
    oob_score: bool  # each worker's out-of-bag sums of its rows returned


def train_forest_on_worker(job, rank, parts):
    """(On a worker) Joins the ring as ``rank`` and grows the forest's trees one after the other
    on the rows of ``parts`` (its blocks: ``(X, y, weight or None, first global row)``), every
    worker the same trees; rank 0 returns the model, every worker its rows' out-of-bag sums
    (with ``job.oob_score``)."""
    ring = joined_ring(job, rank)
    try:
        config, train, y, weight, rows = binned_rows(job, parts, _core.ForestConfig())
        targets = {"classes": y.astype(np.int32)} if job.classification else {"y": y}
        trainer = _core.ForestTrainer(config, job.bin_mapper, train, sample_weight=weight, reduction=ring,
                                      global_rows=rows, n_global_rows=job.n_rows,
                                      sampling_weights=job.sampling_weights, **targets)
        trainer.grow(job.n_estimators)  # the GIL released: the worker stays responsive
        result = {"model": trainer.model() if rank == 0 else None, "stats": ring.stats(), "n_rows": int(y.shape[0])}
        if job.oob_score:
            result["oob"] = (rows, *trainer.oob_sums())
        return result
    finally:
        ring.close()


class _OobSums(NamedTuple):
    """The out-of-bag sums of every row, as the single-machine trainer gives them."""

    sums: np.ndarray
    n_trees: np.ndarray

    def oob_sums(self):
        return self.sums, self.n_trees


class _DaskForest(_DaskModel):
    """What both Dask forests add to their single-machine class (not public)."""

    def fit(self, X, y, sample_weight=None):
        """Fit on dask collections, each worker on the blocks of rows it holds.

        Parameters
        ----------
        X : dask.array.Array of shape (n_samples, n_features) or dask.dataframe.DataFrame
            Training samples, numbers (float32 is kept, else float64); NaN is missing.
        y : dask.array.Array of shape (n_samples,) or dask.dataframe.Series
            Targets (class labels for the classifier), in row blocks of any size (aligned to X's).
        sample_weight : dask.array.Array of shape (n_samples,) or dask.dataframe.Series, default=None
            Finite non-negative weights, not all zero: with ``bootstrap=True`` the probabilities of
            drawing each sample, without bootstrap every tree's weights. Gathered once to the
            client (the fitted forest keeps them, as the single-machine one does: 8 bytes a row)
            and, with bootstrap, sent to every worker, whose draws need every row's weight.

        Returns
        -------
        self : object
            Fitted; ``to_local()`` gives the ordinary treeforge forest of the same model.
        """
        self._validate_params()
        client = resolve_client(self.client)
        self._check_dask_options()
        X, names = as_dask_matrix(X)
        y = self._dask_targets(as_dask_vector(y, X.chunks[0], "y", dtype=self._label_dtype))
        weight = None if sample_weight is None else as_dask_vector(sample_weight, X.chunks[0], "sample_weight")
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"cannot fit on X of shape {X.shape}")
        if not self.bootstrap and self.max_samples is not None:
            raise ValueError("`max_sample` cannot be set if `bootstrap=False`. Either switch to "
                             "`bootstrap=True` or set `max_sample=None`.")
        if not self.bootstrap and self.oob_score:
            raise ValueError("Out of bag estimation only available if bootstrap=True")
        blocks, persisted = placed_blocks(client, X, y, weight)
        _check_values(*persisted)
        fitted = type(self).__new__(type(self))  # published whole, on success only
        fitted.__dict__.update(self.__dict__)
        fitted._fit_on_blocks(client, persisted, blocks, names)
        self.__dict__ = fitted.__dict__
        return self

    def _fit_on_blocks(self, client, persisted, blocks, names):
        X = persisted[0]
        n_samples, n_features = (int(n) for n in X.shape)
        self._seed = draw_seed(self.random_state)
        self.n_features_in_ = n_features
        if names is not None:
            self.feature_names_in_ = names
        else:
            self.__dict__.pop("feature_names_in_", None)
        self.is_categorical_ = self._categories = self._category_bins = None
        self.n_outputs_ = 1
        # The single-machine forest keeps its weights (estimators_samples_ redraws the bags from them).
        sample_weight = None if len(persisted) < 3 else np.asarray(persisted[2].compute(), dtype=np.float64)
        self._n_samples = n_samples
        self._n_samples_bootstrap = (
            n_samples_bootstrap(n_samples, self.max_samples, sample_weight) if self.bootstrap else None
        )
        self._sample_weight = sample_weight
        n_threads = resolve_n_threads(self.n_jobs)
        bin_mapper = fitted_bin_mapper(X, self.max_bins, self._seed, n_threads)
        config = self._config_values(n_samples, n_features, n_threads)
        worker_threads_ = 0 if self.n_jobs is None else n_threads
        sampling_weights = sample_weight if self.bootstrap else None

        def make_job(token, hosts, ports):
            return ForestJob(token, hosts, ports, n_samples, bin_mapper, config, int(self.n_estimators),
                             worker_threads_, self._label_dtype is None, sampling_weights, bool(self.oob_score))

        results = fit_on_workers(client, blocks, make_job, float(self.timeout), train=train_forest_on_worker)
        self._model = results[0]["model"]
        self.communication_ = _communication(results, self._model.n_trees)
        if self.oob_score:
            self._set_dask_oob_score(results, persisted[1])

    def _set_dask_oob_score(self, results, y):
        """The single-machine out-of-bag score: each row's sums (over the trees it is out of bag
        of, in tree order, on the worker holding it) placed by global row id, scored here against
        y gathered once (as the single-machine forest keeps its out-of-bag predictions, 8 bytes a
        row and output)."""
        n_outputs = results[0]["oob"][1].shape[1]
        sums = np.zeros((self._n_samples, n_outputs), dtype=np.float64)
        n_trees = np.zeros(self._n_samples, dtype=np.int32)
        for result in results:
            rows, worker_sums, worker_trees = result["oob"]
            sums[rows], n_trees[rows] = worker_sums, worker_trees
        y = np.asarray(y.compute())
        targets = {"y": y} if self._label_dtype is not None else {"classes": y.astype(np.int32)}
        self._set_oob_score(_OobSums(sums, n_trees), targets, y)

    def _check_dask_options(self):
        unsupported = {
            "warm_start": self.warm_start is not False,
            "ccp_alpha": self.ccp_alpha != 0.0,
            "monotonic_cst": self.monotonic_cst is not None,
            "categorical_features": self.categorical_features not in (None, "from_dtype"),
            "criterion": self.criterion not in ("squared_error", "friedman_mse", "gini", "entropy", "log_loss"),
            "class_weight": getattr(self, "class_weight", None) is not None,
        }
        for name, is_set in unsupported.items():
            if is_set:
                raise ValueError(f"{type(self).__name__} does not support {name}={getattr(self, name)!r} yet "
                                 "(issue #26): leave it at its default")


class DaskRandomForestRegressor(_DaskForest, RandomForestRegressor):
    """Random forest regression on Dask: the model :class:`treeforge.RandomForestRegressor` fits on
    one machine with the same parameters and seed, bit for bit.

    Each worker holding blocks of X grows every tree on them (the data does not move); the bins
    come from the single-machine sample, drawn by global row id and gathered once; each tree's bag
    is the single-machine draw over the global row ids, each worker taking its rows' counts; the
    histograms are reduced through a ring of TCP connections, and the sums a tree needs beyond
    them (its weighted mean, leaf values) are added in global row order, passed from worker to
    worker. A worker that dies or falls silent ends the fit within ``timeout`` seconds with a
    ConnectionError. ``oob_score`` gathers each row's out-of-bag sums to the client. Parameters
    are the single-machine forest's, with these not supported yet (issue #26): ``warm_start``,
    ``ccp_alpha``, ``monotonic_cst``, categorical features, criteria 'absolute_error' and
    'poisson', y of several columns. Every worker needs rows in every tree's bag.

    Parameters
    ----------
    client : distributed.Client, default=None
        The cluster to fit on; None: the current client (``distributed.get_client()``).
    timeout : float, default=30.0
        Seconds a worker waits for a peer (connecting, or any reduction) before the fit fails.
    **params
        The parameters of :class:`treeforge.RandomForestRegressor`.

    Attributes
    ----------
    communication_ : dict
        Per tree: reductions, bytes each worker sent, seconds in the reductions; and rows per worker.

    Examples
    --------
    >>> import dask.array as da  # doctest: +SKIP
    >>> from distributed import Client  # doctest: +SKIP
    >>> from treeforge.dask import DaskRandomForestRegressor  # doctest: +SKIP
    >>> client = Client(n_workers=2, threads_per_worker=1)  # doctest: +SKIP
    >>> X = da.random.random((10_000, 5), chunks=(2_500, 5))  # doctest: +SKIP
    >>> forest = DaskRandomForestRegressor(n_estimators=20, max_depth=8).fit(X, X[:, 0])  # doctest: +SKIP
    >>> forest.predict(X).compute().shape  # doctest: +SKIP
    (10000,)
    """

    _local_class = RandomForestRegressor
    _label_dtype = np.float64
    _parameter_constraints: dict = dask_parameter_constraints(RandomForestRegressor)

    def __init__(self, n_estimators=100, *, criterion="squared_error", max_depth=None, min_samples_split=2,
                 min_samples_leaf=1, min_weight_fraction_leaf=0.0, max_features=1.0, max_leaf_nodes=None,
                 min_impurity_decrease=0.0, bootstrap=True, oob_score=False, n_jobs=None, random_state=None,
                 verbose=0, warm_start=False, ccp_alpha=0.0, max_samples=None, monotonic_cst=None, max_bins=255,
                 categorical_features=None, client=None, timeout=30.0):
        super().__init__(**{k: v for k, v in locals().items() if k not in ("self", "__class__", *_DASK_PARAMETERS)})
        self.client = client
        self.timeout = timeout

    def _dask_targets(self, y):
        return y


class DaskRandomForestClassifier(_DaskClassifierOutputs, _DaskForest, RandomForestClassifier):
    """Random forest classification on Dask: the model :class:`treeforge.RandomForestClassifier`
    fits on one machine with the same parameters and seed, bit for bit.

    As :class:`DaskRandomForestRegressor` (data placement, bins, bags, the ring, ``timeout``, the
    parameters not supported yet, and ``class_weight``); ``predict_proba`` maps over blocks too.

    Parameters
    ----------
    client : distributed.Client, default=None
        The cluster to fit on; None: the current client.
    timeout : float, default=30.0
        Seconds a worker waits for a peer before the fit fails.
    **params
        The parameters of :class:`treeforge.RandomForestClassifier`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    communication_ : dict
        As the regressor's.

    Examples
    --------
    >>> import dask.array as da  # doctest: +SKIP
    >>> from treeforge.dask import DaskRandomForestClassifier  # doctest: +SKIP
    >>> X = da.random.random((10_000, 5), chunks=(2_500, 5))  # doctest: +SKIP
    >>> forest = DaskRandomForestClassifier(n_estimators=20).fit(X, X[:, 0] > 0.5)  # doctest: +SKIP
    >>> forest.predict_proba(X).compute().shape  # doctest: +SKIP
    (10000, 2)
    """

    _local_class = RandomForestClassifier
    _label_dtype = None
    _parameter_constraints: dict = dask_parameter_constraints(RandomForestClassifier)

    def __init__(self, n_estimators=100, *, criterion="gini", max_depth=None, min_samples_split=2, min_samples_leaf=1,
                 min_weight_fraction_leaf=0.0, max_features="sqrt", max_leaf_nodes=None, min_impurity_decrease=0.0,
                 bootstrap=True, oob_score=False, n_jobs=None, random_state=None, verbose=0, warm_start=False,
                 class_weight=None, ccp_alpha=0.0, max_samples=None, monotonic_cst=None, max_bins=255,
                 categorical_features=None, client=None, timeout=30.0):
        super().__init__(**{k: v for k, v in locals().items() if k not in ("self", "__class__", *_DASK_PARAMETERS)})
        self.client = client
        self.timeout = timeout

    def _dask_targets(self, y):
        classes, encoded = dask_classes(self, y)
        self.classes_ = classes
        self.n_classes_ = len(classes)
        return encoded
