"""A fitted estimator's trees as plain node arrays, and what its predictions make of their sums.

The one reader of a fitted model for the export formats (``trees_to_dataframe``, ``dump_model``,
ONNX, treelite): it reads ``Model.to_arrays()`` of one fit (the estimator's ``__dict__`` taken once,
as ``reads_one_fit`` does) and imports neither scikit-learn nor any exporter's package.

A node routes a row as the core's predicate ``goes_left`` does (``cpp/model/split.hpp``): at a
numeric split ``x <= threshold`` goes left; at a category-set split a category of the set goes left;
NaN (and at a set split any value that is no category of the feature) goes left iff ``default_left``.
Category sets are stored as codes; this module turns them into the category values the estimator
was fitted on (``_categories``: the value at position i has the code ``min(i, _category_bins - 1)``).
"""

import numpy as np

SET_SPLIT = 1  # split_kind of a category-set split

# Objective names (before a ":" parameter) by what the estimator's prediction makes of the margin.
_IDENTITY = ("squared_error", "absolute_error", "quantile", "huber", "lambdarank", "rank_pairwise", "rank_listwise")
_EXP = ("poisson", "gamma", "tweedie")


class Ensemble:
    """The trees of one fit: node arrays over all trees, model-level fields and the feature metadata.

    Attributes
    ----------
    estimator_name, objective, aggregation : str
    n_features, n_outputs, leaf_dim, n_trees : int
    base_score : ndarray of shape (n_outputs,)
    tree_offsets : ndarray of shape (n_trees + 1,), int64; tree t owns nodes [tree_offsets[t], tree_offsets[t+1])
    feature, left, right : ndarray of shape (n_nodes,), int64; -1 at leaves (children are tree-local:
        ``left_child`` and ``right_child`` give them over all trees)
    default_left, is_set : ndarray of shape (n_nodes,), bool
    threshold, gain, cover, count : ndarray of shape (n_nodes,), float64
    value : ndarray of shape (n_nodes, leaf_dim), float64
    tree_weight : ndarray of shape (n_trees,) or (0,)
    code_sets : dict {node: ndarray of the codes that go left} for set splits (node over all trees)
    feature_names : list of str or None
    categories : list (per feature None, or the category values in code order) or None
    category_bins : list of int or None
    fitted : dict, the estimator's attributes of this fit
    """

    def __init__(self, estimator):
        state = dict(estimator.__dict__)  # one fit: a refit publishes a new __dict__ whole
        model = state.get("_model")
        if model is None:
            if state.get("estimators_") is not None:
                raise ValueError(f"{type(estimator).__name__} fitted with a user's estimator holds no treeforge trees; "
                                 "only the default trees (estimator=None) can be exported.")
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"This {type(estimator).__name__} instance is not fitted yet: fit it before "
                                 "exporting it.")
        self.fitted = state
        self.estimator_name = type(estimator).__name__
        arrays = model.to_arrays()
        self.objective, self.aggregation = str(arrays["objective"]), str(arrays["aggregation"])
        self.n_features, self.n_outputs = int(arrays["n_features"]), int(arrays["n_outputs"])
        self.leaf_dim = int(arrays["leaf_dim"])
        self.base_score = np.asarray(arrays["base_score"], dtype=np.float64)
        self.tree_offsets = np.asarray(arrays["tree_offsets"], dtype=np.int64)
        self.n_trees = len(self.tree_offsets) - 1
        self.node_base = np.repeat(self.tree_offsets[:-1], np.diff(self.tree_offsets))  # children are tree-local
        for name in ("feature", "left", "right"):
            setattr(self, name, np.asarray(arrays[name], dtype=np.int64))
        for name in ("threshold", "gain", "cover", "count"):
            setattr(self, name, np.asarray(arrays[name], dtype=np.float64))
        self.default_left = np.asarray(arrays["default_left"]).astype(bool)
        self.value = np.asarray(arrays["value"], dtype=np.float64).reshape(-1, self.leaf_dim)
        self.tree_weight = np.asarray(arrays["tree_weight"], dtype=np.float64)
        self.is_set = np.asarray(arrays["split_kind"]) == SET_SPLIT
        self.code_sets = _code_sets(self.is_set, arrays["cat_offsets"], arrays["cat_words"])
        names = state.get("feature_names_in_")
        self.feature_names = None if names is None else [str(name) for name in names]
        self.categories = state.get("_categories")
        self.category_bins = state.get("_category_bins")

    @property
    def n_nodes(self):
        return len(self.feature)

    def tree_nodes(self, tree):
        """(first node, end) of tree ``tree`` in the node arrays."""
        return int(self.tree_offsets[tree]), int(self.tree_offsets[tree + 1])

    def tree_output(self, tree):
        """The margin column tree ``tree`` adds to, or -1 when its leaves hold a value per output."""
        return -1 if self.leaf_dim > 1 else tree % self.n_outputs

    def is_leaf(self, node):
        return self.left[node] < 0

    def left_child(self, node):
        """The left child of split ``node`` (indices over all trees)."""
        return int(self.node_base[node] + self.left[node])

    def right_child(self, node):
        return int(self.node_base[node] + self.right[node])

    def is_categorical(self, feature):
        return self.categories is not None and self.categories[feature] is not None

    def feature_label(self, feature):
        """The feature's name where the estimator was fitted with names, else its index."""
        return self.feature_names[feature] if self.feature_names is not None else int(feature)

    def left_codes(self, node):
        """The codes of a categorical feature that go left at ``node`` (a numeric split on one: codes <= threshold)."""
        if self.is_set[node]:
            return self.code_sets[node]
        codes = np.arange(int(self.category_bins[self.feature[node]]))
        return codes[codes <= self.threshold[node]]

    def left_categories(self, node):
        """The category values (as fitted, in code order) that go left at a split on a categorical feature."""
        feature = int(self.feature[node])
        values = np.asarray(self.categories[feature])
        codes = np.minimum(np.arange(len(values)), int(self.category_bins[feature]) - 1)
        return values[np.isin(codes, self.left_codes(node))]

    def numeric_categories(self, feature, reader):
        """float64 category values of a categorical feature; ValueError naming ``reader`` where they are text."""
        values = np.asarray(self.categories[feature])
        if values.dtype.kind not in "biuf" and not all(
                isinstance(v, (bool, int, float, np.number, np.bool_)) for v in values.tolist()):
            raise ValueError(
                f"feature {self.feature_label(feature)!r} has text categories ({values[0]!r}, ...), but {reader} reads "
                "numbers only: fit on numeric category values (e.g. integer codes) to export this model.")
        return values.astype(np.float64)

    def category_test(self, node, reader):
        """(members, members_go_left) of a split on a categorical feature in raw values.

        A value among ``members`` goes left iff ``members_go_left``; any other value (NaN, a value that
        is no category of the feature) goes the other way, which is the node's missing direction, as
        in treeforge. ``members`` is empty where every value goes the missing direction.
        """
        feature = int(self.feature[node])
        known = self.numeric_categories(feature, reader)
        codes = np.minimum(np.arange(len(known)), int(self.category_bins[feature]) - 1)
        goes_left = np.isin(codes, self.left_codes(node))
        if self.default_left[node]:
            return np.sort(known[~goes_left]), False
        return np.sort(known[goes_left]), True

    def routed_node(self, node, reader):
        """``node``, or where it is a categorical split that sends every value one way, the child it
        sends them to (followed on): exporters leave such nodes out."""
        while not self.is_leaf(node) and self.is_categorical(int(self.feature[node])):
            members, _ = self.category_test(node, reader)
            if len(members):
                break
            node = self.left_child(node) if self.default_left[node] else self.right_child(node)
        return node


