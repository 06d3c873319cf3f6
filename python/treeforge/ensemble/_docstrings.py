"""The estimators' docstring fragments and the helpers that splice them in: each parameter is documented once."""

import re
import textwrap

# Docstring parts shared by the estimators' methods (see ``with_doc_parts``).
SHARED_DOC_PARTS = {
    "X_parameter": """
        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Samples, any real dtype; NaN is a missing value.""",
}


def fill_doc(template, parts):
    """Replace every line holding only ``{name}`` by the text ``parts[name]``, indented alike."""

    def expand(match):
        text = textwrap.dedent(parts[match.group(2)]).strip("\n")
        return textwrap.indent(text, match.group(1))

    return re.sub(r"^( *)\{(\w+)\}$", expand, template, flags=re.MULTILINE)


def with_doc_parts(parts):
    """Decorator factory: fill the docstring of a function or class from ``parts`` (see ``fill_doc``)."""

    def decorate(obj):
        obj.__doc__ = fill_doc(obj.__doc__, parts)
        return obj

    return decorate


# HistGradientBoostingRegressor and HistGradientBoostingClassifier.
GRADIENT_BOOSTING_DOC_PARTS = {
    **SHARED_DOC_PARTS,
    "boosting_parameters": """
    learning_rate : float, default=0.1
        Shrinkage: leaf values are multiplied by it. 1 means no shrinkage.
    max_iter : int, default=100
        Maximum number of boosting iterations (one tree per iteration, or one per class for
        multiclass classification).
    max_leaf_nodes : int or None, default=31
        Maximum number of leaves of each tree, at least 2. None means no limit.
    max_depth : int or None, default=None
        Maximum depth of each tree (the root has depth 0). None means no limit.
    min_samples_leaf : int, default=20
        Minimum number of samples in a leaf.
    l2_regularization : float, default=0.0
        L2 penalty on leaf values (``lambda`` of XGBoost). 0 means no penalty.
    max_features : float, default=1.0
        Fraction of features drawn at random at every node to look for splits, in (0, 1].
    max_bins : int, default=255
        Maximum number of bins of non-missing values per feature, between 2 and 255. Missing
        values (NaN) always get their own extra bin.
    categorical_features : 'from_dtype' or None, default='from_dtype'
        Native categorical splits are not supported yet: ``'from_dtype'`` raises ValueError if a
        pandas column has the ``category`` dtype, and any explicit list or mask raises
        ValueError. Encode categories as numbers first.
    monotonic_cst : None, default=None
        Monotonic constraints are not supported yet; anything but None raises ValueError.
    interaction_cst : None, default=None
        Interaction constraints are not supported yet; anything but None raises ValueError.
    warm_start : bool, default=False
        When True, fitting again continues the existing model with more iterations (``max_iter``
        must not shrink); the bins of the first fit are reused.
    early_stopping : 'auto' or bool, default='auto'
        'auto' enables early stopping when there are more than 10,000 samples.
    scoring : str, callable or None, default='loss'
        Score used for early stopping: 'loss' uses the training loss; any other value is passed to
        :func:`sklearn.metrics.check_scoring` and evaluated on at most 10,000 training samples and
        on the validation set. Ignored without early stopping.
    validation_fraction : int, float or None, default=0.1
        Proportion (or absolute number) of the training data set aside to score early stopping.
        None scores on the training data.
    n_iter_no_change : int, default=10
        Stop when none of the last ``n_iter_no_change`` scores improves by more than ``tol`` on
        the score before them.
    tol : float, default=1e-7
        Minimal improvement of the score counted as an improvement.
    verbose : int, default=0
        1 prints a summary, 2 also one line per iteration.
    random_state : int, RandomState instance or None, default=None
        Seed of the binning sample, the validation split and row/feature subsampling. Pass an int
        for reproducible results (identical for any ``n_jobs``).""",
    "extra_parameters": """
    l1_regularization : float, default=0.0
        L1 penalty on leaf values (``alpha`` of XGBoost, soft-thresholds the gradient sums).
    min_split_gain : float, default=0.0
        Minimum loss reduction of a split (``gamma`` of XGBoost, ``min_split_gain`` of LightGBM).
    min_child_weight : float, default=1e-3
        Minimum sum of hessians in a child (scikit-learn's fixed value by default).
    subsample : float, default=1.0
        Fraction of rows drawn without replacement for every iteration, in (0, 1].
    colsample_bytree : float, default=1.0
        Fraction of features drawn for every tree, in (0, 1].
    n_jobs : int or None, default=None
        Number of threads for fit and predict: None or -1 use every available core, negative
        ``k`` uses ``cores + 1 + k``. Results do not depend on it.
    grow_policy : {'lossguide', 'depthwise'}, default='lossguide'
        Order in which nodes are split: best gain first (LightGBM) or level by level (XGBoost).""",
    "attributes": """
    do_early_stopping_ : bool
        Whether early stopping was used during training.
    n_iter_ : int
        Number of boosting iterations in the model.
    n_trees_per_iteration_ : int
        Trees built per iteration: 1, or the number of classes for multiclass classification.
    train_score_ : ndarray of shape (n_iter_ + 1,), float64
        Score on the training data after each iteration, the first entry being the score before
        any tree (the negative loss when ``scoring='loss'``). Empty without early stopping.
    validation_score_ : ndarray of shape (n_iter_ + 1,), float64
        Same on the validation data; empty without early stopping or validation data.
    is_categorical_ : None
        No feature is treated as categorical (native categorical splits come later).
    feature_importances_ : ndarray of shape (n_features_in_,), float64
        Total split gain per feature normalised to sum 1 (all zeros if no tree split).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,), object
        Names of the features, when fitted on a DataFrame with string column names.""",
    "notes": """
    Notes
    -----
    Sparse matrices are accepted but densified (native sparse input is planned); NaN is a missing
    value and goes to the child learned during training. float32 input is kept as float32.""",
}


