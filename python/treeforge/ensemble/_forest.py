"""Random forests, scikit-learn drop-ins grown by the core's ForestTrainer (bootstrap, feature draws and OOB in C++)."""

import time
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context, is_classifier
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils.validation import check_is_fitted

from .. import _core
from ._base import (
    N_JOBS_CONSTRAINT,
    CoreModelMixin,
    LogProbaMixin,
    bin_training_data,
    check_positive_total_weight,
    draw_seed,
    make_config,
    published_when_fitted,
    reads_one_fit,
    resolve_n_threads,
    store_init_arguments,
    validate_fit_data,
    validate_predict_data,
    validate_sample_weight,
)
from ._class_labels import apply_class_weight, balanced_class_weight, encode_classes
from ._constraints import monotone_directions
from ._contributions import ContributionsMixin
from ._docstrings import FOREST_DOC_PARTS, with_doc_parts
from ._forest_data import (
    count_of,
    max_features_count,
    n_samples_bootstrap,
    as_targets,
    encode_target_classes,
    labels_of,
    n_targets_of,
    oob_accuracy,
    oob_decision_function,
    target_probas,
    target_sample_weight,
)
from ._importances import forest_importances
from ._model_io import register_estimator
from ._training_steps import Callbacks, refuse_learning_rate_schedule, run_forest_batches
from ._tree_view import TreeEnsembleMixin, ensemble_decision_path

# Trees grown per call into the core between interrupt checks and progress lines, per thread.
_TREES_PER_BATCH_PER_THREAD = 16


_with_doc = with_doc_parts(FOREST_DOC_PARTS)


