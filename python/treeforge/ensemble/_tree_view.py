"""Per-tree estimators of the forests and of AdaBoost's default trees, read from the core's model.

The one owner of ``estimators_`` / ``estimator_`` for models held by the core, of the ensembles'
sequence behaviour (``len``, indexing, iteration, as scikit-learn's ``BaseEnsemble``), and of the
scikit-learn-shaped ``tree_`` arrays. Nothing is computed at fit: a view reads the model's flat
arrays (``_core.Model.to_arrays``) the first time its ``tree_`` is needed, and predicts through a
core model holding its one tree, after the ensemble's own validation and categorical encoding, so
the core's split predicate is the only one that routes rows.

What the model stores decides what a view can give exactly:

- forest classifiers keep every node's weighted class distribution, so ``value`` (fractions, as
  scikit-learn >= 1.4 stores them) and ``impurity`` (Gini, or entropy in bits) are exact;
- AdaBoost's SAMME trees keep only each node's vote (``alpha`` for its majority class), so their
  ``value`` and ``predict_proba`` are the majority class as a 0/1 distribution and ``impurity``
  is NaN;
- regression trees keep node means and the weighted squared-error decrease of each split
  (``tree_.gain``) but no within-node variance: their ``impurity`` is NaN.
"""

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from .. import _core
from ._base import reads_one_fit, resolve_n_threads, validate_predict_data
from ._forest_data import labels_of, target_probas

TREE_LEAF = -1  # scikit-learn's children at a leaf
TREE_UNDEFINED = -2  # scikit-learn's feature and threshold at a leaf
SET_SPLIT = 1  # split_kind of a category-set split

# Core objectives whose trees a view can show (a forest of several targets adds ":T"), and what
# their leaves hold.
_VALUE_KIND = {
    "forest_classification": "proba",
    "forest_regression": "mean",
    "adaboost_samme": "vote",
    "adaboost_r2": "mean",
}
_PER_NODE = ("feature", "bin", "left", "right", "default_left", "threshold", "count", "cover", "gain", "split_kind")


class _TreeSource:
    """The ensemble and its model's flat arrays, read once on first need and shared by one list of views."""

    def __init__(self, ensemble):
        self.ensemble = ensemble
        self.model = ensemble._model
        self.value_kind = _value_kind(self.model.objective)
        self.n_outputs = getattr(ensemble, "n_outputs_", 1)
        self._arrays = None

    @property
    def arrays(self):
        if self._arrays is None:
            self._arrays = self.model.to_arrays()
        return self._arrays

    def tree_arrays(self, index):
        """The model's arrays restricted to tree ``index`` (a valid one-tree model)."""
        full = self.arrays
        lo, hi = (int(v) for v in full["tree_offsets"][index:index + 2])
        dim = int(full["leaf_dim"])
        arrays = dict(full)
        for name in _PER_NODE:
            arrays[name] = full[name][lo:hi]
        arrays["value"] = full["value"][lo * dim:hi * dim]
        arrays["tree_offsets"] = np.array([0, hi - lo], dtype=np.int64)
        if len(full["tree_weight"]):
            arrays["tree_weight"] = full["tree_weight"][index:index + 1]
        set_lo = int(np.count_nonzero(full["split_kind"][:lo] == SET_SPLIT))
        set_hi = set_lo + int(np.count_nonzero(arrays["split_kind"] == SET_SPLIT))
        offsets = full["cat_offsets"][set_lo:set_hi + 1]
        arrays["cat_offsets"] = offsets - offsets[0]
        arrays["cat_words"] = full["cat_words"][offsets[0]:offsets[-1]]
        return arrays


def _value_kind(objective):
    return _VALUE_KIND[objective.partition(":")[0]]