# RandomForestRegressor and RandomForestClassifier.
FOREST_DOC_PARTS = {
    **SHARED_DOC_PARTS,
    "forest_parameters": """
    min_samples_split : int or float, default=2
        Minimum number of samples (distinct rows with a positive weight) in a node for it to be
        split; a float is a fraction of n_samples (rounded up).
    min_samples_leaf : int or float, default=1
        Minimum number of samples in each leaf (distinct rows: a sample drawn twice by the
        bootstrap counts once, as in scikit-learn, where draws are weights); a float is a
        fraction of n_samples (rounded up).
    min_weight_fraction_leaf : float, default=0.0
        Minimum fraction of the tree's total weight (bootstrap draws times class weights) in a leaf.
    max_leaf_nodes : int or None, default=None
        Grow trees best-first with at most this many leaves. None: no limit.
    min_impurity_decrease : float, default=0.0
        Split a node only if it decreases the weighted impurity by at least this much
        (``N_t / N * (impurity - N_t_R / N_t * right_impurity - N_t_L / N_t * left_impurity)``).
    bootstrap : bool, default=True
        Draw each tree's samples with replacement (else every tree sees every sample).
    oob_score : bool or callable, default=False
        Score the forest on the samples each tree did not draw. A callable is called as
        ``score(y_true, y_pred)``.
    n_jobs : int or None, default=None
        Threads for fit and predict: None or -1 use every available core (unlike scikit-learn's
        one), negative ``k`` uses ``cores + 1 + k``. The forest does not depend on it.
    random_state : int, RandomState instance or None, default=None
        Seed of the binning sample, the bootstraps and the feature draws; an int gives the same
        forest for any ``n_jobs``.
    verbose : int, default=0
        1 prints a summary, 2 also a line per batch of trees.
    warm_start : bool, default=False
        When True, fitting again adds trees (``n_estimators`` must not shrink) to the existing
        forest, whose bins are reused.
    ccp_alpha : float, default=0.0
        Cost-complexity pruning is not supported yet: anything but 0.0 raises ValueError.
    max_samples : int, float or None, default=None
        With bootstrap, samples drawn per tree: None draws n_samples, an int that many, a float
        ``max(int(max_samples * n_samples), 1)`` (times the weight sum with sample weights).
    monotonic_cst : None, default=None
        Monotonic constraints are not supported yet; anything but None raises ValueError.
    max_bins : int, default=255
        Value bins per feature (2 to 255), placed at quantiles; NaN gets its own bin. Splits are
        searched between bins, so thresholds are quantiles rather than midpoints of every pair of
        values (treeforge extension).""",
    "forest_attributes": """
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,), object
        Names of the features, when fitted on a DataFrame with string column names.
    n_outputs_ : int
        Always 1 (multi-output targets are not supported).
    feature_importances_ : ndarray of shape (n_features_in_,)
        Impurity-based importances (mean of the per-tree normalised decreases), summing to 1.
    estimators_samples_ : list of ndarray
        In-bag sample indices of each tree (with repeats).""",
    "notes": """
    Notes
    -----
    Trees are grown by treeforge's histogram grower on binned features, in parallel over trees,
    with a fresh subset of ``max_features`` candidate features at every node and the bootstrap
    drawn in C++. Nodes whose drawn features are all constant become leaves (scikit-learn draws
    more features in that case). Sparse input is densified; NaN goes to the child learned in
    training.""",
}


# AdaBoostClassifier and AdaBoostRegressor.
ADABOOST_DOC_PARTS = {
    **SHARED_DOC_PARTS,
    "core_parameters": """
        n_jobs : int or None, default=None
            Threads of the default trees (None or -1: every core). The result does not depend on it.
        max_bins : int, default=255
            Value bins per feature (2 to 255) of the default trees; NaN gets its own bin.""",
    "fitted_attributes": """
        estimator_weights_ : ndarray of shape (n_estimators,)
            Weight of each round (alpha_m); 0 for rounds that did not run.
        estimator_errors_ : ndarray of shape (n_estimators,)
            Weighted error of each round; 1 for rounds that did not run.
        estimators_ : list of estimators or None
            The fitted copies of a user's estimator; None for the default trees (held by the C++ model).
        feature_importances_ : ndarray of shape (n_features,)
            Estimator-weighted mean of the trees' impurity-based importances.
        n_features_in_ : int
            Number of features seen during fit.
        feature_names_in_ : ndarray of shape (n_features_in_,), object
            Names of the features, when fitted on a DataFrame with string column names.""",
}
