"""The Dask estimators: histogram gradient boosting fitted where the data lives, the model the single
machine would fit, bit for bit; predictions mapped over the blocks of dask collections."""

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval

from ..ensemble._base import draw_seed, resolve_n_threads
from ..ensemble._gradient_boosting import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from ._collections import (
    as_dask_matrix,
    as_dask_vector,
    dask_query_begin,
    fitted_bin_mapper,
    map_row_blocks,
    placed_blocks,
    resolve_client,
)
from ._training import Job, base_score, fit_on_workers

_DASK_PARAMETERS = ("client", "timeout")


def dask_parameter_constraints(local_class):
    """A Dask estimator's parameter constraints: its single-machine class's, client and timeout."""
    return {**local_class._parameter_constraints, "client": "no_validation",
            "timeout": [Interval(Real, 0, 86400, closed="right")]}


class _DaskModel:
    """What every Dask estimator adds to its single-machine class (not public): the ordinary
    estimator of its fit, pickles without the client, predictions over dask blocks."""

    _dask_only_attributes = ("communication_",)

    def to_local(self):
        """The fitted model as the ordinary treeforge estimator (save, load, pickle, predict locally).

        Returns
        -------
        estimator : the single-machine treeforge estimator (``HistGradientBoostingRegressor``,
            ``RandomForestClassifier``, ...) of the same parameters and fitted model
        """
        if not self.__sklearn_is_fitted__():
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit first")
        params = {k: v for k, v in self.get_params(deep=False).items() if k not in _DASK_PARAMETERS}
        local = self._local_class(**params)
        local.__dict__.update({k: v for k, v in self.__dict__.items() if k not in params and k not in _DASK_PARAMETERS
                               and k not in self._dask_only_attributes})
        return local

    def __getstate__(self):
        state = super().__getstate__() if hasattr(super(), "__getstate__") else dict(self.__dict__)
        return {**state, "client": None}  # a client does not travel

    def predict(self, X):
        """Predictions of X: a dask array (a dask Series for a DataFrame) computed where X's blocks
        are, or for an in-memory X the local estimator's.

        Parameters
        ----------
        X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_features), or array-like

        Returns
        -------
        y : dask.array.Array or dask.dataframe.Series of shape (n_samples,), or ndarray
        """
        local = self.to_local()
        if not _is_dask(X):
            return local.predict(X)
        return map_row_blocks(X, local.predict, None)


class _DaskClassifierOutputs:
    """The classifiers' predictions over dask blocks (not public)."""

    def predict_proba(self, X):
        """Class probabilities of X: a dask array of shape (n_samples, n_classes) (a dask DataFrame
        of columns 0, 1, ... for a DataFrame), or for an in-memory X the local estimator's.

        Parameters
        ----------
        X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_features), or array-like

        Returns
        -------
        proba : dask.array.Array, dask.dataframe.DataFrame or ndarray
        """
        local = self.to_local()
        if not _is_dask(X):
            return local.predict_proba(X)
        return map_row_blocks(X, local.predict_proba, len(self.classes_))

    def predict(self, X):
        """Predicted classes of X: a dask array (a dask Series for a DataFrame), or for an
        in-memory X the local estimator's.

        Parameters
        ----------
        X : dask.array.Array or dask.dataframe.DataFrame of shape (n_samples, n_features), or array-like

        Returns
        -------
        y : dask.array.Array, dask.dataframe.Series or ndarray of shape (n_samples,)
        """
        local = self.to_local()
        if not _is_dask(X):
            return local.predict(X)
        return map_row_blocks(X, local.predict, None, dtype=self.classes_.dtype)