class Plan:
    """What the estimator's prediction makes of the trees' sum (the margin).

    Attributes
    ----------
    kind : 'regression' or 'classification'
    link : 'identity', 'exp', 'sigmoid' (one margin column: the positive class) or 'softmax'
    average : bool, the margin is the mean of the trees (forests), else base score + sum
    scale : float, every leaf value (and the base score) is multiplied by it first (AdaBoost SAMME's
        probabilities are softmax(votes / (sum of estimator weights * (K - 1))))
    classes : ndarray or None
    """

    def __init__(self, ensemble):
        objective, name = ensemble.objective, ensemble.objective.partition(":")[0]
        fitted = ensemble.fitted
        self.classes = fitted.get("classes_")
        self.kind = "classification" if self.classes is not None else "regression"
        self.average, self.scale = ensemble.aggregation == "mean", 1.0
        if ensemble.aggregation not in ("sum", "mean"):
            raise NotImplementedError(
                f"{ensemble.estimator_name} predicts the weighted median of its trees (AdaBoost.R2), which "
                "ONNX's and treelite's tree ensembles cannot compute: they sum or average trees.")
        if name in _IDENTITY or name == "forest_regression":
            self.link = "identity"
        elif name in _EXP:
            self.link = "exp"
        elif name == "binary_logloss":
            self.link = "sigmoid"
        elif name == "multiclass_softmax":
            self.link = "softmax"
        elif objective == "forest_classification":
            self.link = "identity"
        elif objective == "adaboost_samme" and len(self.classes) >= 2:
            self.link = "softmax"
            self.scale = 1.0 / (float(np.sum(fitted["estimator_weights_"])) * (len(self.classes) - 1))
        elif objective.startswith("forest_classification:"):
            raise NotImplementedError(
                f"{ensemble.estimator_name} fitted on {objective.partition(':')[2]} targets (columns of y) gives a "
                "probability table per target, which one tree-ensemble operator cannot output: fit one forest per "
                "target to export it.")
        elif objective == "adaboost_samme":
            raise NotImplementedError(f"{ensemble.estimator_name} fitted on one class predicts it for every row; "
                                      "there are no trees to export.")
        else:
            raise NotImplementedError(f"{ensemble.estimator_name} with the objective {objective!r} cannot be exported.")
        if self.average and np.any(ensemble.base_score != 0):
            raise RuntimeError("internal error: a mean of trees with a base score")


def _code_sets(is_set, offsets, words):
    """{node: codes that go left} of every set split (the j-th set split owns words[offsets[j]:offsets[j+1]])."""
    offsets, words = np.asarray(offsets, dtype=np.int64), np.asarray(words, dtype=np.uint64)
    sets = {}
    for j, node in enumerate(np.flatnonzero(is_set).tolist()):
        node_words = words[offsets[j]:offsets[j + 1]]
        bits = (node_words[:, None] >> np.arange(32, dtype=np.uint64)) & np.uint64(1)
        sets[node] = np.flatnonzero(bits.reshape(-1))
    return sets
