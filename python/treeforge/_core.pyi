"""Type stubs of treeforge._core, the pybind11 binding of the C++ core.

Arrays are NumPy; ``X`` is a C-contiguous 2-D float32 or float64 array (n_samples, n_features),
NaN marks a missing value, +/-inf fall in the outer bins. Where ``SparseX`` is accepted, X may
also be a scipy CSR matrix or array with sorted, unique columns in each row (checked): its absent
elements are the value 0, a stored NaN is missing. Every long call releases the GIL.
Errors raised by the core arrive as ``ValueError`` (bad argument/data) or ``RuntimeError``.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

SparseX = object  # npt.NDArray, or a scipy CSR matrix or array (see the module docstring)

MODEL_FORMAT_VERSION: int
"""The model format version every save writes (model dicts' ``format_version``); older versions load."""

class BinMapper:
    """Per-feature quantile bin edges; raw floats -> uint8 codes, NaN -> the feature's missing bin.

    A value ``x`` of feature ``f`` gets the code ``searchsorted(bin_edges[f], x, 'left')``,
    so ``x <= bin_edges[f][t]`` exactly when ``code <= t``. The missing bin is ``n_bins[f]``.
    A categorical feature (``n_categories[f] = K > 0``) holds codes 0..K-1: code v is bin v (edges
    v + 0.5), and any other value (NaN, negative, non-integral, >= K) gets the missing bin.
    """

    def __init__(self, max_bins: int = 255, subsample: int = 200_000, seed: int = 0,
                 n_categories: Optional[npt.ArrayLike] = None) -> None:
        """n_categories: None (all numeric) or per feature, 0 for numeric, K (<= max_bins) categories."""
    def with_categories(self, n_categories: npt.ArrayLike) -> "BinMapper":
        """This fitted mapper with the given features categorical (their edges must be the categories')."""
    @property
    def n_categories(self) -> npt.NDArray[np.int32]:
        """(n_features,) categories of each categorical feature, 0 for numeric ones."""
    def fit(self, X: SparseX, n_threads: int = 1, rows: Optional[npt.ArrayLike] = None) -> "BinMapper":
        """Edges from the rows of X listed in ``rows``, in order (None: all rows); sparse X gives
        the edges of its rows made dense."""
    def transform(self, X: SparseX, n_threads: int = 1, rows: Optional[npt.ArrayLike] = None,
                  min_stored: int = 0) -> "BinnedData":
        """Codes of the rows of X listed in ``rows``, in order (None: all rows), without a copy of them.
        Sparse X gives a sparse BinnedData; ``min_stored`` > 0 leaves out its features of fewer
        non-zero codes (they cannot split a leaf of that many rows) and indexes it by feature."""
    @property
    def n_features(self) -> int: ...
    @property
    def n_bins(self) -> npt.NDArray[np.int32]:
        """(n_features,) number of value bins per feature (missing bin excluded); 1 = constant."""
    @property
    def bin_edges(self) -> List[npt.NDArray[np.float64]]:
        """Per feature, the (n_bins[f] - 1,) sorted upper edges of all but the last value bin."""
    def sample_rows(self, n_rows: int) -> npt.NDArray[np.uint32]:
        """Positions among ``n_rows`` rows of the sample ``fit`` learns edges from (empty: all rows);
        ``fit`` on those rows alone gives the same edges. A fitted mapper pickles (as its edges)."""

class BinnedData:
    """Binned feature matrix owned by the core (uint8 codes)."""

    @property
    def n_samples(self) -> int: ...
    @property
    def n_features(self) -> int: ...
    @property
    def n_groups(self) -> int:
        """Columns of the row-major codes histograms are built from: features of few bins share one."""
    @property
    def is_categorical(self) -> npt.NDArray[np.uint8]:
        """(n_features,) 1 where a feature's codes are categories, split by category sets."""
    @property
    def is_sparse(self) -> bool:
        """Binned from sparse X: each row stores only its codes other than its features' code of 0."""
    @property
    def n_stored(self) -> int:
        """Codes stored (sparse: the rows' non-zero codes; 0 for dense data)."""
    @property
    def n_active(self) -> int:
        """Features with histogram slots: all of dense data's; sparse data may leave out rare ones."""
    def codes(self) -> npt.NDArray[np.uint8]:
        """Copy of the codes as a (n_samples, n_features) uint8 array (for tests)."""

class GbdtConfig:
    """Parameters of gradient boosting, filled attribute by attribute; ``validate()`` is run by Booster."""

    # "squared_error" | "binary_logloss" | "multiclass_softmax" | "poisson" | "gamma" | "absolute_error"
    # | "quantile:<q>" | "huber:<delta>" | "tweedie:<variance power>"
    objective: str
    n_outputs: int  # 1, or the number of classes for "multiclass_softmax"
    learning_rate: float
    max_leaf_nodes: int  # 0 = unlimited
    max_depth: int  # 0 = unlimited
    min_samples_leaf: int
    min_child_weight: float  # minimum sum of hessians in a child
    l2_regularization: float
    l1_regularization: float
    min_split_gain: float
    max_features: float  # fraction of features drawn at every node, (0, 1]
    cat_smooth: float  # added to a category's hessian when categories are ordered by gradient / hessian
    cat_l2: float  # added to l2_regularization in the gain of many-vs-many set splits
    max_cat_threshold: int  # categories in a set, at most
    max_cat_to_onehot: int  # at most this many categories in a node: one-vs-rest splits
    min_data_per_group: int  # rows of the categories on each side of a many-vs-many set split
    colsample_bytree: float  # fraction of features drawn for every tree, (0, 1]
    subsample: float  # fraction of rows drawn without replacement for every iteration, (0, 1]
    grow_policy: str  # "lossguide" (best-first) | "depthwise"
    seed: int  # uint64 seed of every random stream of the training run
    n_threads: int  # >= 1
    def __init__(self) -> None: ...
    def validate(self) -> None: ...

class Booster:
    """Gradient boosting, driven one iteration at a time from Python.

    ``y`` (n_samples,) float64: the target (class index 0..K-1 as float for classifiers);
    ``sample_weight`` (n_samples,) float64 or None. ``init_model`` continues a model whose
    ``bin_mapper`` binned ``train`` (warm start); its trees are kept and new ones appended.
    ``base_margin`` (n_outputs * n_samples,) output-major: the rows' starting margins in place of the
    base score (the model's base score is then 0), given for the validation data too or for neither.
    ``group_begin`` (n_groups + 1,) int64: query group q is rows [group_begin[q], group_begin[q + 1]).
    ``base_score`` (n_outputs,): the starting margins in place of the objective's.
    ``reduction`` with ``global_rows`` (n_samples,) int64 ascending and ``n_global_rows``: ``train``
    holds this participant's rows (their ids among the fit's) of a distributed fit, whose
    participants reduce through ``reduction`` and grow the same trees (``base_score`` required);
    with query groups (whole queries), ``global_queries`` (n_groups,) int64 ascending and
    ``n_global_queries`` give their ids among the fit's, by which subsamples draw them.
    """

    def __init__(
        self,
        config: GbdtConfig,
        bin_mapper: BinMapper,
        train: BinnedData,
        y: npt.NDArray[np.float64],
        sample_weight: Optional[npt.NDArray[np.float64]] = None,
        valid: Optional[BinnedData] = None,
        y_valid: Optional[npt.NDArray[np.float64]] = None,
        sample_weight_valid: Optional[npt.NDArray[np.float64]] = None,
        init_model: Optional["Model"] = None,
        base_margin: Optional[npt.NDArray[np.float64]] = None,
        base_margin_valid: Optional[npt.NDArray[np.float64]] = None,
        group_begin: Optional[npt.NDArray[np.int64]] = None,
        group_begin_valid: Optional[npt.NDArray[np.int64]] = None,
        base_score: Optional[Sequence[float]] = None,
        reduction: Optional["HistogramReduction"] = None,
        global_rows: Optional[npt.NDArray[np.int64]] = None,
        n_global_rows: int = 0,
        global_queries: Optional[npt.NDArray[np.int64]] = None,
        n_global_queries: int = 0,
    ) -> None: ...
    def update(self) -> None:
        """Grow one iteration (n_outputs trees); releases the GIL."""
    @property
    def n_iter(self) -> int:
        """Iterations in the model, those of init_model included."""
    def train_loss(self) -> float:
        """Weighted mean loss of the current training margins (sklearn's loss: half squared error, log loss...)."""
    def valid_loss(self) -> float: ...
    def train_margin(self) -> npt.NDArray[np.float64]:
        """(n_samples, n_outputs) copy of the current raw scores."""
    def valid_margin(self) -> npt.NDArray[np.float64]: ...
    def model(self) -> "Model":
        """Snapshot of the model trained so far."""
    def finish(self) -> "Model":
        """The model, after releasing the training state; then only model() and n_iter remain usable."""

class HistogramReduction:
    """The reduction of a distributed fit's participants at the grower's sync step."""

    @property
    def n_participants(self) -> int: ...

class TcpRing(HistogramReduction):
    """A ring of TCP connections between a distributed fit's worker processes: listens on an
    ephemeral port of ``host`` when made, joins the ring in ``connect``. Every wait ends after
    ``timeout`` seconds without progress, and a peer that dies or fails ends it at once, with a
    ConnectionError naming the peer."""

    def __init__(self, host: str, timeout: float) -> None: ...
    @property
    def port(self) -> int: ...
    def connect(self, hosts: List[str], ports: List[int], rank: int, token: int) -> None:
        """Joins the ring as ``rank`` (participant r listens at hosts[r]:ports[r]); releases the GIL."""
    def close(self) -> None: ...
    def sum(self, values: np.ndarray) -> None:
        """One reduction of a writable 1-D int64 array in place: each value becomes the sum over
        the participants (each calls it with an array of the same length); releases the GIL."""
    def stats(self) -> Dict[str, float]:
        """{'reductions', 'bytes_sent', 'seconds'} so far."""

def objective_base_score(objective: str, n_outputs: int, y: npt.ArrayLike,
                         sample_weight: Optional[npt.ArrayLike] = None) -> List[float]:
    """The objective's starting margins (one per output) for the labels and weights."""

class Model:
    """A trained ensemble as flat arrays; validated whenever built from arrays. Picklable."""

    @property
    def n_features(self) -> int: ...
    @property
    def n_outputs(self) -> int: ...
    @property
    def n_iter(self) -> int: ...
    @property
    def n_trees(self) -> int: ...
    @property
    def objective(self) -> str: ...
    @property
    def bin_mapper(self) -> BinMapper: ...
    def predict_margin(
        self, X: SparseX, n_threads: int = 1, iter_begin: int = 0, iter_end: int = -1
    ) -> npt.NDArray[np.float64]:
        """(n_samples, n_outputs) raw scores of iterations [iter_begin, iter_end) (-1: all);
        the base score is included only when iter_begin == 0."""
    def predict_leaf(self, X: SparseX, n_threads: int = 1) -> npt.NDArray[np.int32]:
        """(n_samples, n_trees) index of the leaf (node index within its tree) each row reaches."""
    def shap_contributions(self, X: npt.NDArray, n_threads: int = 1) -> npt.NDArray[np.float64]:
        """(n_samples, n_outputs, n_features + 1) exact path-dependent TreeSHAP values of the raw
        margin, the expected value last; ValueError for a weighted median (AdaBoost.R2)."""
    def shap_interactions(self, X: npt.NDArray, n_threads: int = 1) -> npt.NDArray[np.float64]:
        """(n_samples, n_outputs, n_features + 1, n_features + 1) SHAP interaction values: symmetric,
        each row summing to shap_contributions' value, the expected value at [-1, -1]."""
    def feature_importances(self) -> npt.NDArray[np.float64]:
        """(n_features,) total split gain per feature, not normalised."""
    def tree_feature_importances(self) -> npt.NDArray[np.float64]:
        """(n_trees, n_features) each tree's split gain per feature over its total gain (zeros without split)."""
    @property
    def tree_weights(self) -> npt.NDArray[np.float64]:
        """(n_trees,) estimator weight of each tree (AdaBoost), or empty (every tree weighs 1)."""
    def to_arrays(self) -> Dict[str, object]:
        """Plain dict of scalars, strings and NumPy arrays, one per field of the core's field list
        (``cpp/model/model_arrays.hpp``), at ``MODEL_FORMAT_VERSION``; ``Model.from_arrays`` inverts it exactly."""
    @staticmethod
    def from_arrays(arrays: Dict[str, object]) -> "Model":
        """Rebuild and validate; raises ValueError naming the first bad field or index. Dicts of
        every format version load (fields newer than their ``format_version`` absent)."""

class ForestConfig:
    """Parameters of a random forest, filled attribute by attribute; ``validate()`` is run by ForestTrainer."""

    criterion: str  # "squared_error" | "poisson" | "gini" | "entropy" ("log_loss" is accepted as "entropy")
    n_classes: int  # >= 2 for gini/entropy, 0 for squared_error
    bootstrap: bool  # draw each tree's rows; False: every row with its sample weight
    with_replacement: bool  # bootstrap with replacement (scikit-learn); False: a subsample without
    n_samples_bootstrap: int  # rows drawn per tree; 0 = n_samples
    max_features: int  # candidate features drawn at every node; 0 = all
    min_weight_fraction_leaf: float  # child weight >= this fraction of the tree's weight, [0, 0.5]
    min_impurity_decrease: float  # split gain >= this times the tree's weight
    ccp_alpha: float  # minimal cost-complexity pruning of every tree, scikit-learn's units; 0 = none
    balanced_subsample: bool  # balance the classes of every bootstrap sample (needs bootstrap)
    max_leaf_nodes: int  # 0 = unlimited
    max_depth: int  # 0 = unlimited
    min_samples_leaf: int  # distinct rows with a positive weight in each child
    min_samples_split: int
    cat_smooth: float  # added to a category's hessian when categories are ordered by gradient / hessian
    cat_l2: float  # added to l2_regularization in the gain of many-vs-many set splits
    max_cat_threshold: int  # categories in a set, at most
    max_cat_to_onehot: int  # at most this many categories in a node: one-vs-rest splits
    min_data_per_group: int  # rows of the categories on each side of a many-vs-many set split
    grow_policy: str  # "lossguide" (best-first) | "depthwise" | "depthfirst" (O(depth) open histograms)
    seed: int
    n_threads: int
    def __init__(self) -> None: ...
    def validate(self) -> None: ...

class ForestTrainer:
    """Grows a random forest in batches of trees; tree t depends only on (seed, t).

    Give ``y`` (n_samples,) float64 for squared_error, or ``classes`` (n_samples,) int32 class
    indices for gini/entropy. ``sample_weight`` (n_samples,) float64 or None: the bootstrap's
    sampling weights (with bootstrap) or the trees' weights (without). ``init_model`` continues a
    forest (warm start) binned by the same ``bin_mapper``. ``reduction`` with ``global_rows``
    (n_samples,) int64 ascending and ``n_global_rows``: ``train`` is this participant's share of a
    distributed fit; bags are drawn over the global rows (``sampling_weights``: every global row's
    sample weight, for a weighted bootstrap) and every participant grows the same trees, calling
    ``grow`` with the same counts.
    """

    def __init__(
        self,
        config: ForestConfig,
        bin_mapper: BinMapper,
        train: BinnedData,
        y: Optional[npt.NDArray[np.float64]] = None,
        classes: Optional[npt.NDArray[np.int32]] = None,
        sample_weight: Optional[npt.NDArray[np.float64]] = None,
        init_model: Optional["Model"] = None,
        reduction: Optional["HistogramReduction"] = None,
        global_rows: Optional[npt.NDArray[np.int64]] = None,
        n_global_rows: int = 0,
        sampling_weights: Optional[npt.NDArray[np.float64]] = None,
    ) -> None: ...
    def grow(self, n_trees: int) -> None:
        """Grow n_trees more trees, in parallel over trees; releases the GIL."""
    @property
    def n_trees(self) -> int: ...
    def bag_counts(self, tree: int) -> npt.NDArray[np.uint32]:
        """(n_samples,) draws of each row in the bootstrap sample of tree ``tree``."""
    def oob_sums(self) -> Tuple[npt.NDArray[np.float64], npt.NDArray[np.int32]]:
        """((n_samples, n_outputs) sum of the outputs of the trees each row is out of bag of, (n_samples,) their count)."""
    def model(self) -> "Model":
        """The forest so far (objective 'forest_classification' or 'forest_regression', mean of the trees)."""

def forest_bag_counts(
    config: ForestConfig, n_rows: int, sample_weight: Optional[npt.NDArray[np.float64]], tree: int
) -> npt.NDArray[np.uint32]:
    """(n_rows,) draws of each row in the bag of forest tree ``tree`` (as ForestTrainer draws it)."""

class AdaBoostConfig:
    """Parameters of AdaBoost (SAMME for gini/entropy, AdaBoost.R2 for squared_error)."""

    criterion: str  # "gini" | "entropy" (SAMME) | "squared_error" (R2)
    n_classes: int  # >= 2 for SAMME, 0 for R2
    loss: str  # R2: "linear" | "square" | "exponential"
    n_estimators: int
    learning_rate: float
    resample: bool  # fit each round on rows drawn from D_m with replacement instead of weights D_m
    max_leaf_nodes: int  # 0 = unlimited
    max_depth: int  # 0 = unlimited
    min_samples_leaf: int
    min_samples_split: int
    cat_smooth: float  # added to a category's hessian when categories are ordered by gradient / hessian
    cat_l2: float  # added to l2_regularization in the gain of many-vs-many set splits
    max_cat_threshold: int  # categories in a set, at most
    max_cat_to_onehot: int  # at most this many categories in a node: one-vs-rest splits
    min_data_per_group: int  # rows of the categories on each side of a many-vs-many set split
    grow_policy: str  # "lossguide" | "depthwise" | "depthfirst"
    seed: int
    n_threads: int
    def __init__(self) -> None: ...
    def validate(self) -> None: ...

class AdaBoostTrainer:
    """Every AdaBoost round in C++ (``fit``); same target arguments as ForestTrainer."""

    def __init__(
        self,
        config: AdaBoostConfig,
        bin_mapper: BinMapper,
        train: BinnedData,
        y: Optional[npt.NDArray[np.float64]] = None,
        classes: Optional[npt.NDArray[np.int32]] = None,
        sample_weight: Optional[npt.NDArray[np.float64]] = None,
    ) -> None: ...
    def fit(self) -> None:
        """Run up to n_estimators rounds, stopping early as scikit-learn; releases the GIL.
        Raises ValueError when the first SAMME round is worse than chance."""
    @property
    def n_trees(self) -> int: ...
    @property
    def estimator_weights(self) -> npt.NDArray[np.float64]:
        """(n_estimators,) alpha of each round; 0 for rounds not run or dropped."""
    @property
    def estimator_errors(self) -> npt.NDArray[np.float64]:
        """(n_estimators,) weighted error of each round; 1 for rounds not run or dropped."""
    @property
    def stop_reason(self) -> str:
        """"completed" | "perfect" | "worse_than_chance" | "weight_overflow" | "zero_weights"."""
    def model(self) -> "Model":
        """'adaboost_samme' (sum of SAMME votes) or 'adaboost_r2' (weighted median of the trees)."""

def sample_weighted(
    weights: npt.NDArray[np.float64], n_draws: int, seed: int, replace: bool = True
) -> npt.NDArray[np.uint32]:
    """(n,) times each index is drawn: n_draws draws with replacement, proportional to the weights
    (alias table, O(n + n_draws)), or min(n_draws, #positive) distinct indices without replacement
    (Efraimidis-Spirakis). Zero weights are never drawn."""

def max_threads() -> int:
    """Threads OpenMP would use by default (honours OMP_NUM_THREADS and threadpoolctl limits)."""

def apply_link(objective: str, margin: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Inverse link of the objective: identity, sigmoid, softmax over rows, or exp."""

class TreeConfig:
    """Parameters of one tree (used by ``_testing.find_best_split``)."""

    max_leaf_nodes: int
    max_depth: int
    min_samples_leaf: int
    min_samples_split: int
    cat_smooth: float  # added to a category's hessian when categories are ordered by gradient / hessian
    cat_l2: float  # added to l2_regularization in the gain of many-vs-many set splits
    max_cat_threshold: int  # categories in a set, at most
    max_cat_to_onehot: int  # at most this many categories in a node: one-vs-rest splits
    min_data_per_group: int  # rows of the categories on each side of a many-vs-many set split
    min_child_weight: float
    l2_regularization: float
    l1_regularization: float
    min_split_gain: float
    max_features: float
    def __init__(self) -> None: ...
    def validate(self) -> None: ...

class _testing:
    """Test-only hooks and the core's kernels on explicit inputs; not public API (a submodule at run time)."""

    @staticmethod
    def set_row_shards(k: int) -> None:
        """Every grower built afterwards cuts its rows into k shards whose histograms are built apart
        and summed in the sync step (1: none); models must not change."""
    @staticmethod
    def row_shards() -> int: ...
    @staticmethod
    def shard_builds() -> int:
        """Shard histograms built under the hook so far (proof that it ran)."""
    @staticmethod
    def set_row_scan(policy: str) -> None:
        """Which nodes find their splits from their rows instead of histograms: 'auto' (by size),
        'never', 'always' (every node but the root; growers of row shards never); models must not change."""
    @staticmethod
    def row_scan() -> str: ...
    @staticmethod
    def row_scans() -> int:
        """Nodes whose splits were found from their rows so far (proof that the path ran)."""
    @staticmethod
    def raise_internal_error() -> None:
        """Raises the RuntimeError of a broken core invariant ("internal error: ...")."""

    @staticmethod
    def build_histogram(binned: BinnedData, grad, hess, rows=None) -> npt.NDArray[np.float64]:
        """(n_slots, 3) [sum_grad, sum_hess, count] per histogram slot over ``rows`` (all if None/empty);
        feature f's slots start at sum(n_bins[:f] + 1), its missing bin is the last of them."""
    @staticmethod
    def histogram_subtraction_error(binned: BinnedData, grad, hess, rows_left) -> int:
        """max |(parent - left) - right| over slots and fields, in fixed-point units (0 = exact)."""
    @staticmethod
    def find_best_split(binned: BinnedData, grad, hess, config: TreeConfig, rows=None, by_rows: bool = False) -> dict:
        """Best split of the node of ``rows`` (all if None): feature, bin, default_left, gain, left_count,
        right_count; from its histogram, or with ``by_rows`` from its rows' codes (the small-node path)."""
    @staticmethod
    def partition(binned: BinnedData, rows, feature: int, bin: int, default_left: bool, n_threads: int):
        """(left_rows, right_rows) of a stable split of ``rows`` (all if None)."""
    @staticmethod
    def tree_leaves(model: Model, binned: BinnedData) -> npt.NDArray[np.int32]:
        """(n_samples, n_trees) leaf each row of codes reaches by the walk of training (Tree::leaf_of)."""
    @staticmethod
    def gradients(objective: str, n_outputs: int, y, margin, sample_weight=None):
        """(grad, hess, mean_loss); margin and outputs are output-major (k * n + i)."""