class _DaskBoosting(_DaskModel):
    """What both Dask boosting estimators add to their single-machine class (not public)."""

    def fit(self, X, y, sample_weight=None):
        """Fit on dask collections, each worker on the blocks of rows it holds.

        Parameters
        ----------
        X : dask.array.Array of shape (n_samples, n_features) or dask.dataframe.DataFrame
            Training samples, numbers (float32 is kept, else float64); NaN is missing.
        y : dask.array.Array of shape (n_samples,) or dask.dataframe.Series
            Targets (class labels for the classifier), in row blocks of any size (aligned to X's).
        sample_weight : dask.array.Array of shape (n_samples,) or dask.dataframe.Series, default=None
            Finite non-negative weights, not all zero.

        Returns
        -------
        self : object
            Fitted; ``to_local()`` gives the ordinary treeforge estimator of the same model.
        """
        return self._fit_dask(X, y, sample_weight)

    def _fit_dask(self, X, y, sample_weight, qid=None):
        """``fit``'s work; ``qid`` (the ranker's) a dask vector of query ids, or None."""
        self._validate_params()
        client = resolve_client(self.client)
        self._check_dask_options()
        X, names = as_dask_matrix(X)
        query_begin = None if qid is None else dask_query_begin(qid, X.chunks[0])
        y = self._dask_targets(as_dask_vector(y, X.chunks[0], "y", dtype=self._label_dtype))
        weight = None if sample_weight is None else as_dask_vector(sample_weight, X.chunks[0], "sample_weight")
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"cannot fit on X of shape {X.shape}")
        blocks, persisted = placed_blocks(client, X, y, weight)
        _check_values(*persisted)
        fitted = type(self).__new__(type(self))  # published whole, on success only
        fitted.__dict__.update(self.__dict__)
        fitted._fit_on_blocks(client, persisted[0], blocks, names, query_begin)
        self.__dict__ = fitted.__dict__
        return self

    def _fit_on_blocks(self, client, X, blocks, names, query_begin=None):
        self._seed = draw_seed(self.random_state)
        self.n_features_in_ = int(X.shape[1])
        if names is not None:
            self.feature_names_in_ = names
        else:
            self.__dict__.pop("feature_names_in_", None)
        self.is_categorical_ = self._categories = self._category_bins = None
        n_threads = resolve_n_threads(self.n_jobs)
        bin_mapper = fitted_bin_mapper(X, self.max_bins, self._seed, n_threads)
        objective = self._objective()
        start = list(base_score(client, blocks, objective, len(getattr(self, "classes_", ()))))
        config = self._config_values(objective, 1)
        worker_threads = 0 if self.n_jobs is None else n_threads

        def make_job(token, hosts, ports):
            return Job(token, hosts, ports, int(X.shape[0]), bin_mapper, config, start, int(self.max_iter),
                       worker_threads, query_begin)

        results = fit_on_workers(client, blocks, make_job, float(self.timeout))
        self._model = results[0]["model"]
        self.n_iter_ = self._model.n_iter
        self.do_early_stopping_ = False
        self.train_score_ = np.asarray([], dtype=np.float64)
        self.validation_score_ = np.asarray([], dtype=np.float64)
        self.evals_result_ = {}
        self.best_iteration_ = None
        self.communication_ = _communication(results, self._model.n_trees)

    def _check_dask_options(self):
        unsupported = {
            "warm_start": self.warm_start is not False,
            "early_stopping": self.early_stopping is not False,
            "categorical_features": self.categorical_features not in (None, "from_dtype"),
        }
        for name, is_set in unsupported.items():
            if is_set:
                raise ValueError(f"{type(self).__name__} does not support {name}={getattr(self, name)!r} yet "
                                 "(issue #26): leave it at its default")
        self._check_dask_loss()


def _is_dask(X):
    import dask.array as da
    import dask.dataframe as dd

    return isinstance(X, (da.Array, dd.DataFrame))


def _check_values(X, y, weight=None):
    """One pass over the persisted data: X without infinities, y finite, weights finite, >= 0 and
    of a positive total (the single-machine estimator's checks)."""
    import dask
    import dask.array as da

    checks = {"X has no infinite values": ~da.isinf(X).any()}
    if np.issubdtype(y.dtype, np.floating):
        checks["y has only finite values"] = da.isfinite(y).all()
    if weight is not None:
        checks["sample_weight has only finite values"] = da.isfinite(weight).all()
        checks["sample_weight has no negative values"] = (weight >= 0).all()
        checks["sample_weight has a positive total"] = weight.sum() > 0
    results = dask.compute(*checks.values())
    failed = [what for what, ok in zip(checks, results) if not ok]
    if failed:
        raise ValueError("invalid input: it is not true that " + "; ".join(failed))


