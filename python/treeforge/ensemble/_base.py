"""Shared estimator machinery: input validation, seeds, threads, core configs and the fitted-model holder."""

import contextlib
import functools
import numbers
import os

import numpy as np
from scipy import sparse
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import _check_sample_weight, _get_feature_names, check_is_fitted, validate_data

from .. import _core
from ._categorical import check_restored_categories, encode_features, encode_training_features
from ._docstrings import SHARED_DOC_PARTS, with_doc_parts
from ._importances import gain_importances, importances_of_kind

# float32 input stays float32 (half the memory); anything else becomes float64.
X_DTYPES = [np.float64, np.float32]
SPARSE_FORMATS = ["csr", "csc", "coo"]
# Rows per block when scanning X for columns without a finite value (bounds the temporary masks).
_SCAN_BLOCK_ROWS = 1 << 16
# Seeds are drawn below 2**32 so that they are also valid NumPy RandomState seeds.
_SEED_BOUND = np.iinfo(np.uint32).max
# Rows sampled by the BinMapper to place the quantile edges (scikit-learn's default).
BINNING_SUBSAMPLE = 200_000


# --------------------------------------------------------------------------------------------
# Threads and seeds
# --------------------------------------------------------------------------------------------


def available_cpu_count():
    """Number of CPU cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except OSError:  # pragma: no cover - affinity query refused
            pass
    return max(1, os.cpu_count() or 1)


def resolve_n_threads(n_jobs):
    """Turn ``n_jobs`` into the explicit thread count passed to the core.

    Parameters
    ----------
    n_jobs : int or None
        None: every available core, within OpenMP's own limit (``OMP_NUM_THREADS``, or
        threadpoolctl's, as scikit-learn's estimators do, so that joblib workers are not
        oversubscribed); -1: every available core; ``k > 0``: ``k`` threads, at most the available
        cores (more would only contend for them; models are the same at any count); ``k < -1``:
        ``cores + 1 + k`` threads (joblib's convention, at least 1). 0 is an error.

    Returns
    -------
    n_threads : int
        At least 1.
    """
    if n_jobs is None:
        return max(1, min(available_cpu_count(), _core.max_threads()))
    if not isinstance(n_jobs, numbers.Integral) or isinstance(n_jobs, bool):
        raise TypeError(f"n_jobs must be an int or None, got {n_jobs!r}.")
    n_jobs = int(n_jobs)
    if n_jobs == 0:
        raise ValueError("n_jobs=0 has no meaning: use None or -1 for all cores, or a positive count.")
    if n_jobs < 0:
        return max(1, available_cpu_count() + 1 + n_jobs)
    return min(n_jobs, available_cpu_count())


# n_jobs as the estimators accept it: None, -1 and below (cores + 1 + k), or a positive count; 0
# has no meaning and is refused when set, not first at predict time.
N_JOBS_CONSTRAINT = [Interval(numbers.Integral, None, -1, closed="right"),
                     Interval(numbers.Integral, 1, None, closed="left"), None]


def draw_seed(random_state):
    """The seed of a training run, drawn once per fit.

    Parameters
    ----------
    random_state : int, numpy.random.RandomState or None
        An int is used as the seed itself; a RandomState (or None: NumPy's global one) gives a
        fresh draw.

    Returns
    -------
    seed : int
        In ``[0, 2**32)``; the core's ``BinMapper`` and ``config.seed`` both derive from it.
    """
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return int(random_state)
    rng = check_random_state(random_state)
    return int(rng.randint(_SEED_BOUND, dtype=np.uint64))


def store_init_arguments(estimator, arguments):
    """Store every ``__init__`` argument unchanged as an attribute of the same name.

    Parameters
    ----------
    estimator : the estimator being constructed.
    arguments : dict
        ``locals()`` taken first thing in ``__init__`` (``self`` is skipped). Validation happens
        in ``fit``, as scikit-learn requires.
    """
    for name, value in arguments.items():
        if name != "self":
            setattr(estimator, name, value)


def make_config(config, values):
    """Fill a core config object attribute by attribute.

    Parameters
    ----------
    config : treeforge._core.GbdtConfig or another core config
        A freshly constructed config (holds the core's defaults).
    values : dict
        Attribute name -> plain Python value.

    Returns
    -------
    config : the same object, filled.
    """
    for name, value in values.items():
        try:
            setattr(config, name, value)
        except TypeError as error:  # an int the core's field cannot hold (e.g. max_leaf_nodes=10**18)
            if isinstance(value, numbers.Integral):
                raise ValueError(f"{name}={value!r} is outside the range the core accepts.") from error
            raise
    return config


# --------------------------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------------------------


def as_core_rows(X):
    """X as the core reads it: a scipy sparse matrix or array of any format as CSR with each row's
    columns sorted and unique (duplicates summed, as scipy does; the caller's X is not changed),
    never made dense; dense input as it is."""
    if not sparse.issparse(X):
        return X
    X = X.tocsr()
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    return X


def _feature_label(estimator, idx):
    names = getattr(estimator, "feature_names_in_", None)
    return f"{idx} ({names[idx]!r})" if names is not None else f"{idx}"


def check_finite_values_exist(estimator, X):
    """Raise ValueError naming the first column whose non-missing values are all infinite.

    Parameters
    ----------
    estimator : estimator whose ``feature_names_in_`` (if any) names the columns.
    X : ndarray of shape (n_samples, n_features), float32 or float64
        NaN marks a missing value; a column of NaN only is allowed.
    """
    n_features = X.shape[1]
    if sparse.issparse(X):  # CSR: a column that does not store every row holds the finite 0
        stored = np.bincount(X.indices, minlength=n_features)
        finite = np.bincount(X.indices, weights=np.isfinite(X.data), minlength=n_features)
        has_inf = np.bincount(X.indices, weights=np.isinf(X.data), minlength=n_features) > 0
        bad = np.flatnonzero(has_inf & (finite == 0) & (stored == X.shape[0]))
    else:
        bad = _columns_without_finite(X)
    if bad.size:
        raise ValueError(
            f"Feature {_feature_label(estimator, bad[0])} has only infinite values (no finite "
            "value apart from NaN); bins cannot be built for it."
        )


def _columns_without_finite(X):
    n_features = X.shape[1]
    has_finite = np.zeros(n_features, dtype=bool)
    has_inf = np.zeros(n_features, dtype=bool)
    for start in range(0, X.shape[0], _SCAN_BLOCK_ROWS):
        block = X[start:start + _SCAN_BLOCK_ROWS]
        has_finite |= np.isfinite(block).any(axis=0)
        has_inf |= np.isinf(block).any(axis=0)
    return np.flatnonzero(has_inf & ~has_finite)


def validate_fit_data(estimator, X, y, *, y_numeric, categorical_features=None, reuse_categories=False,
                      multi_output=False):
    """Check and convert the training data; sets ``n_features_in_``/``feature_names_in_`` and the
    categorical attributes (``is_categorical_``, ``_categories``, ``_category_bins``, see ``_categorical``).

    Parameters
    ----------
    estimator : the estimator being fitted.
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        NaN is allowed (missing value). Sparse input stays sparse: its absent elements are the
        value 0, its stored NaN are missing.
    y : array-like of shape (n_samples,)
        Must be finite.
    y_numeric : bool
        Convert an object ``y`` to float64 (regression).
    categorical_features : 'from_dtype', None, mask, indices or names
        Which features are categorical; their values become codes.
    reuse_categories : bool
        Keep the categories of the previous fit (warm start).
    multi_output : bool
        Accept y of shape (n_samples, n_outputs) too (forests).

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float32 or float64, C-contiguous, or a CSR
        matrix (as_core_rows) for sparse input
    y : ndarray of shape (n_samples,)
    """
    names = _get_feature_names(X) if categorical_features is not None else None
    encoded = encode_training_features(estimator, X, categorical_features, reuse=reuse_categories)
    X, y = validate_data(
        estimator, X if encoded is None else encoded, y, accept_sparse=SPARSE_FORMATS, dtype=X_DTYPES,
        order="C", ensure_all_finite=False, y_numeric=y_numeric, multi_output=multi_output,
    )
    if encoded is not None and names is not None:  # the codes came as an ndarray, without the names
        estimator.feature_names_in_ = names
    X = as_core_rows(X)
    check_finite_values_exist(estimator, X)
    return X, y


_FAST_PREDICT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


def validate_predict_data(estimator, X):
    """Check X against the fitted estimator (number and names of features).

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float32 or float64, C-contiguous
    """
    # The common case, returned as validate_data would return it, without its ~50 us of checks
    # (most of a single-row prediction): a C-contiguous float ndarray of the fitted width, for
    # an estimator fitted without feature names. Anything else takes the full validation.
    if (type(X) is np.ndarray and X.ndim == 2 and X.dtype in _FAST_PREDICT_DTYPES and X.flags.c_contiguous
            and X.shape[0] > 0 and X.shape[1] == getattr(estimator, "n_features_in_", -1)
            and not hasattr(estimator, "feature_names_in_") and getattr(estimator, "_categories", None) is None):
        return X
    if getattr(estimator, "_categories", None) is not None:
        return as_core_rows(encode_features(estimator, X))
    X = validate_data(
        estimator, X, reset=False, accept_sparse=SPARSE_FORMATS, dtype=X_DTYPES, order="C",
        ensure_all_finite=False,
    )
    return as_core_rows(X)


def validate_sample_weight(sample_weight, X):
    """Finite, non-negative, not all zero float64 weights of shape (n_samples,), or None."""
    if sample_weight is None:
        return None
    sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
    check_positive_total_weight(sample_weight)
    return sample_weight


def check_positive_total_weight(sample_weight, what="sample_weight"):
    """Raise ValueError when no weight is positive (nothing to learn from)."""
    if sample_weight is not None and not np.any(sample_weight > 0):
        raise ValueError(f"{what} is zero for every sample; at least one non-zero weight is required.")


def new_bin_mapper(max_bins, seed, n_categories=None):
    """An unfitted ``_core.BinMapper``; ``n_categories`` (per feature, 0 for a numeric one) marks
    the categorical features, whose bins are their codes."""
    if n_categories is None:
        return _core.BinMapper(max_bins, BINNING_SUBSAMPLE, seed)
    return _core.BinMapper(max_bins, BINNING_SUBSAMPLE, seed, n_categories=list(n_categories))


def continued_bin_mapper(bin_mapper, n_categories):
    """The bins of a model being continued (warm start) with its categorical features marked: the
    mapper of a model read from a file does not know which features were categorical."""
    return bin_mapper if n_categories is None else bin_mapper.with_categories(list(n_categories))


def bin_training_data(X, max_bins, seed, n_threads, bin_mapper=None, n_categories=None):
    """Bin X for the core: fit a ``_core.BinMapper`` (unless one is given, e.g. by warm start).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64, C-contiguous
        Categorical features hold codes (``_categorical``).
    max_bins : int
        Value bins per feature (2..255); NaN gets its own extra bin.
    seed : int
        Seed of the row sample the quantiles are computed from.
    n_threads : int
    bin_mapper : _core.BinMapper or None
        Reused when given (its categorical features marked).
    n_categories : list of int or None
        Codes of each categorical feature, 0 for a numeric one (``_category_bins``); None: all numeric.

    Returns
    -------
    bin_mapper : _core.BinMapper
    binned : _core.BinnedData
    """
    if bin_mapper is None:
        bin_mapper = new_bin_mapper(max_bins, seed, n_categories)
        bin_mapper.fit(X, n_threads)
    else:
        bin_mapper = continued_bin_mapper(bin_mapper, n_categories)
    # Sparse X: features with no non-zero code cannot split and are left out of the histograms.
    return bin_mapper, bin_mapper.transform(X, n_threads, min_stored=1)


# --------------------------------------------------------------------------------------------
# Fitting and the fitted model
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def published_when_fitted(estimator):
    """Yield a shallow copy of the estimator to fit; give the estimator the copy's attributes only
    once the block ends without an error, in one assignment of its ``__dict__``.

    Until then the estimator keeps its previous model and every fitted attribute (the same
    objects), for a thread predicting meanwhile, and for good if fitting fails or is interrupted
    (Ctrl-C, or a callback or scorer raising). Fitting only ever rebinds attributes of the copy (a
    warm start copies what it extends: score lists, categories), so the previous state, shared
    until then, is never changed. Callbacks and scorers called during the fit see the copy.
    """
    fitted = object.__new__(type(estimator))
    fitted.__dict__.update(estimator.__dict__)
    yield fitted
    estimator.__dict__ = fitted.__dict__


def reads_one_fit(method):
    """Run ``method`` on the fitted state as it is when the call begins, even if another thread
    publishes a refit meanwhile (``published_when_fitted`` replaces ``__dict__`` and never changes
    a published one): the method reads the attributes of one fit, never a mix of two.

    The method runs on a stand-in of the estimator's class sharing the ``__dict__`` of the call's
    start; a generator (``staged_*``) keeps it to its last item, a per-tree view for its lifetime.
    Wrap a property's getter as ``@property`` above ``@reads_one_fit``.
    """

    @functools.wraps(method)
    def on_one_fit(self, *args, **kwargs):
        view = object.__new__(type(self))
        view.__dict__ = self.__dict__
        return method(view, *args, **kwargs)

    return on_one_fit


def check_restored_classes(classes):
    """ValueError unless classes read from a file are what fitting gives: distinct, missing none,
    in np.unique's (sorted) order, which is what maps the model's outputs to labels."""
    classes = np.asarray(classes)
    if classes.ndim != 1 or classes.size == 0:
        raise ValueError("classes_ must be a non-empty 1-D array.")
    if any(c is None or (isinstance(c, (float, np.floating)) and not np.isfinite(c)) for c in classes.tolist()):
        raise ValueError("classes_ holds a missing or non-finite class.")
    try:
        unique = np.unique(classes)
    except TypeError as error:
        raise ValueError("classes_ mixes values that cannot be ordered.") from error
    if unique.size != classes.size or not np.array_equal(unique, classes):
        raise ValueError("classes_ must be distinct and in sorted order, as fitting stores them.")


class LogProbaMixin:
    """``predict_log_proba`` of a classifier: the logarithm of its ``predict_proba``."""

    @with_doc_parts(SHARED_DOC_PARTS)
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba` (``-inf`` where a probability is 0).

        {X_parameter}

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes), float64
        """
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return [np.log(p) for p in proba] if isinstance(proba, list) else np.log(proba)


class CoreModelMixin:
    """Holds the fitted ``_core.Model`` (``self._model``) and predicts through it.

    Subclasses define ``n_jobs`` and list in ``_io_fitted_attributes`` the fitted attributes
    that a model file stores beside the core's arrays (see ``_model_io``).
    """

    _io_fitted_attributes = ("n_features_in_", "feature_names_in_", "is_categorical_", "_categories", "_category_bins")
    # Fitted attributes a model file may lack (files written before categorical features had none).
    _io_optional_attributes = ("feature_names_in_", "is_categorical_", "_categories", "_category_bins")

    def __sklearn_is_fitted__(self):
        return getattr(self, "_model", None) is not None

    def __setstate__(self, state):
        """Unpickling validates a fitted state as loading a model file does (pickles are untrusted
        input too): every parameter and fitted attribute present, the parameters valid, the
        fitted attributes consistent with the model; otherwise a ValueError or TypeError."""
        super().__setstate__(state)
        if not isinstance(state, dict) or state.get("_model") is None:
            return
        if not isinstance(self._model, _core.Model):
            raise TypeError(f"unpickled {type(self).__name__} holds a {type(self._model).__name__}, not a model")
        expected = set(self._get_param_names()) | set(self._io_fitted_attributes)
        missing = sorted(expected - set(self._io_optional_attributes) - set(state))
        if missing:
            raise ValueError(f"unpickled {type(self).__name__} lacks {missing}")
        try:
            self._validate_params()
            self._check_restored()
        except (KeyError, IndexError, AttributeError, OverflowError) as exc:  # a mistyped attribute
            raise ValueError(f"unpickled {type(self).__name__} is damaged: {exc!r}") from exc

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.sparse = True
        return tags

    def _raw_margin(self, X):
        """Margins (scores before the link) of X, shape (n_samples, n_outputs), float64."""
        override = getattr(self, "_margin_override", None)
        if override is not None:  # scoring during fit: X is already validated
            return override(X)
        check_is_fitted(self)
        X = validate_predict_data(self, X)
        return self._model.predict_margin(X, resolve_n_threads(self.n_jobs))

    def _staged_raw_margins(self, X):
        """Yield the margins after each iteration, shape (n_samples, n_outputs), float64."""
        check_is_fitted(self)
        X = validate_predict_data(self, X)
        n_threads = resolve_n_threads(self.n_jobs)
        margin = None
        for iteration in range(self._model.n_iter):
            step = self._model.predict_margin(X, n_threads, iteration, iteration + 1)
            margin = step if margin is None else margin + step
            yield margin

    @property
    @reads_one_fit
    def feature_importances_(self):
        """ndarray of shape (n_features,): total split gain per feature, normalised to sum 1.

        All zeros when the model has no split.
        """
        check_is_fitted(self)
        return gain_importances(self._model)

    @reads_one_fit
    def get_feature_importance(self, importance_type="gain", X=None):
        """Feature importances by kind, as XGBoost's and LightGBM's boosters give them: 'gain' (the default:
        ``feature_importances_``), 'split' (the splits on each feature over all trees), 'cover' (their summed
        cover: hessians for boosting, sample weights for forests) or 'shap' (the mean |SHAP value| over the rows
        X, required, of the raw score as ``predict_contributions``; summed over its outputs where it has several).
        Returns an ndarray of shape (n_features_in_,), float64."""
        check_is_fitted(self)
        return importances_of_kind(self, importance_type, X)

    @reads_one_fit
    def save_model(self, path, metadata=None):
        """Write the fitted estimator to a versioned JSON model file (atomically).

        Parameters
        ----------
        path : str or os.PathLike
            Destination; an existing file is replaced only once the new one is complete.
        metadata : dict or None
            Free JSON-serialisable information stored beside the model (target name, ...).
        """
        from ._model_io import save_model

        save_model(self, path, metadata=metadata)

    @reads_one_fit
    def trees_to_dataframe(self):
        """One row per node of every tree, as a pandas DataFrame (needs pandas).

        Columns: tree, node, parent, depth, output, is_leaf, feature (name, or index without
        names), feature_index, decision ('<=' or 'in'), threshold, categories (the category values
        that go left), left, right, missing ('left' or 'right'), gain, cover, count, value; see
        :func:`treeforge.export.trees_to_dataframe`.
        """
        from ..export._tables import trees_to_dataframe

        return trees_to_dataframe(self)

    @reads_one_fit
    def dump_model(self):
        """The fitted model as a dict of plain values with nested trees (``json.dumps`` writes it); see
        :func:`treeforge.export.dump_model`."""
        from ..export._tables import dump_model

        return dump_model(self)

    # Hooks used by _model_io; estimators holding something else than one Model override them.
    def _model_to_arrays(self):
        return self._model.to_arrays()

    def _model_from_arrays(self, arrays):
        self._model = _core.Model.from_arrays(arrays)

    def _check_restored(self):
        """Cross-check the fitted attributes read from a model file against the model."""
        if self._model.n_features != self.n_features_in_:
            raise ValueError(
                f"n_features_in_={self.n_features_in_} but the model has {self._model.n_features} features."
            )
        names = getattr(self, "feature_names_in_", None)
        if names is not None and len(names) != self.n_features_in_:
            raise ValueError("feature_names_in_ does not have n_features_in_ entries.")
        if hasattr(self, "classes_"):  # a list of them for several outputs (forests)
            for classes in self.classes_ if isinstance(self.classes_, list) else [self.classes_]:
                check_restored_classes(classes)
        check_restored_categories(self)

    def _check_objective(self, expected):
        """ValueError unless the model read from a file was trained with the core objective ``expected``."""
        if self._model.objective != expected:
            raise ValueError(
                f"The model's objective {self._model.objective!r} does not match the estimator "
                f"(expected {expected!r})."
            )