def ancestor_matrix(left, right):
    """CSR (n_nodes, n_nodes) of intp ones: row j marks node j and every ancestor of j in one tree."""
    n_nodes = left.shape[0]
    parent = np.full(n_nodes, -1, dtype=np.int64)
    is_split = left >= 0
    parent[left[is_split]] = np.flatnonzero(is_split)
    parent[right[is_split]] = np.flatnonzero(is_split)
    rows, cols = [], []
    node, current = np.arange(n_nodes), np.arange(n_nodes)
    while current.size:  # one level up per pass
        rows.append(node)
        cols.append(current)
        current = parent[current]
        keep = current >= 0
        node, current = node[keep], current[keep]
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    return sparse.csr_matrix((np.ones(rows.size, dtype=np.intp), (rows, cols)), shape=(n_nodes, n_nodes))


def node_depths(left, right):
    """Depth of every node (the root has depth 0), one level of the tree per pass."""
    depth = np.zeros(left.shape[0], dtype=np.int64)
    frontier, level = np.array([0]), 0
    while frontier.size:
        depth[frontier] = level
        children = np.concatenate([left[frontier], right[frontier]])
        frontier, level = children[children >= 0], level + 1
    return depth


def _impurity(fractions, criterion):
    """Gini, or entropy in bits (scikit-learn's units), of each row of class fractions."""
    if criterion == "gini":
        return 1.0 - np.sum(fractions ** 2, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(fractions > 0, fractions * np.log2(np.where(fractions > 0, fractions, 1.0)), 0.0)
    return -np.sum(terms, axis=1)


class TreeArrays:
    """scikit-learn's ``Tree`` arrays of one treeforge tree (the ``tree_`` of a per-tree estimator).

    Attributes
    ----------
    node_count, capacity : int
        Number of nodes (node 0 is the root; children have larger indices than their parent).
    children_left, children_right : ndarray of shape (node_count,), int64
        Child nodes; -1 at leaves.
    feature : ndarray of shape (node_count,), int64
        Feature tested at each split; -2 at leaves.
    threshold : ndarray of shape (node_count,), float64
        A numeric split sends ``x <= threshold`` left (thresholds are bin edges); -2 at leaves;
        NaN at category-set splits, whose left categories are in ``category_sets``.
    missing_go_to_left : ndarray of shape (node_count,), uint8
        1 where missing values (and, at set splits, categories unseen at fit) go left.
    value : ndarray of shape (node_count, n_outputs, max_n_classes), float64
        Classifiers: each node's weighted class fractions (forests), or its majority class as a
        0/1 row (AdaBoost's trees, which keep only their votes). Regressors: each node's mean.
    n_node_samples : ndarray of shape (node_count,), int64
        Training rows reaching each node: distinct rows with a positive weight (a bootstrap draw
        counts once, as in scikit-learn, where draws are weights), or for trees fitted on a
        resample (AdaBoost.R2, ``sampling='resample'``) the resampled rows, repeats counted.
    weighted_n_node_samples : ndarray of shape (node_count,), float64
        Total training weight reaching each node (bootstrap draws times sample weights).
    impurity : ndarray of shape (node_count,), float64
        Forest classifiers: the Gini impurity, or entropy in bits, of each node's class fractions
        (exact). NaN for regression trees and for AdaBoost's SAMME trees: the model does not store
        the within-node variance or class fractions they would need (``gain`` holds each split's
        decrease).
    gain : ndarray of shape (node_count,), float64
        Weighted impurity decrease of each split, ``W * impurity - W_L * impurity_L - W_R *
        impurity_R`` in weights W (squared-error decrease for regression); 0 at leaves
        (treeforge extension).
    split_kind : ndarray of shape (node_count,), uint8
        0 for numeric splits and leaves, 1 for category-set splits (treeforge extension).
    category_sets : list of (ndarray or None)
        At a set split, the category values (as given at fit) that go left; None elsewhere
        (treeforge extension).
    max_depth, n_leaves, n_features, n_outputs, max_n_classes : int
    n_classes : ndarray of shape (n_outputs,), intp
    """

    def __init__(self, source, index):
        arrays = source.tree_arrays(index)
        left = arrays["left"].astype(np.int64)
        is_leaf = left < 0
        is_set = arrays["split_kind"] == SET_SPLIT
        self.node_count = self.capacity = int(left.shape[0])
        self.children_left = np.where(is_leaf, TREE_LEAF, left)
        self.children_right = np.where(is_leaf, TREE_LEAF, arrays["right"].astype(np.int64))
        self.feature = np.where(is_leaf, TREE_UNDEFINED, arrays["feature"].astype(np.int64))
        self.threshold = np.where(is_leaf, float(TREE_UNDEFINED), np.where(is_set, np.nan, arrays["threshold"]))
        self.missing_go_to_left = arrays["default_left"].astype(np.uint8)
        self.split_kind = arrays["split_kind"].astype(np.uint8)
        self.gain = np.asarray(arrays["gain"], dtype=np.float64)
        self.weighted_n_node_samples = np.asarray(arrays["cover"], dtype=np.float64)
        self.n_features = int(arrays["n_features"])
        self.n_outputs = source.n_outputs
        self._set_values(source, arrays)
        self._set_node_samples(source, arrays)
        self.category_sets = _category_sets(source.ensemble, arrays, self.feature, is_set)
        self.max_depth = int(node_depths(self.children_left, self.children_right).max())
        self.n_leaves = int(np.count_nonzero(is_leaf))

    def _set_values(self, source, arrays):
        n = self.node_count
        values = np.asarray(arrays["value"], dtype=np.float64).reshape(n, int(arrays["leaf_dim"]))
        n_outputs = self.n_outputs
        if source.value_kind == "mean":
            self.n_classes = np.ones(n_outputs, dtype=np.intp)
            self.value = values.reshape(n, n_outputs, 1).copy()
            self.impurity = np.full(n, np.nan)
        elif source.value_kind == "proba":
            self.n_classes = np.atleast_1d(np.asarray(source.ensemble.n_classes_, dtype=np.intp))
            self.value = values.reshape(n, n_outputs, -1).copy()
            criterion = "gini" if source.ensemble.criterion == "gini" else "entropy"
            # Several outputs: the mean of their impurities, as scikit-learn's trees report it.
            self.impurity = np.mean([_impurity(self.value[:, t], criterion) for t in range(n_outputs)], axis=0)
        else:  # SAMME votes: the node's majority class only (one class: the core boosted two)
            k = len(source.ensemble.classes_)
            self.n_classes = np.array([k], dtype=np.intp)
            self.value = _majority_rows(values, k).reshape(n, 1, k)
            self.impurity = np.full(n, np.nan)
        self.max_n_classes = int(self.n_classes.max())

    def _set_node_samples(self, source, arrays):
        ensemble = source.ensemble
        resampled = source.value_kind in ("mean", "vote") and (
            ensemble._model.objective == "adaboost_r2" or getattr(ensemble, "sampling", None) == "resample")
        samples = arrays["cover"] if resampled else arrays["count"]
        self.n_node_samples = np.rint(samples).astype(np.int64)

    def compute_node_depths(self):
        """Depth of every node, ndarray of shape (node_count,), int64 (the root is 0)."""
        return node_depths(self.children_left, self.children_right)

    def compute_feature_importances(self, normalize=True):
        """Sum of ``gain`` per feature divided by the root's weight; normalised to sum 1 if asked."""
        importances = np.zeros(self.n_features, dtype=np.float64)
        split = self.children_left >= 0
        np.add.at(importances, self.feature[split], self.gain[split])
        importances /= self.weighted_n_node_samples[0]
        total = importances.sum()
        if normalize and total > 0:
            importances /= total
        return importances


def _majority_rows(votes, n_classes):
    """Each row's largest vote as a 0/1 row of n_classes columns."""
    return np.eye(votes.shape[1])[np.argmax(votes, axis=1)][:, :n_classes]


def _category_sets(ensemble, arrays, feature, is_set):
    """Per node: the category values a set split sends left (by value, as given at fit), else None."""
    sets = [None] * len(feature)
    offsets, words = arrays["cat_offsets"], arrays["cat_words"]
    categories = getattr(ensemble, "_categories", None)
    bins = getattr(ensemble, "_category_bins", None)
    for j, node in enumerate(np.flatnonzero(is_set)):
        node_words = words[offsets[j]:offsets[j + 1]].astype(np.uint64)
        codes = np.flatnonzero((node_words[:, None] >> np.arange(32, dtype=np.uint64)) & np.uint64(1))
        f = int(feature[node])
        if categories is None or categories[f] is None:
            sets[node] = codes.astype(np.float64)
            continue
        values = np.asarray(categories[f])
        value_codes = np.minimum(np.arange(len(values)), int(bins[f]) - 1)  # the rarest may share the last code
        sets[node] = values[np.isin(value_codes, codes)]
    return sets


class _BaseTreeView(BaseEstimator):
    """One tree of a fitted treeforge ensemble, shaped as a fitted scikit-learn decision tree.

    Views are made by the ensemble (``estimators_``); one made directly is the unfitted template
    of ``estimator_``. They cannot be fitted: fit the ensemble.
    """

    def __init__(self):
        pass

    @classmethod
    def _of(cls, source, index):
        view = cls()
        view._source, view._index = source, index
        ensemble = source.ensemble
        view.n_features_in_ = ensemble.n_features_in_
        if hasattr(ensemble, "feature_names_in_"):
            view.feature_names_in_ = ensemble.feature_names_in_
        view.n_outputs_ = source.n_outputs
        view.criterion = getattr(ensemble, "criterion", None) or (
            "gini" if source.value_kind == "vote" else "squared_error")
        return view

    def __sklearn_is_fitted__(self):
        return hasattr(self, "_source")

    def fit(self, X, y, sample_weight=None):
        raise TypeError(f"{type(self).__name__} is a view of one tree of a fitted treeforge ensemble and cannot be "
                        "fitted on its own; fit the ensemble instead.")

    @property
    def tree_(self):
        """TreeArrays: scikit-learn's ``Tree`` arrays of this tree, built on first access."""
        check_is_fitted(self)
        if "_tree" not in self.__dict__:
            self._tree = TreeArrays(self._source, self._index)
        return self._tree

    @property
    def feature_importances_(self):
        """ndarray of shape (n_features_in_,): this tree's split gain per feature, normalised to sum 1."""
        check_is_fitted(self)
        return np.asarray(self._source.model.tree_feature_importances()[self._index], dtype=np.float64)

    def _single_tree_model(self):
        if "_model" not in self.__dict__:
            self._model = _core.Model.from_arrays(self._source.tree_arrays(self._index))
        return self._model

    def _leaf_values(self, X):
        """(n_samples, leaf_dim) values of the leaves X reaches, X checked and encoded as the ensemble does."""
        check_is_fitted(self)
        ensemble = self._source.ensemble
        X = validate_predict_data(ensemble, X)
        return self._single_tree_model().predict_margin(X, resolve_n_threads(getattr(ensemble, "n_jobs", None)))

    def apply(self, X, check_input=True):
        """Index of the leaf each sample reaches, ndarray of shape (n_samples,), intp."""
        check_is_fitted(self)
        ensemble = self._source.ensemble
        X = validate_predict_data(ensemble, X)
        leaves = self._single_tree_model().predict_leaf(X, resolve_n_threads(getattr(ensemble, "n_jobs", None)))
        return leaves[:, 0].astype(np.intp)

    def decision_path(self, X, check_input=True):
        """CSR indicator of shape (n_samples, node_count): 1 where a sample passes through a node."""
        tree = self.tree_
        return ancestor_matrix(tree.children_left, tree.children_right)[self.apply(X)]

    def get_depth(self):
        """Depth of the tree (the longest root-to-leaf path; a single leaf has depth 0)."""
        return self.tree_.max_depth

    def get_n_leaves(self):
        """Number of leaves."""
        return self.tree_.n_leaves


class TreeClassifierView(ClassifierMixin, _BaseTreeView):
    """One classification tree of a treeforge forest or of AdaBoost's default trees.

    ``predict_proba`` is the class distribution of the leaf each sample reaches (forests) or, for
    AdaBoost's SAMME trees, whose model keeps only the votes, the leaf's class as a 0/1 row.
    """

    @classmethod
    def _of(cls, source, index):
        view = super()._of(source, index)
        view.classes_ = source.ensemble.classes_
        view.n_classes_ = source.ensemble.n_classes_ if source.n_outputs > 1 else len(view.classes_)
        return view

    def predict_proba(self, X, check_input=True):
        """Class probabilities of the leaf each sample reaches, ndarray of shape (n_samples, n_classes)."""
        values = self._leaf_values(X)
        if self._source.value_kind == "vote":
            return _majority_rows(values, self.n_classes_)
        return values if self.n_outputs_ == 1 else target_probas(values, self.n_classes_)

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`."""
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return [np.log(p) for p in proba] if isinstance(proba, list) else np.log(proba)

    def predict(self, X, check_input=True):
        """Class of the leaf each sample reaches (its largest fraction, or its vote)."""
        check_is_fitted(self)
        if self.n_outputs_ > 1:
            return labels_of(self.classes_, self.predict_proba(X))
        values = self._leaf_values(X)
        return self.classes_[np.argmax(values, axis=1)]


class TreeRegressorView(RegressorMixin, _BaseTreeView):
    """One regression tree of a treeforge forest or of AdaBoost's default trees."""

    def predict(self, X, check_input=True):
        """Mean target of the leaf each sample reaches, ndarray of shape (n_samples,) or (n_samples, n_outputs)."""
        values = self._leaf_values(X)
        return values[:, 0] if self.n_outputs_ == 1 else values


class TreeEnsembleMixin:
    """``estimators_``, ``estimator_`` and scikit-learn's ``BaseEnsemble`` sequence behaviour.

    With a core model (``self._model``), ``estimators_`` is a new list of tree views on every
    access (they share one read of the model's arrays); otherwise it is the list of a user's
    fitted estimators (AdaBoost), kept in the instance's ``__dict__``. Tree views keep the fit of
    their access (``reads_one_fit``): a refit meanwhile changes neither their trees nor how they
    validate and encode X.
    """

    @property
    @reads_one_fit
    def estimators_(self):
        """list of estimators: one per tree, in training order."""
        model = self.__dict__.get("_model")
        if model is not None:
            source = _TreeSource(self)
            view_class = TreeClassifierView if source.value_kind in ("proba", "vote") else TreeRegressorView
            return [view_class._of(source, index) for index in range(model.n_trees)]
        fitted = self.__dict__.get("estimators_")
        if fitted is None:
            raise AttributeError(f"This {type(self).__name__} instance is not fitted yet: it has no estimators_.")
        return fitted

    @estimators_.setter
    def estimators_(self, value):
        self.__dict__["estimators_"] = value

    @property
    @reads_one_fit
    def estimator_(self):
        """The template of the estimators: a user's ``estimator``, else an unfitted tree view."""
        if self.__dict__.get("_model") is None and self.__dict__.get("estimators_") is None:
            raise AttributeError(f"This {type(self).__name__} instance is not fitted yet: it has no estimator_.")
        if getattr(self, "estimator", None) is not None:
            return self.estimator
        kind = _value_kind(self._model.objective)
        return TreeRegressorView() if kind == "mean" else TreeClassifierView()

    def __len__(self):
        """Number of estimators in the ensemble."""
        return len(self.estimators_)

    def __getitem__(self, index):
        """The index-th estimator (a list of them for a slice)."""
        return self.estimators_[index]

    def __iter__(self):
        """Iterate over the estimators."""
        return iter(self.estimators_)


def ensemble_decision_path(ensemble, leaves):
    """The forest's decision path: every tree's indicator side by side, and the column offsets of the trees."""
    arrays = ensemble._model.to_arrays()
    offsets = arrays["tree_offsets"]
    blocks = []
    for tree in range(len(offsets) - 1):
        lo, hi = offsets[tree], offsets[tree + 1]
        blocks.append(ancestor_matrix(arrays["left"][lo:hi], arrays["right"][lo:hi])[leaves[:, tree]])
    return sparse.hstack(blocks).tocsr(), np.asarray(offsets, dtype=np.int64)