def _communication(results, n_trees):
    """What the ring carried, per tree: reductions, bytes each worker sent, seconds in them (the
    slowest worker)."""
    stats = [result["stats"] for result in results]
    trees = max(1, n_trees)
    return {
        "n_workers": len(results),
        "reductions_per_tree": stats[0]["reductions"] / trees,
        "bytes_sent_per_tree": max(s["bytes_sent"] for s in stats) / trees,
        "seconds_per_tree": max(s["seconds"] for s in stats) / trees,
        "rows_per_worker": [result["n_rows"] for result in results],
    }


class DaskHistGradientBoostingRegressor(_DaskBoosting, HistGradientBoostingRegressor):
    """Histogram gradient boosting regression on Dask: the model :class:`treeforge.HistGradientBoostingRegressor`
    fits on one machine with the same parameters and seed, bit for bit.

    Each worker holding blocks of X trains on them (the data does not move; y and the weights
    move to it where Dask placed them elsewhere); the bins come from the single-machine sample,
    drawn by global row id and gathered once. Workers reduce histograms through a ring of TCP
    connections; a worker that dies or falls silent ends the fit within ``timeout`` seconds
    with a ConnectionError. Parameters are the single-machine estimator's, with
    ``early_stopping=False`` and these not supported yet (issue #26): ``warm_start``, early
    stopping, categorical features, losses other than 'squared_error'.

    Parameters
    ----------
    client : distributed.Client, default=None
        The cluster to fit on; None: the current client (``distributed.get_client()``).
    timeout : float, default=30.0
        Seconds a worker waits for a peer (connecting, or any reduction) before the fit fails.
    **params
        The parameters of :class:`treeforge.HistGradientBoostingRegressor`.

    Attributes
    ----------
    communication_ : dict
        Per tree: reductions, bytes each worker sent, seconds in the reductions; and rows per worker.

    Examples
    --------
    >>> import dask.array as da  # doctest: +SKIP
    >>> from distributed import Client  # doctest: +SKIP
    >>> from treeforge.dask import DaskHistGradientBoostingRegressor  # doctest: +SKIP
    >>> client = Client(n_workers=2, threads_per_worker=1)  # doctest: +SKIP
    >>> X = da.random.random((10_000, 5), chunks=(2_500, 5))  # doctest: +SKIP
    >>> model = DaskHistGradientBoostingRegressor(max_iter=20).fit(X, X[:, 0])  # doctest: +SKIP
    >>> model.predict(X).compute().shape  # doctest: +SKIP
    (10000,)
    """

    _local_class = HistGradientBoostingRegressor
    _label_dtype = np.float64
    _parameter_constraints: dict = dask_parameter_constraints(HistGradientBoostingRegressor)

    def __init__(self, loss="squared_error", *, quantile=None, learning_rate=0.1, max_iter=100,
                 max_leaf_nodes=31, max_depth=None, min_samples_leaf=20, l2_regularization=0.0,
                 max_features=1.0, max_bins=255, categorical_features="from_dtype", monotonic_cst=None,
                 interaction_cst=None, warm_start=False, early_stopping=False, scoring="loss",
                 validation_fraction=0.1, n_iter_no_change=10, tol=1e-7, verbose=0, random_state=None,
                 l1_regularization=0.0, min_split_gain=0.0, min_child_weight=1e-3, subsample=1.0,
                 colsample_bytree=1.0, n_jobs=None, grow_policy="lossguide", cat_smooth=10.0, cat_l2=10.0,
                 max_cat_threshold=32, max_cat_to_onehot=4, min_data_per_group=100, huber_delta=1.0,
                 tweedie_variance_power=1.5, client=None, timeout=30.0):
        super().__init__(**{k: v for k, v in locals().items() if k not in ("self", "__class__", *_DASK_PARAMETERS)})
        self.client = client
        self.timeout = timeout

    def _check_dask_loss(self):
        if self.loss != "squared_error":
            raise ValueError(f"{type(self).__name__} supports loss='squared_error' only yet (issue #26), "
                             f"got {self.loss!r}")

    def _dask_targets(self, y):
        self.n_trees_per_iteration_ = 1
        return y


