"""The estimators' docstring fragments and the helpers that splice them in: each parameter is documented once."""

import re
import textwrap

# Docstring parts shared by the estimators' methods (see ``with_doc_parts``).
SHARED_DOC_PARTS = {
    "X_parameter": """
        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Samples, any real dtype; NaN is a missing value. Categorical features hold their
            category values (matched by value; unseen ones are missing).""",
    "callbacks_parameter": """
        callbacks : list of callback objects, default=None
            Objects with any of ``before_training(estimator)``, ``after_iteration(estimator,
            progress)`` (after each step: a boosting iteration, a forest's batch of trees, an
            AdaBoost round; returning True stops the fit there, the estimator fitted with the
            steps done) and ``after_training(estimator)``; see :mod:`treeforge.callback` (built in:
            ``EarlyStopping``, ``PrintProgress``, ``LearningRateScheduler``, ``Checkpoint``). An
            exception a callback raises leaves the estimator as it was before ``fit``.""",
}


def _categorical_features_doc(default, note=""):
    """The documentation of ``categorical_features``, shared by the six estimators (``note``: lines
    added to its first paragraph, indented by 8 spaces)."""
    return f"""
    categorical_features : array-like of {{bool, int, str}} or 'from_dtype' or None, default={default}
        Which features are categorical; they get native set splits (a node sends a set of
        categories left, found by ordering the categories by their gradient statistics).{note}

        - None: no feature is categorical.
        - 'from_dtype': the columns of a DataFrame whose dtype is categorical: pandas
          ``category``, polars ``Categorical`` or ``Enum``, pyarrow dictionary columns.
        - boolean mask of shape (n_features,), integer indices, or feature names (needs a
          DataFrame with string column names).

        Categories are matched by value, not by code: those present at fit are sorted (text, or
        numbers: 1 and 1.0 are one category) and numbered, so a frame whose levels are ordered
        differently or has unused levels gives the same model and predictions. NaN, missing values,
        negative numbers in a numeric column, and categories not seen at fit go where each
        split sends missing values. ``max_bins`` does not limit categories: up to 4,096 per
        feature each keep their own code; above, the 4,095 most frequent do (ties broken by the
        sorted order) and all rarer ones share the last code. A model file stores the categories (str, int, float or bool values)."""


_IS_CATEGORICAL_DOC = """
    is_categorical_ : ndarray of shape (n_features_in_,), bool, or None
        Which features were treated as categorical; None when none was."""


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


def _with_categorical(parts, default, note=""):
    """``parts`` with their ``{categorical_features}`` and ``{is_categorical}`` lines filled."""
    inner = {"categorical_features": _categorical_features_doc(default, note),
             "is_categorical": _IS_CATEGORICAL_DOC, "custom_loss": _CUSTOM_LOSS_DOC}
    return {name: fill_doc(text, inner) for name, text in parts.items()}


_CUSTOM_LOSS_DOC = """
        A callable ``loss(y_true, raw_prediction, sample_weight) -> (gradient, hessian)`` is a
        loss of your own: it gets the training targets (float64; class indices 0..K-1 for the
        classifier), their raw scores (shape (n_samples,), or (n_samples, n_classes) for
        multiclass) and the weights (or None, for reference) once per iteration, and returns each
        row's first and second derivative of its *unweighted* loss in the raw score's shape
        (finite, hessians >= 0); the fit multiplies them by the weights. The model starts from
        one Newton step from 0. ``predict`` links the raw score as the built-in loss of the
        estimator does (identity for the regressor; sigmoid/softmax for the classifier, so the
        loss should be on the log-odds scale). Each class's tree takes a Newton step in its own
        output, so a multiclass loss's hessian is its diagonal: the built-in softmax loss scales it
        by K/(K-1) (Friedman's and LightGBM's factor), which a copy of it must do to match it.
        ``eval_metric='loss'`` and early stopping with
        ``scoring='loss'`` need the core's loss: use a callable ``eval_metric`` (it gets the raw
        score) or a scorer. Such an estimator pickles (with its loss importable) but refuses
        ``save_model``: a model file holds no code."""