class BaseForest(ContributionsMixin, TreeEnsembleMixin, CoreModelMixin, BaseEstimator):
    """Shared training and prediction of the two random forests (not public)."""

    _parameter_constraints: dict = {
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "max_depth": [Interval(Integral, 1, None, closed="left"), None],
        "min_samples_split": [
            Interval(Integral, 2, None, closed="left"),
            Interval(RealNotInt, 0.0, 1.0, closed="right"),
        ],
        "min_samples_leaf": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0.0, 1.0, closed="neither"),
        ],
        "min_weight_fraction_leaf": [Interval(Real, 0.0, 0.5, closed="both")],
        "max_features": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0.0, 1.0, closed="right"),
            StrOptions({"sqrt", "log2"}),
            None,
        ],
        "max_leaf_nodes": [Interval(Integral, 2, None, closed="left"), None],
        "min_impurity_decrease": [Interval(Real, 0.0, None, closed="left")],
        "bootstrap": ["boolean"],
        "oob_score": ["boolean", callable],
        "n_jobs": N_JOBS_CONSTRAINT,
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "ccp_alpha": [Interval(Real, 0.0, None, closed="left")],
        "max_samples": [
            None,
            Interval(RealNotInt, 0.0, None, closed="neither"),
            Interval(Integral, 1, None, closed="left"),
        ],
        "monotonic_cst": ["array-like", None],
        "max_bins": [Interval(Integral, 2, 255, closed="both")],
        "categorical_features": ["array-like", StrOptions({"from_dtype"}), None],
    }

    _io_fitted_attributes = CoreModelMixin._io_fitted_attributes + (
        "n_outputs_", "_seed", "_n_samples", "_n_samples_bootstrap", "_sample_weight",
        "oob_score_", "oob_decision_function_", "oob_prediction_",
    )
    _io_optional_attributes = CoreModelMixin._io_optional_attributes + (
        "oob_score_", "oob_decision_function_", "oob_prediction_")

    @_with_doc
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, callbacks=None):
        """Build a forest of trees from the training set (X, y).

        {X_parameter}
        y : array-like of shape (n_samples,)
            Class labels (classifier) or finite real targets (regressor).
        sample_weight : array-like of shape (n_samples,), default=None
            Finite non-negative weights, not all zero. With ``bootstrap=True`` they are the
            probabilities of drawing each sample (scikit-learn >= 1.6); without bootstrap every
            tree is fitted with them.
        {callbacks_parameter}

        Returns
        -------
        self : object
            The fitted forest. The previous fit's attributes stay until the new ones replace them
            all at once (a thread predicting meanwhile sees one fit or the other), and for good if
            fitting fails or is interrupted (Ctrl-C raises KeyboardInterrupt within tens of ms, mid-tree).
        """
        with published_when_fitted(self) as fitted:
            fitted._fit(X, y, sample_weight, Callbacks(callbacks))
        return self

    def _fit(self, X, y, sample_weight, callbacks):
        fit_start = time.perf_counter()
        self._check_supported_options()
        is_warm = self.warm_start and self.__sklearn_is_fitted__()
        n_threads = resolve_n_threads(self.n_jobs)
        X, y_labels = validate_fit_data(self, X, y, y_numeric=not is_classifier(self),
                                        categorical_features=self.categorical_features, reuse_categories=is_warm,
                                        multi_output=True)
        y_labels = as_targets(y_labels)
        n_samples, n_features = X.shape
        self.n_outputs_ = n_targets_of(y_labels)
        targets = self._encode_y(y_labels, is_warm)
        sample_weight = validate_sample_weight(sample_weight, X)
        sample_weight = self._apply_class_weight(y_labels, sample_weight)
        check_positive_total_weight(sample_weight)

        if not self.bootstrap and self.max_samples is not None:
            raise ValueError("`max_sample` cannot be set if `bootstrap=False`. Either switch to "
                             "`bootstrap=True` or set `max_sample=None`.")
        if not self.bootstrap and self.oob_score:
            raise ValueError("Out of bag estimation only available if bootstrap=True")
        n_previous = self._model.n_trees if is_warm else 0
        n_more = self.n_estimators - n_previous
        if n_more < 0:
            raise ValueError(f"n_estimators={self.n_estimators} must be larger or equal to "
                             f"len(estimators_)={n_previous} when warm_start==True")
        if n_more == 0:
            warnings.warn("Warm-start fitting without increasing n_estimators does not fit new trees.")
        previous_model = self._model if is_warm else None
        if is_warm and previous_model.n_features != n_features:
            raise ValueError(f"X has {n_features} features, but the forest being continued (warm_start=True) "
                             f"was trained with {previous_model.n_features}.")
        if not is_warm:
            self._seed = draw_seed(self.random_state)
        self._n_samples = n_samples
        self._n_samples_bootstrap = (
            n_samples_bootstrap(n_samples, self.max_samples, sample_weight) if self.bootstrap else None
        )
        self._sample_weight = sample_weight

        bin_mapper, binned = bin_training_data(X, self.max_bins, self._seed, n_threads, getattr(
            previous_model, "bin_mapper", None), self._category_bins)
        config = make_config(_core.ForestConfig(), self._config_values(n_samples, n_features, n_threads))
        trainer = _core.ForestTrainer(config, bin_mapper, binned, sample_weight=sample_weight,
                                      init_model=previous_model, **targets)
        del binned
        refuse_learning_rate_schedule(callbacks, self)
        callbacks.before_training(self)
        run_forest_batches(self, trainer, _TREES_PER_BATCH_PER_THREAD * n_threads, callbacks)
        self._model = trainer.model()
        if self.oob_score and (n_more > 0 or not hasattr(self, "oob_score_")):
            self._set_oob_score(trainer, targets, y_labels)
        if self.verbose:
            print(f"Fit {self._model.n_trees} trees in {time.perf_counter() - fit_start:.3f} s")
        callbacks.after_training(self)

    def _check_supported_options(self):
        """Raise ValueError for options the forest does not offer yet (the regressor's criteria)."""

    def _config_values(self, n_samples, n_features, n_threads):
        """Parameters -> attributes of the core's ForestConfig."""
        if self.monotonic_cst is not None and self.n_outputs_ > 1:
            raise ValueError("Monotonicity constraints are not supported with multiple output.")
        n_classes = int(np.max(self.n_classes_)) if is_classifier(self) else 0  # several targets: the most
        return {
            "criterion": self._core_criterion(),
            "n_classes": n_classes,
            "n_targets": int(self.n_outputs_),
            "bootstrap": bool(self.bootstrap),
            "n_samples_bootstrap": int(self._n_samples_bootstrap or 0),
            "max_features": max_features_count(self.max_features, n_features),
            "min_weight_fraction_leaf": float(self.min_weight_fraction_leaf),
            "min_impurity_decrease": float(self.min_impurity_decrease),
            "ccp_alpha": float(self.ccp_alpha),
            "balanced_subsample": bool(self.bootstrap and getattr(self, "class_weight", None) == "balanced_subsample"),
            "max_leaf_nodes": 0 if self.max_leaf_nodes is None else int(self.max_leaf_nodes),
            # scikit-learn's builders: best-first under a leaf limit, else depth-first, which keeps
            # histograms for O(depth) open leaves only (the same tree as any order without a limit).
            "grow_policy": "depthfirst" if self.max_leaf_nodes is None else "lossguide",
            "max_depth": 0 if self.max_depth is None else int(self.max_depth),
            "min_samples_leaf": count_of(self.min_samples_leaf, n_samples, 1),
            "min_samples_split": max(2, count_of(self.min_samples_split, n_samples, 2)),
            "seed": int(self._seed),
            "n_threads": int(n_threads),
            # Classifiers: on the share of the positive class, two classes only (scikit-learn's rule).
            "monotone": monotone_directions(self.monotonic_cst, n_features, getattr(self, "feature_names_in_", None),
                                            getattr(self, "is_categorical_", None), n_classes - 1 if n_classes else 1),
        }

    def _core_config(self):
        """The core config of the fitted forest (for bag draws after fit)."""
        values = self._config_values(self._n_samples, self.n_features_in_, 1)
        return make_config(_core.ForestConfig(), values)

    def _oob_predictions(self, trainer):
        sums, n_trees = trainer.oob_sums()
        if np.any(n_trees == 0):
            warnings.warn(
                "Some inputs do not have OOB scores. This probably means too few trees were used to "
                "compute any reliable OOB estimates.", UserWarning,
            )
        return sums / np.maximum(n_trees, 1)[:, np.newaxis]

    # ------------------------------------------------------------------------------ inspection

    @property
    @reads_one_fit
    def estimators_samples_(self):
        """list of ndarray: the in-bag sample indices of each tree.

        Each array holds every drawn index once per draw, sorted (scikit-learn lists them in
        draw order); without bootstrap, every index once. Regenerated from the seed on each access.
        """
        check_is_fitted(self)
        config = self._core_config()
        indices = np.arange(self._n_samples)
        return [
            np.repeat(indices, _core.forest_bag_counts(config, self._n_samples, self._sample_weight, tree))
            for tree in range(self._model.n_trees)
        ]

    @property
    @reads_one_fit
    def feature_importances_(self):
        """ndarray of shape (n_features,): impurity-based importances summing to 1.

        Each tree's total impurity decrease per feature, normalised per tree, averaged over the
        trees with at least one split, normalised again (scikit-learn's definition); all zeros when
        no tree has a split.
        """
        check_is_fitted(self)
        return forest_importances(self._model)

    @_with_doc
    @reads_one_fit
    def apply(self, X):
        """Leaf reached by every sample in every tree.

        {X_parameter}

        Returns
        -------
        X_leaves : ndarray of shape (n_samples, n_estimators), intp
            Node index (within its tree) of the leaf each sample reaches.
        """
        check_is_fitted(self)
        X = validate_predict_data(self, X)
        return self._model.predict_leaf(X, resolve_n_threads(self.n_jobs)).astype(np.intp)

    @_with_doc
    @reads_one_fit
    def decision_path(self, X):
        """Nodes every sample traverses in every tree.

        {X_parameter}

        Returns
        -------
        indicator : sparse matrix of shape (n_samples, n_nodes), CSR
            ``indicator[i, j]`` is 1 when sample i passes through node j; the nodes of tree t are
            the columns ``n_nodes_ptr[t]:n_nodes_ptr[t + 1]``.
        n_nodes_ptr : ndarray of shape (n_estimators + 1,)
        """
        return ensemble_decision_path(self, self.apply(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # y of several columns (_forest_data)
        return tags

    def _core_objective(self):
        base = "forest_classification" if is_classifier(self) else "forest_regression"
        return base if self.n_outputs_ == 1 else f"{base}:{self.n_outputs_}"

    def _check_restored(self):
        super()._check_restored()
        self._check_objective(self._core_objective())


@register_estimator
@_with_doc
class RandomForestRegressor(RegressorMixin, BaseForest):
    """A random forest regressor.

    A drop-in replacement of :class:`sklearn.ensemble.RandomForestRegressor`: the same
    parameters, defaults and fitted attributes, trained by treeforge's C++ core. ``estimators_``
    holds light views of the trees in the C++ model (see Attributes). ``max_bins`` is a treeforge extension.

    Parameters
    ----------
    n_estimators : int, default=100
        Number of trees.
    criterion : {'squared_error', 'friedman_mse', 'absolute_error', 'poisson'}, default='squared_error'
        Split quality: the decrease of the weighted squared error ('friedman_mse' chooses the same
        splits), of the weighted absolute deviation from the median ('absolute_error': leaves hold
        weighted medians; splits found exactly from the rows sorted by target, O(n log n) per node
        and feature, so fits are much slower than with squared error, as in scikit-learn), or of
        half the Poisson deviance ('poisson': non-negative y with a positive sum). 'absolute_error'
        and 'poisson' take numeric features, one output and no monotonic constraints.
    max_depth : int or None, default=None
        Maximum depth of the trees (the root has depth 0). None: grown until the other limits.
    {forest_parameters}
    max_features : {'sqrt', 'log2'}, int, float or None, default=1.0
        Candidate features drawn at every node: ``int(sqrt(n_features))``, ``int(log2(n_features))``,
        that many, that fraction of n_features (at least 1), or all.

    Attributes
    ----------
    oob_score_ : float
        R^2 of the out-of-bag predictions (only with ``oob_score``).
    oob_prediction_ : ndarray of shape (n_samples,)
        Mean prediction of the trees that did not draw each sample (0 where no tree left it out).
    {forest_attributes}

    See Also
    --------
    RandomForestClassifier : The classification counterpart.

    {notes}

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from treeforge import RandomForestRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> forest = RandomForestRegressor(n_estimators=50, oob_score=True, random_state=0).fit(X, y)
    >>> forest.predict(X[:3]).shape
    (3,)
    >>> bool(0.3 < forest.oob_score_ < 0.6)
    True
    """

    _parameter_constraints: dict = {
        **BaseForest._parameter_constraints,
        "criterion": [StrOptions({"squared_error", "absolute_error", "friedman_mse", "poisson"})],
    }

    def __init__(self, n_estimators=100, *, criterion="squared_error", max_depth=None, min_samples_split=2,
                 min_samples_leaf=1, min_weight_fraction_leaf=0.0, max_features=1.0, max_leaf_nodes=None,
                 min_impurity_decrease=0.0, bootstrap=True, oob_score=False, n_jobs=None, random_state=None,
                 verbose=0, warm_start=False, ccp_alpha=0.0, max_samples=None, monotonic_cst=None, max_bins=255,
                 categorical_features=None):
        store_init_arguments(self, locals())

    def _core_criterion(self):
        return "squared_error" if self.criterion == "friedman_mse" else self.criterion

    def _encode_y(self, y, is_warm):
        return {"y": np.ascontiguousarray(y, dtype=np.float64).ravel()}  # several targets: row-major

    def _apply_class_weight(self, y, sample_weight):
        return sample_weight

    def _set_oob_score(self, trainer, targets, y):
        predictions = self._oob_predictions(trainer)
        self.oob_prediction_ = predictions[:, 0] if self.n_outputs_ == 1 else predictions
        score = self.oob_score if callable(self.oob_score) else r2_score
        self.oob_score_ = score(np.asarray(y, dtype=np.float64), self.oob_prediction_)

    @_with_doc
    @reads_one_fit
    def predict(self, X):
        """Predict the target of X: the mean of the trees' predictions.

        {X_parameter}

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs), float64
        """
        margin = self._raw_margin(X)
        return margin[:, 0] if self.n_outputs_ == 1 else margin


@register_estimator
@_with_doc
class RandomForestClassifier(LogProbaMixin, ClassifierMixin, BaseForest):
    """A random forest classifier.

    A drop-in replacement of :class:`sklearn.ensemble.RandomForestClassifier`: the same
    parameters, defaults and fitted attributes, trained by treeforge's C++ core. ``estimators_``
    holds light views of the trees in the C++ model (see Attributes). Leaves hold class distributions (one tree for all
    classes); ``predict_proba`` is their mean. ``max_bins`` is a treeforge extension.

    Parameters
    ----------
    n_estimators : int, default=100
        Number of trees.
    criterion : {'gini', 'entropy', 'log_loss'}, default='gini'
        Split quality: the decrease of the weighted Gini impurity or of the entropy ('log_loss' is
        'entropy').
    max_depth : int or None, default=None
        Maximum depth of the trees (the root has depth 0). None: grown until the leaves are pure
        or the other limits stop them.
    {forest_parameters}
    max_features : {'sqrt', 'log2'}, int, float or None, default='sqrt'
        Candidate features drawn at every node: ``int(sqrt(n_features))``, ``int(log2(n_features))``,
        that many, that fraction of n_features (at least 1), or all.
    class_weight : {'balanced', 'balanced_subsample'}, dict or None, default=None
        Class weights multiplied into ``sample_weight``; 'balanced' uses the (weighted) class
        frequencies of y, 'balanced_subsample' those of each tree's bootstrap sample.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted.
    n_classes_ : int
        Number of classes.
    oob_score_ : float
        Accuracy of the out-of-bag predictions (only with ``oob_score``).
    oob_decision_function_ : ndarray of shape (n_samples, n_classes)
        Mean class distribution of the trees that did not draw each sample (0 where no tree left
        it out).
    {forest_attributes}

    See Also
    --------
    RandomForestRegressor : The regression counterpart.

    {notes}

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from treeforge import RandomForestClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> forest = RandomForestClassifier(n_estimators=50, oob_score=True, random_state=0).fit(X, y)
    >>> forest.predict_proba(X[:2]).shape
    (2, 2)
    >>> bool(forest.oob_score_ > 0.9)
    True
    """

    _parameter_constraints: dict = {
        **BaseForest._parameter_constraints,
        "criterion": [StrOptions({"gini", "entropy", "log_loss"})],
        "class_weight": [StrOptions({"balanced_subsample", "balanced"}), dict, list, None],
    }

    _io_fitted_attributes = BaseForest._io_fitted_attributes + ("classes_", "n_classes_")

    def __init__(self, n_estimators=100, *, criterion="gini", max_depth=None, min_samples_split=2, min_samples_leaf=1,
                 min_weight_fraction_leaf=0.0, max_features="sqrt", max_leaf_nodes=None, min_impurity_decrease=0.0,
                 bootstrap=True, oob_score=False, n_jobs=None, random_state=None, verbose=0, warm_start=False,
                 class_weight=None, ccp_alpha=0.0, max_samples=None, monotonic_cst=None, max_bins=255,
                 categorical_features=None):
        store_init_arguments(self, locals())

    def _core_criterion(self):
        return "gini" if self.criterion == "gini" else "entropy"

    def _encode_y(self, y, is_warm):
        if y.ndim == 2:
            return self._encode_targets(y, is_warm)
        classes, y_encoded = encode_classes(self, y)
        if is_warm and not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"warm_start=True needs the classes of the previous fit {self.classes_.tolist()!r}, "
                f"got {classes.tolist()!r}."
            )
        self.classes_ = classes
        self.n_classes_ = len(classes)
        return {"classes": y_encoded.astype(np.int32)}

    def _encode_targets(self, y, is_warm):
        classes, codes = encode_target_classes(self, y)
        previous = self.__dict__.get("classes_")
        if is_warm and not (isinstance(previous, list) and len(previous) == len(classes) and
                            all(np.array_equal(a, b) for a, b in zip(previous, classes))):
            raise ValueError("warm_start=True needs the classes of every output of the previous fit.")
        self.classes_ = classes
        self.n_classes_ = [len(labels) for labels in classes]
        return {"classes": codes.ravel()}  # row-major: each row's targets together

    def _apply_class_weight(self, y, sample_weight):
        class_weight = self.class_weight
        if class_weight is None:
            return sample_weight
        if y.ndim == 2:
            if class_weight == "balanced_subsample" and self.bootstrap:
                return sample_weight  # balanced per tree and target, in the core
            preset = "balanced" if class_weight == "balanced_subsample" else class_weight
            return target_sample_weight(preset, y, sample_weight)
        if isinstance(class_weight, list):
            raise ValueError("class_weight as a list (one dict per output) needs y of several outputs.")
        if not isinstance(class_weight, str):  # a dict keyed by label
            return apply_class_weight(class_weight, y, sample_weight)
        if self.warm_start:
            warnings.warn(
                'class_weight presets "balanced" or "balanced_subsample" are not recommended for '
                "warm_start if the fitted data differs from the full dataset."
            )
        if class_weight == "balanced_subsample" and self.bootstrap:
            return sample_weight  # balanced per tree, in the core
        expanded = balanced_class_weight(self.classes_, y, sample_weight)
        return expanded if sample_weight is None else sample_weight * expanded

    def _set_oob_score(self, trainer, targets, y):
        score = self.oob_score if callable(self.oob_score) else accuracy_score
        if self.n_outputs_ > 1:
            self.oob_decision_function_ = oob_decision_function(self._oob_predictions(trainer), self.n_outputs_)
            codes = targets["classes"].reshape(-1, self.n_outputs_)
            self.oob_score_ = oob_accuracy(codes, self.oob_decision_function_, score)
            return
        self.oob_decision_function_ = self._oob_predictions(trainer)
        self.oob_score_ = score(targets["classes"], np.argmax(self.oob_decision_function_, axis=1))

    def _check_restored(self):
        super()._check_restored()
        several = self.n_outputs_ > 1
        n_classes = [len(labels) for labels in self.classes_] if several else [len(self.classes_)]
        if (several != isinstance(self.classes_, list) or len(n_classes) != self.n_outputs_ or max(n_classes) < 2
                or self._model.n_outputs != self.n_outputs_ * max(n_classes)
                or list(np.atleast_1d(self.n_classes_)) != n_classes):
            raise ValueError("classes_ does not match the model's number of outputs.")

    @_with_doc
    @reads_one_fit
    def predict_proba(self, X):
        """Class probabilities: the mean of the trees' leaf class distributions.

        {X_parameter}

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), float64, or a list of n_outputs of them
            Rows sum to 1; columns follow ``classes_`` (of each output).
        """
        margin = self._raw_margin(X)
        return margin if self.n_outputs_ == 1 else target_probas(margin, self.n_classes_)

    @_with_doc
    @reads_one_fit
    def predict(self, X):
        """Predict the class of each sample: the highest mean probability.

        {X_parameter}

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Labels from ``classes_`` (of each output).
        """
        proba = self.predict_proba(X)
        if self.n_outputs_ > 1:
            return labels_of(self.classes_, proba)
        return self.classes_[np.argmax(proba, axis=1)]