class DaskHistGradientBoostingClassifier(_DaskClassifierOutputs, _DaskBoosting, HistGradientBoostingClassifier):
    """Histogram gradient boosting classification on Dask: the model
    :class:`treeforge.HistGradientBoostingClassifier` fits on one machine with the same
    parameters and seed, bit for bit.

    As :class:`DaskHistGradientBoostingRegressor` (data placement, bins, the ring, ``timeout``,
    the parameters not supported yet, and ``class_weight``); ``predict_proba`` maps over blocks too.

    Parameters
    ----------
    client : distributed.Client, default=None
        The cluster to fit on; None: the current client.
    timeout : float, default=30.0
        Seconds a worker waits for a peer before the fit fails.
    **params
        The parameters of :class:`treeforge.HistGradientBoostingClassifier`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    communication_ : dict
        As the regressor's.

    Examples
    --------
    >>> import dask.array as da  # doctest: +SKIP
    >>> from treeforge.dask import DaskHistGradientBoostingClassifier  # doctest: +SKIP
    >>> X = da.random.random((10_000, 5), chunks=(2_500, 5))  # doctest: +SKIP
    >>> clf = DaskHistGradientBoostingClassifier(max_iter=20).fit(X, X[:, 0] > 0.5)  # doctest: +SKIP
    >>> clf.predict_proba(X).compute().shape  # doctest: +SKIP
    (10000, 2)
    """

    _local_class = HistGradientBoostingClassifier
    _label_dtype = None
    _parameter_constraints: dict = dask_parameter_constraints(HistGradientBoostingClassifier)

    def __init__(self, loss="log_loss", *, learning_rate=0.1, max_iter=100, max_leaf_nodes=31,
                 max_depth=None, min_samples_leaf=20, l2_regularization=0.0, max_features=1.0,
                 max_bins=255, categorical_features="from_dtype", monotonic_cst=None,
                 interaction_cst=None, warm_start=False, early_stopping=False, scoring="loss",
                 validation_fraction=0.1, n_iter_no_change=10, tol=1e-7, verbose=0, random_state=None,
                 class_weight=None, l1_regularization=0.0, min_split_gain=0.0, min_child_weight=1e-3,
                 subsample=1.0, colsample_bytree=1.0, n_jobs=None, grow_policy="lossguide", cat_smooth=10.0,
                 cat_l2=10.0, max_cat_threshold=32, max_cat_to_onehot=4, min_data_per_group=100, client=None,
                 timeout=30.0):
        super().__init__(**{k: v for k, v in locals().items() if k not in ("self", "__class__", *_DASK_PARAMETERS)})
        self.client = client
        self.timeout = timeout

    def _check_dask_loss(self):
        if callable(self.loss):
            raise ValueError(f"{type(self).__name__} does not support a callable loss yet (issue #26)")
        if self.class_weight is not None:
            raise ValueError(f"{type(self).__name__} does not support class_weight yet (issue #26)")

    def _dask_targets(self, y):
        classes, encoded = dask_classes(self, y)
        self.classes_ = classes
        self.n_trees_per_iteration_ = 1 if classes.shape[0] == 2 else classes.shape[0]
        return encoded


def dask_classes(estimator, y):
    """The sorted classes of dask labels y (at least two) and y as their indices (float64)."""
    from sklearn.utils.multiclass import check_classification_targets

    import dask.array as da

    classes = np.asarray(da.unique(y).compute())
    check_classification_targets(classes)
    if classes.shape[0] < 2:
        raise ValueError(f"{type(estimator).__name__} needs samples of at least 2 classes in the data, but the data "
                         f"contains only one class: {classes.tolist()[0]!r}.")
    return classes, y.map_blocks(_class_indices, classes, dtype=np.float64)


def _class_indices(labels, classes):
    """The class index of each label (classes sorted, as ``np.unique`` gives them), as float64."""
    return np.searchsorted(classes, labels).astype(np.float64)