# HistGradientBoostingRegressor and HistGradientBoostingClassifier.
GRADIENT_BOOSTING_DOC_PARTS = _with_categorical({
    **SHARED_DOC_PARTS,
    "custom_loss": _CUSTOM_LOSS_DOC,
    "iteration_range_parameter": """
    iteration_range : (int, int) or None, default=None
        Only the trees of iterations [begin, end), 0 <= begin < end <= ``n_iter_`` (XGBoost's
        parameter); None: all. The base score counts with iteration 0 only, so the margins of
        consecutive ranges add up to the whole model's.""",
    "init_score_parameter": """
    init_score : array-like of shape (n_samples,) or (n_samples, n_classes), default=None
        Per-row offsets added to the raw score (the margin before the link) while training, e.g.
        log exposure for a Poisson loss or a prior model's raw predictions; (n_samples, n_classes)
        for multiclass, one per class. With offsets the model's base score is 0 and its trees
        learn what the offsets leave: ``predict`` does *not* add them (LightGBM's rule), so
        the trees' part is predicted; add a row's offset to ``decision_function`` (or, for the
        regressor with an identity link, to ``predict``) to get the full score. The internal
        validation split of early stopping splits the offsets with the rows; ``X_val`` has no
        offsets (they count as 0).""",
    "init_model_parameter": """
    init_model : estimator of this class, str or os.PathLike, default=None
        A fitted estimator (or the path of its model file, read by :func:`treeforge.load_model`)
        whose trees this fit continues on the given data ("pre-train, then fine-tune"): its
        trees are kept and the new ones start from its predictions. Its bins are kept too: the
        new data is binned with the first model's bin edges (and categories), so that its trees
        read the new data as they were grown; the data is not re-binned. ``max_iter`` counts the
        new iterations only (LightGBM's ``num_boost_round`` with ``init_model``); ``n_iter_``
        counts all the model's iterations. Its number and names of features, objective and
        classes must be those of this fit (else ValueError); it cannot be combined with a
        ``warm_start`` continuation.""",
    "eval_set_parameters": """
    eval_set : list of (X, y) pairs, default=None
        Sets scored with ``eval_metric`` after every iteration into ``evals_result_``. Their running
        raw scores are kept by the core (each new tree is walked once per row), so watching them
        costs the same in every iteration. With early stopping the **last** set's **first**
        metric decides (LightGBM's rule), by ``n_iter_no_change`` and ``tol``, in place of the
        internal ``validation_fraction`` split; ``validation_score_`` then holds that metric (as a
        score: negated when lower is better) and ``train_score_`` the negated training loss.
        Cannot be combined with ``X_val``/``y_val``; with early stopping, ``scoring`` must be 'loss'.
    eval_names : list of str, default=None
        Names of the sets in ``evals_result_``; default ``'valid_0'``, ``'valid_1'``, ...
    eval_sample_weight : list of array-like or None, default=None
        Weights of each set (an entry may be None), weighting every metric's mean.
    eval_init_score : list of array-like or None, default=None
        Offsets of each set's rows (see ``init_score``), added to its raw scores before scoring.
    eval_metric : str, callable or list of them, default=None
        What is scored: 'loss' (the default: the training loss, as ``train_score_`` reports it),
        'l2'/'mse', 'rmse', 'l1'/'mae' (regressor), 'logloss', 'error', 'auc' (binary) for the
        classifier; or a callable ``metric(y_true, y_pred, sample_weight)`` given the set's targets
        as passed, ``predict``'s values for the regressor or ``predict_proba``'s for the classifier
        (the raw score under a callable ``loss``), and the weights (or None). It returns a float
        (lower is better, recorded under its ``__name__``) or ``(name, value, is_higher_better)``.""",
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
    {categorical_features}
    monotonic_cst : array-like of int of shape (n_features,) or dict, default=None
        Monotonic constraint of each feature: 1 increasing, -1 decreasing, 0 none; a dict maps
        feature names to constraints (others 0). Predictions along a constrained feature, all
        other features fixed, never go the other way (for a binary classifier, the probability
        of the positive class). Not for multiclass classification or categorical features
        (ValueError). Each split on a constrained feature bounds the values of its two subtrees
        by the middle of its children's values (LightGBM's "basic" method).
    interaction_cst : {'pairwise', 'no_interactions'} or sequence of lists/tuples/sets of int, default=None
        Interaction constraints: the features of a root-to-leaf path all lie in one group. Features
        named in no group form one more group together; 'pairwise' makes every pair a group and
        'no_interactions' every feature alone.
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
        Order in which nodes are split: best gain first (LightGBM) or level by level (XGBoost).
    cat_smooth : float, default=10.0
        Added to each category's hessian sum when the categories of a node are ordered by
        gradient / hessian (LightGBM's ``cat_smooth``): smooths the order of small categories.
    cat_l2 : float, default=10.0
        Extra L2 penalty in the gain of categorical set splits (LightGBM's ``cat_l2``).
    max_cat_threshold : int, default=32
        At most this many categories are sent to one side of a set split.
    max_cat_to_onehot : int, default=4
        A feature with at most this many categories in a node is split one category against
        the rest.
    min_data_per_group : int, default=100
        Minimum number of rows of the categories on each side of a set split.""",
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
    evals_result_ : dict
        ``{set name: {metric name: [value after each iteration of the fit]}}`` of ``fit(eval_set=...)``
        (LightGBM's layout); empty without ``eval_set``. Not stored in model files.
    best_iteration_ : int or None
        Iterations in the model when the deciding metric was best: the first ``eval_metric`` on
        the last ``eval_set`` (the first of ties), else ``validation_score_``'s best; None without
        validation data. ``predict`` uses every iteration: ``predict(X, iteration_range=(0,
        best_iteration_))`` uses the best ones. Not stored in model files.
    {is_categorical}
    feature_importances_ : ndarray of shape (n_features_in_,), float64
        Total split gain per feature normalised to sum 1 (all zeros if no tree split).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,), object
        Names of the features, when fitted on a DataFrame with string column names.""",
    "regression_loss": """
    loss : {'squared_error', 'absolute_error', 'quantile', 'huber', 'poisson', 'gamma',
            'tweedie'} or callable, default='squared_error'
        Loss to minimise: half squared error; absolute error; the pinball loss of ``quantile``
        (predicts that conditional quantile); the Huber loss with threshold ``huber_delta``;
        half Poisson, Gamma or Tweedie deviance with a log link (``predict`` returns
        ``exp`` of the raw score). As in scikit-learn, 'absolute_error' and 'quantile' fit each
        tree to gradients and then renew every leaf to the weighted median (quantile) of the
        residuals of its training rows, times ``learning_rate``; they start from the weighted
        median (quantile) of ``y``. 'huber' and 'tweedie' are treeforge extensions.
        {custom_loss}
    quantile : float or None, default=None
        The quantile to predict with loss='quantile', in (0, 1); ignored by the other losses.""",
    "regression_loss_parameters": """
    huber_delta : float, default=1.0
        Threshold of loss='huber', in units of ``y``: residuals up to it in absolute value are
        squared, larger ones count linearly (their gradient is clipped to it). LightGBM calls it
        ``alpha`` (default 0.9); scikit-learn's GradientBoostingRegressor instead derives it in
        every iteration from its ``alpha``, a quantile of the absolute residuals. As in LightGBM,
        every row's hessian is 1; the model starts from the weighted median of ``y`` plus the
        mean of the deviations from it clipped to ``huber_delta``. Ignored by the other losses.
    tweedie_variance_power : float, default=1.5
        Variance power ``p`` of loss='tweedie' (variance proportional to ``mean ** p``), in
        [1, 2): compound Poisson-gamma targets, non-negative with exact zeros (1 is the Poisson
        loss; use loss='gamma' for 2). The name and range are LightGBM's and XGBoost's
        (scikit-learn's TweedieRegressor calls it ``power``). Ignored by the other losses.""",
    "notes": """
    Notes
    -----
    Sparse matrices of any format are trained on and predicted from as they are, never made
    dense: an absent element is the value 0, a stored NaN is missing, and the model is the one
    the dense matrix gives. NaN is a missing value and goes to the child learned during
    training. float32 input is kept as float32.""",
}, "'from_dtype'")


# RandomForestRegressor and RandomForestClassifier.
FOREST_DOC_PARTS = _with_categorical({
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
    ccp_alpha : float, non-negative, default=0.0
        Minimal cost-complexity pruning of each tree, as scikit-learn: the smallest subtree
        minimising R(T) + ccp_alpha * leaves, R the weighted impurity of the leaves over the
        tree's total weight (squared error, Gini or entropy in bits); 0 prunes nothing. Pruned
        nodes hold the exact mean or class shares of their rows.
    max_samples : int, float or None, default=None
        With bootstrap, samples drawn per tree: None draws n_samples, an int that many, a float
        ``max(int(max_samples * n_samples), 1)`` (times the weight sum with sample weights).
    monotonic_cst : array-like of int of shape (n_features,) or dict, default=None
        Monotonic constraint of each feature (1 increasing, -1 decreasing, 0 none; a dict by
        feature name), as for the boosting estimators: each tree's predictions along a
        constrained feature never go the other way, and so neither does the forest's mean. For
        a classifier, on the probability of the positive class, two classes only (ValueError
        otherwise); splits that would break the order or the bounds are not taken.
    max_bins : int, default=255
        Value bins per feature (2 to 255), placed at quantiles; NaN gets its own bin. Splits are
        searched between bins, so thresholds are quantiles rather than midpoints of every pair of
        values (treeforge extension).
    {categorical_features}""",
    "forest_attributes": """
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,), object
        Names of the features, when fitted on a DataFrame with string column names.
    n_outputs_ : int
        Number of outputs (columns of y). With several, each tree holds all of them and its splits
        score them together, as scikit-learn's; ``predict`` gives (n_samples, n_outputs), and for
        classifiers ``classes_``/``n_classes_`` are lists and ``predict_proba`` a list of arrays.
    feature_importances_ : ndarray of shape (n_features_in_,)
        Impurity-based importances (mean of the per-tree normalised decreases), summing to 1.
    estimators_samples_ : list of ndarray
        In-bag sample indices of each tree (with repeats).
    estimators_ : list of TreeClassifierView or TreeRegressorView
        Light views of the trees in the C++ model, read from it when first used (fitting is no
        slower): ``predict``, ``predict_proba``, ``apply``, ``decision_path``, ``get_depth``,
        ``get_n_leaves``, ``feature_importances_`` and a ``tree_`` with scikit-learn's arrays
        (``children_left``/``right``, ``feature``, ``threshold``, ``value`` as class fractions,
        ``n_node_samples``, ``weighted_n_node_samples``, ``impurity``, ``missing_go_to_left``,
        ``node_count``, ``max_depth``). Their mean prediction is the forest's. Thresholds are bin
        edges; a category-set split has threshold NaN and its left categories in
        ``tree_.category_sets``. ``impurity`` is exact for classifiers (Gini, or entropy in bits)
        and NaN for regression trees, whose node variances the model does not store
        (``tree_.gain`` holds each split's squared-error decrease). The forest is also a sequence
        of them: ``len``, indexing, iteration.
    estimator_ : TreeClassifierView or TreeRegressorView
        The unfitted template of ``estimators_``.
    {is_categorical}""",
    "notes": """
    Notes
    -----
    Trees are grown by treeforge's histogram grower on binned features, in parallel over trees,
    with a fresh subset of ``max_features`` candidate features at every node and the bootstrap
    drawn in C++. Nodes whose drawn features are all constant become leaves (scikit-learn draws
    more features in that case). Sparse input is trained on as it is, never made dense (absent
    elements are 0); NaN goes to the child learned in training.""",
}, "None", "\n        A treeforge extension: scikit-learn's forests have no such parameter.")


# AdaBoostClassifier and AdaBoostRegressor.
ADABOOST_DOC_PARTS = _with_categorical({
    **SHARED_DOC_PARTS,
    "core_parameters": """
        n_jobs : int or None, default=None
            Threads of the default trees (None or -1: every core). The result does not depend on it.
        max_bins : int, default=255
            Value bins per feature (2 to 255) of the default trees; NaN gets its own bin.
        {categorical_features}""",
    "fitted_attributes": """
        estimator_weights_ : ndarray of shape (n_estimators,)
            Weight of each round (alpha_m); 0 for rounds that did not run.
        estimator_errors_ : ndarray of shape (n_estimators,)
            Weighted error of each round; 1 for rounds that did not run.
        estimators_ : list of estimators
            The fitted copies of a user's estimator, or for the default trees light views of the
            trees in the C++ model (``TreeClassifierView`` / ``TreeRegressorView``: ``predict``,
            ``apply``, ``decision_path``, ``get_depth``, ``get_n_leaves`` and a ``tree_`` of
            scikit-learn's arrays, read from the model when first used). A SAMME tree keeps only
            its votes: its ``predict_proba`` and ``tree_.value`` hold each node's class as a 0/1
            row and ``tree_.impurity`` is NaN; a regression tree's impurity is NaN (see
            :class:`~treeforge.ensemble._tree_view.TreeArrays`). The ensemble is also a sequence
            of them: ``len``, indexing, iteration.
        estimator_ : estimator
            The template of ``estimators_``: ``estimator``, or an unfitted tree view.
        feature_importances_ : ndarray of shape (n_features,)
            Estimator-weighted mean of the trees' impurity-based importances.
        n_features_in_ : int
            Number of features seen during fit.
        feature_names_in_ : ndarray of shape (n_features_in_,), object
            Names of the features, when fitted on a DataFrame with string column names.
        {is_categorical}""",
}, "None", ("\n        For the default trees only (a treeforge extension): a user's estimator gets X"
            "\n        as it is and handles its categories itself (categorical_features=None)."))
