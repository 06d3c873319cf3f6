"""AdaBoost (SAMME and AdaBoost.R2), scikit-learn drop-ins boosted in the core's C++ loop, or in Python for a user's estimator."""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context, is_classifier
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.extmath import softmax
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, has_fit_parameter, validate_data

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
)
from ._class_labels import encode_classes
from ._contributions import ContributionsMixin
from ._docstrings import ADABOOST_DOC_PARTS, with_doc_parts
from ._importances import weighted_tree_importances
from ._model_io import register_estimator
from ._training_steps import Callbacks, refuse_learning_rate_schedule, run_adaboost_rounds
from ._tree_view import TreeEnsembleMixin
from ._user_boosting import OVERFLOW_WARNING, fit_user_rounds, make_estimator, resampled_rows

_with_doc = with_doc_parts(ADABOOST_DOC_PARTS)


class BaseWeightBoosting(ContributionsMixin, TreeEnsembleMixin, CoreModelMixin, BaseEstimator):
    """Shared fitting, staging and importances of the two AdaBoost estimators (not public).

    With ``estimator=None`` every round runs in the core (``_core.AdaBoostTrainer``) and the
    ensemble is one ``_core.Model`` (``self._model``). With a user's estimator the rounds run in
    Python exactly as scikit-learn's, and ``estimators_`` holds the fitted copies.
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
        "n_jobs": N_JOBS_CONSTRAINT,
        "max_bins": [Interval(Integral, 2, 255, closed="both")],
        "categorical_features": ["array-like", StrOptions({"from_dtype"}), None],
    }

    _io_fitted_attributes = CoreModelMixin._io_fitted_attributes + (
        "estimator_weights_", "estimator_errors_", "_seed",
    )

    def __sklearn_is_fitted__(self):
        return getattr(self, "_model", None) is not None or getattr(self, "estimators_", None) is not None

    @_with_doc
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, *, callbacks=None):
        """Build a boosted ensemble from the training set (X, y).

        {X_parameter}
        y : array-like of shape (n_samples,)
            Class labels (classifier) or finite real targets (regressor).
        sample_weight : array-like of shape (n_samples,), default=None
            Initial weights D_1, normalised to sum 1. None gives every sample ``1 / n_samples``.
        {callbacks_parameter}

        Returns
        -------
        self : object
            The fitted estimator. The previous model and fitted attributes stay until the new ones
            replace them all at once (a thread predicting meanwhile sees either), and for good if
            fitting fails or is interrupted (KeyboardInterrupt).
        """
        with published_when_fitted(self) as fitted:
            fitted._fit(X, y, sample_weight, Callbacks(callbacks))
        return self

    def _fit(self, X, y, sample_weight, callbacks):
        if self.estimator is None:
            X, y_labels = validate_fit_data(self, X, y, y_numeric=not is_classifier(self),
                                            categorical_features=self.categorical_features)
        else:
            X, y_labels = self._check_X(X, y)
        targets = self._encode_y(y_labels)
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64, copy=True, ensure_non_negative=True)
        check_positive_total_weight(sample_weight)
        sample_weight /= sample_weight.sum()
        self._seed = draw_seed(self.random_state)
        self._model, self.estimators_ = None, None
        refuse_learning_rate_schedule(callbacks, self)
        if self.estimator is None:
            self._fit_core(X, targets, sample_weight, callbacks)
        else:
            callbacks.before_training(self)
            fit_user_rounds(self, X, y_labels, sample_weight, callbacks)
        callbacks.after_training(self)

    def _fit_core(self, X, targets, sample_weight, callbacks):
        n_threads = resolve_n_threads(self.n_jobs)
        bin_mapper, binned = bin_training_data(X, self.max_bins, self._seed, n_threads, None, self._category_bins)
        values = dict(self._core_config_values(), n_estimators=int(self.n_estimators),
                      learning_rate=float(self.learning_rate), seed=int(self._seed), n_threads=int(n_threads),
                      min_samples_leaf=1, min_samples_split=2, max_leaf_nodes=0)
        config = make_config(_core.AdaBoostConfig(), values)
        trainer = _core.AdaBoostTrainer(config, bin_mapper, binned, sample_weight=sample_weight, **targets)
        del binned
        callbacks.before_training(self)
        run_adaboost_rounds(self, trainer, callbacks)
        self._model = trainer.model()
        self.estimator_weights_ = trainer.estimator_weights
        self.estimator_errors_ = trainer.estimator_errors
        if trainer.stop_reason == "weight_overflow":
            warnings.warn(OVERFLOW_WARNING.format(trainer.n_trees - 1), stacklevel=3)

    def _check_X(self, X, y=None):
        """X (and, at fit, y) as the default trees read it, or for a user's estimator as scikit-learn's
        AdaBoost checks it, not converted: any dtype and dimensionality, its own categories."""
        if y is None and self._model is not None:
            return validate_predict_data(self, X)
        checks = dict(accept_sparse=["csr", "csc"], ensure_2d=True, allow_nd=True, dtype=None)
        if y is None:
            return validate_data(self, X, reset=False, **checks)
        if self.categorical_features is not None:
            raise ValueError(f"categorical_features={self.categorical_features!r} applies to the default trees "
                             "(estimator=None); a user's estimator gets X as it is and handles categories itself.")
        self.is_categorical_ = self._categories = self._category_bins = None
        return validate_data(self, X, y, y_numeric=not is_classifier(self), **checks)

    def _n_fitted(self):
        return self._model.n_trees if self._model is not None else len(self.estimators_)

    @property
    @reads_one_fit
    def feature_importances_(self):
        """ndarray of shape (n_features,): estimator-weighted mean of the trees' normalised importances.

        ``sum_m alpha_m * importances_m / sum_m alpha_m`` (scikit-learn's definition).
        """
        check_is_fitted(self)
        if self._model is not None:
            return weighted_tree_importances(self._model, self.estimator_weights_)
        norm = self.estimator_weights_.sum()
        try:
            return sum(w * e.feature_importances_ for w, e in zip(self.estimator_weights_, self.estimators_)) / norm
        except AttributeError as exc:
            raise AttributeError("Unable to compute feature importances since estimator does not have a "
                                 "feature_importances_ attribute") from exc

    @_with_doc
    def staged_score(self, X, y, sample_weight=None):
        """Score (accuracy or R^2) after each round, to monitor a held-out set.

        {X_parameter}
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Yields
        ------
        score : float
        """
        score = accuracy_score if is_classifier(self) else r2_score
        for y_pred in self.staged_predict(X):
            yield score(y, y_pred, sample_weight=sample_weight)

    def _model_to_arrays(self):
        if self._model is None:
            raise TypeError(f"{type(self).__name__} with a user estimator cannot be written to a model file; "
                            "pickle it instead.")
        return super()._model_to_arrays()

    def _check_restored(self):
        super()._check_restored()
        self._check_objective(self._core_objective())
        if self.estimator_weights_.shape != (self.n_estimators,) or self._model.n_trees > self.n_estimators:
            raise ValueError("estimator_weights_ does not match n_estimators and the model's trees.")
        # SAMME decisions divide by sums of these weights (the core's weighted median reads its own
        # copy): a fit leaves the model's tree weights, then zeros; anything else is a damaged file.
        weights, n_trees, tree_weights = self.estimator_weights_, self._model.n_trees, self._model.tree_weights
        matches_model = not len(tree_weights) or np.array_equal(weights[:n_trees], tree_weights)
        if (weights.dtype.kind != "f" or not np.isfinite(weights).all() or (weights < 0).any()
                or weights[n_trees:].any() or not matches_model):
            raise ValueError("estimator_weights_ must be the model's tree weights (finite, >= 0), then zeros.")
        self.estimators_ = None


@register_estimator
@_with_doc
class AdaBoostClassifier(LogProbaMixin, ClassifierMixin, BaseWeightBoosting):
    """An AdaBoost classifier (SAMME, multi-class).

    A drop-in replacement of :class:`sklearn.ensemble.AdaBoostClassifier`: the same parameters,
    defaults and fitted attributes. A user's estimator is boosted by scikit-learn's rules in a
    Python loop (X passed as given, of any dimensionality). With ``estimator=None`` the base
    learner is a treeforge histogram stump and every round runs in C++; its thresholds are bin
    edges rather than midpoints, so results are close to scikit-learn's, not equal: on held-out
    quarters with 50 rounds, the predictions agreed on 100% of rows (iris, wine), 94.4% (breast
    cancer) and 92.2% (a generated 3-class task), at equal or better accuracy, and the first
    estimator weights agreed to 3 decimals.
    ``sampling``, ``n_jobs`` and ``max_bins`` are treeforge extensions.

    Round m fits a tree to the weights D_m, computes its weighted error e_m, its weight
    ``alpha_m = learning_rate * (log((1 - e_m) / e_m) + log(K - 1))`` and multiplies the weights
    of misclassified samples by ``exp(alpha_m)``. Boosting stops when a round is perfect (kept,
    weight 1) or no better than chance (``e_m >= 1 - 1/K``: dropped; an error if it is the first).

    Parameters
    ----------
    estimator : object, default=None
        Base learner with ``fit`` and ``predict``. None: a treeforge decision stump (depth 1),
        boosted in C++.
    n_estimators : int, default=50
        Maximum number of rounds.
    learning_rate : float, default=1.0
        Multiplies every estimator weight.
    random_state : int, RandomState instance or None, default=None
        Seed of the binning sample, of the resampling draws and of a user estimator's seeds.
    sampling : {'reweight', 'resample'}, default='reweight'
        'reweight' fits every round's tree with the weights D_m (scikit-learn's way);
        'resample' fits it on n samples drawn from D_m with replacement (unweighted). A user
        estimator without ``sample_weight`` is always resampled.
    {core_parameters}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted.
    n_classes_ : int
        Number of classes.
    {fitted_attributes}

    See Also
    --------
    AdaBoostRegressor : AdaBoost.R2 for regression.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from treeforge import AdaBoostClassifier
    >>> X, y = make_classification(n_samples=1000, n_features=4, n_informative=2, n_redundant=0,
    ...                            random_state=0, shuffle=False)
    >>> clf = AdaBoostClassifier(n_estimators=100, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    >>> bool(clf.score(X, y) > 0.9)
    True
    """

    _parameter_constraints: dict = {
        **BaseWeightBoosting._parameter_constraints,
        "sampling": [StrOptions({"reweight", "resample"})],
    }

    _io_fitted_attributes = BaseWeightBoosting._io_fitted_attributes + ("classes_", "n_classes_")

    def __init__(self, estimator=None, *, n_estimators=50, learning_rate=1.0, random_state=None,
                 sampling="reweight", n_jobs=None, max_bins=255, categorical_features=None):
        store_init_arguments(self, locals())

    @staticmethod
    def _core_objective():
        return "adaboost_samme"

    def _core_config_values(self):
        # One class: the core boosts two (the second absent), its first tree is perfect and ends it.
        return {"criterion": "gini", "n_classes": max(2, len(self.classes_)), "max_depth": 1,
                "resample": self.sampling == "resample"}

    def _encode_y(self, y):
        self.classes_, y_encoded = encode_classes(self, y, min_classes=1)
        self.n_classes_ = len(self.classes_)
        return {"classes": y_encoded.astype(np.int32)}

    def _boost(self, iboost, X, y, sample_weight, random_state):
        """One SAMME round with a user's estimator (scikit-learn's AdaBoostClassifier._boost)."""
        estimator = make_estimator(self, random_state)
        if self.sampling == "resample" or not has_fit_parameter(estimator, "sample_weight"):
            rows = resampled_rows(sample_weight, random_state)
            estimator.fit(X[rows], y[rows])
        else:
            estimator.fit(X, y, sample_weight=sample_weight)
        incorrect = estimator.predict(X) != y
        estimator_error = np.mean(np.average(incorrect, weights=sample_weight, axis=0))
        if estimator_error <= 0:
            return sample_weight, 1.0, 0.0
        n_classes = self.n_classes_
        if estimator_error >= 1.0 - 1.0 / n_classes:
            self.estimators_.pop(-1)
            if not self.estimators_:
                raise ValueError("BaseClassifier in AdaBoostClassifier ensemble is worse than random, ensemble "
                                 "can not be fit.")
            return None, None, None
        estimator_weight = self.learning_rate * (
            np.log((1.0 - estimator_error) / estimator_error) + np.log(n_classes - 1.0)
        )
        if iboost != self.n_estimators - 1:
            sample_weight = np.exp(np.log(sample_weight) + estimator_weight * incorrect * (sample_weight > 0))
        return sample_weight, estimator_weight, estimator_error

    def _staged_votes(self, X):
        """Yield (sum of the SAMME votes of the first m estimators, their total weight), m = 1, 2, ..."""
        check_is_fitted(self)
        X = self._check_X(X)
        votes, norm = None, 0.0
        if self._model is not None:
            n_threads = resolve_n_threads(self.n_jobs)
            for m in range(self._model.n_trees):
                step = self._model.predict_margin(X, n_threads, m, m + 1)
                votes = step if votes is None else votes + step
                norm += self.estimator_weights_[m]
                yield votes, norm
            return
        k = self.n_classes_
        for weight, estimator in zip(self.estimator_weights_, self.estimators_):
            step = np.where((estimator.predict(X) == self.classes_[:, np.newaxis]).T, weight, -weight / max(k - 1, 1))
            votes = step if votes is None else votes + step
            norm += weight
            yield votes, norm

    def _decision(self, votes, norm):
        if self.n_classes_ == 1:  # scikit-learn's decision for a single class
            return np.zeros((votes.shape[0], 1))
        decision = votes / norm
        return decision[:, 1] - decision[:, 0] if self.n_classes_ == 2 else decision

    def _proba(self, decision):
        if self.n_classes_ == 1:
            return np.ones((decision.shape[0], 1))
        if self.n_classes_ == 2:
            decision = np.vstack([-decision, decision]).T / 2
        else:
            decision = decision / (self.n_classes_ - 1)
        return softmax(decision, copy=False)

    def _label(self, decision):
        if self.n_classes_ == 2:
            return self.classes_.take(decision > 0, axis=0)
        return self.classes_.take(np.argmax(decision, axis=1), axis=0)

    @_with_doc
    @reads_one_fit
    def decision_function(self, X):
        """Weighted SAMME vote of the estimators, divided by the sum of their weights.

        {X_parameter}

        Returns
        -------
        score : ndarray of shape (n_samples,) for two classes, else (n_samples, n_classes), float64
            For two classes, positive values favour ``classes_[1]``.
        """
        check_is_fitted(self)
        if self._model is not None:
            votes = self._model.predict_margin(validate_predict_data(self, X), resolve_n_threads(self.n_jobs))
            return self._decision(votes, self.estimator_weights_.sum())
        for votes, norm in self._staged_votes(X):
            pass
        return self._decision(votes, self.estimator_weights_.sum())

    @_with_doc
    @reads_one_fit
    def staged_decision_function(self, X):
        """:meth:`decision_function` after each round.

        {X_parameter}

        Yields
        ------
        score : ndarray of shape (n_samples,) or (n_samples, n_classes), float64
        """
        for votes, norm in self._staged_votes(X):
            yield self._decision(votes, norm)

    @_with_doc
    @reads_one_fit
    def predict(self, X):
        """Predict the class of each sample (largest decision).

        {X_parameter}

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        return self._label(self.decision_function(X))

    @_with_doc
    @reads_one_fit
    def staged_predict(self, X):
        """Predicted classes after each round.

        {X_parameter}

        Yields
        ------
        y : ndarray of shape (n_samples,)
        """
        for decision in self.staged_decision_function(X):
            yield self._label(decision)

    @_with_doc
    @reads_one_fit
    def predict_proba(self, X):
        """Class probabilities: ``softmax(decision / (K - 1))`` (Zhu et al., 2009).

        {X_parameter}

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), float64
        """
        return self._proba(self.decision_function(X))

    @_with_doc
    @reads_one_fit
    def staged_predict_proba(self, X):
        """Class probabilities after each round.

        {X_parameter}

        Yields
        ------
        proba : ndarray of shape (n_samples, n_classes), float64
        """
        for decision in self.staged_decision_function(X):
            yield self._proba(decision)

    def _check_restored(self):
        super()._check_restored()
        if self._model.n_outputs != max(2, len(self.classes_)):
            raise ValueError("classes_ does not match the model's number of outputs.")
        if type(self.n_classes_) is not int or self.n_classes_ != len(self.classes_):  # decisions branch on it
            raise ValueError("n_classes_ must be the number of classes_.")
        if len(self.classes_) > 1 and not (self.estimator_weights_[:self._model.n_trees] > 0).all():
            raise ValueError("estimator_weights_ of a SAMME tree must be > 0 (decisions divide by their sums).")


@register_estimator
@_with_doc
class AdaBoostRegressor(RegressorMixin, BaseWeightBoosting):
    """An AdaBoost regressor (AdaBoost.R2).

    A drop-in replacement of :class:`sklearn.ensemble.AdaBoostRegressor`: the same parameters,
    defaults and fitted attributes. A user's estimator is boosted by scikit-learn's rules in a
    Python loop (X passed as given). With ``estimator=None`` the base learner is a treeforge
    histogram tree of depth 3 and every round, its weighted resampling included, runs in C++ with
    its own random draws and bin-edge thresholds: predictions are close to scikit-learn's, not
    equal (held-out quarters, 50 rounds: correlation 0.981 on diabetes, R^2 0.285 against 0.289;
    0.954 on a generated task, R^2 0.724 against 0.717). ``n_jobs`` and
    ``max_bins`` are treeforge extensions.

    Round m draws n samples from the weights D_m with replacement, fits a tree to them, scales
    every sample's absolute error by the largest one and applies the loss, giving the weighted
    error e_m; ``beta_m = e_m / (1 - e_m)``, the estimator weight is
    ``learning_rate * log(1 / beta_m)`` and every weight is multiplied by
    ``beta_m ** ((1 - error_i) * learning_rate)``. Predictions are the weighted median of the trees.
    Boosting stops on a perfect round (kept, weight 1) or when ``e_m >= 0.5`` (dropped unless first).

    Parameters
    ----------
    estimator : object, default=None
        Base learner with ``fit`` and ``predict``. None: a treeforge regression tree of depth 3,
        boosted in C++.
    n_estimators : int, default=50
        Maximum number of rounds.
    learning_rate : float, default=1.0
        Multiplies every estimator weight and the exponent of the weight update.
    loss : {'linear', 'square', 'exponential'}, default='linear'
        How the scaled absolute error x of a sample counts: x, x ** 2 or 1 - exp(-x).
    random_state : int, RandomState instance or None, default=None
        Seed of the binning sample, of the resampling draws and of a user estimator's seeds.
    {core_parameters}

    Attributes
    ----------
    {fitted_attributes}

    See Also
    --------
    AdaBoostClassifier : SAMME for classification.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from treeforge import AdaBoostRegressor
    >>> X, y = make_regression(n_features=4, n_informative=2, random_state=0, shuffle=False)
    >>> regr = AdaBoostRegressor(n_estimators=100, random_state=0).fit(X, y)
    >>> regr.predict(X[:2]).shape
    (2,)
    >>> bool(regr.score(X, y) > 0.9)
    True
    """

    _parameter_constraints: dict = {
        **BaseWeightBoosting._parameter_constraints,
        "loss": [StrOptions({"linear", "square", "exponential"})],
    }

    def __init__(self, estimator=None, *, n_estimators=50, learning_rate=1.0, loss="linear", random_state=None,
                 n_jobs=None, max_bins=255, categorical_features=None):
        store_init_arguments(self, locals())

    @staticmethod
    def _core_objective():
        return "adaboost_r2"

    def _core_config_values(self):
        return {"criterion": "squared_error", "n_classes": 0, "max_depth": 3, "loss": self.loss, "resample": True}

    def _encode_y(self, y):
        return {"y": np.ascontiguousarray(y, dtype=np.float64)}

    def _boost(self, iboost, X, y, sample_weight, random_state):
        """One AdaBoost.R2 round with a user's estimator (scikit-learn's AdaBoostRegressor._boost)."""
        estimator = make_estimator(self, random_state)
        rows = resampled_rows(sample_weight, random_state)
        estimator.fit(X[rows], y[rows])
        error_vect = np.abs(estimator.predict(X) - y)
        sample_mask = sample_weight > 0
        masked_sample_weight = sample_weight[sample_mask]
        masked_error_vector = error_vect[sample_mask]
        error_max = masked_error_vector.max()
        if error_max != 0:
            masked_error_vector /= error_max
        if self.loss == "square":
            masked_error_vector **= 2
        elif self.loss == "exponential":
            masked_error_vector = 1.0 - np.exp(-masked_error_vector)
        estimator_error = (masked_sample_weight * masked_error_vector).sum()
        if estimator_error <= 0:
            return sample_weight, 1.0, 0.0
        if estimator_error >= 0.5:
            if len(self.estimators_) > 1:
                self.estimators_.pop(-1)
            return None, None, None
        beta = estimator_error / (1.0 - estimator_error)
        estimator_weight = self.learning_rate * np.log(1.0 / beta)
        if iboost != self.n_estimators - 1:
            sample_weight[sample_mask] *= np.power(beta, (1.0 - masked_error_vector) * self.learning_rate)
        return sample_weight, estimator_weight, estimator_error

    def _median_predict(self, X, limit):
        """Weighted median of the first ``limit`` estimators' predictions (X validated)."""
        if self._model is not None:
            return self._model.predict_margin(X, resolve_n_threads(self.n_jobs), 0, limit)[:, 0]
        predictions = np.array([est.predict(X) for est in self.estimators_[:limit]]).T
        sorted_idx = np.argsort(predictions, axis=1)
        weight_cdf = np.cumsum(self.estimator_weights_[sorted_idx], axis=1)
        median_or_above = weight_cdf >= 0.5 * weight_cdf[:, -1][:, np.newaxis]
        median_idx = median_or_above.argmax(axis=1)
        rows = np.arange(X.shape[0])
        return predictions[rows, sorted_idx[rows, median_idx]]

    @_with_doc
    @reads_one_fit
    def predict(self, X):
        """Predict the target of X: the estimator-weighted median of the trees' predictions.

        {X_parameter}

        Returns
        -------
        y : ndarray of shape (n_samples,), float64
        """
        check_is_fitted(self)
        return self._median_predict(self._check_X(X), self._n_fitted())

    @_with_doc
    @reads_one_fit
    def staged_predict(self, X):
        """Predictions after each round (weighted median of the first m estimators).

        {X_parameter}

        Yields
        ------
        y : ndarray of shape (n_samples,), float64
        """
        check_is_fitted(self)
        X = self._check_X(X)
        for limit in range(1, self._n_fitted() + 1):
            yield self._median_predict(X, limit)

