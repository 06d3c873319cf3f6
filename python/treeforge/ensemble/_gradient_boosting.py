"""Histogram gradient boosting estimators, scikit-learn drop-ins trained one iteration at a time by the core's Booster."""

import time
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context, is_classifier
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions

from .. import _core
from ..callback import BoostingProgress
from ._base import (
    N_JOBS_CONSTRAINT,
    CoreModelMixin,
    check_positive_total_weight,
    draw_seed,
    continued_bin_mapper,
    make_config,
    new_bin_mapper,
    published_when_fitted,
    reads_one_fit,
    resolve_n_threads,
    store_init_arguments,
    validate_predict_data,
    validate_sample_weight,
)
from ._class_labels import apply_class_weight, encode_classes, encode_known_classes
from ._boosting_outputs import BoostingOutputsMixin, ClassifierOutputsMixin
from ._boosting_progress import DataPart, ScoreRecorder, iteration_message
from ._boosting_start import (
    FitOptions,
    adopt_categories,
    check_init_model,
    check_init_score,
    output_major,
    resolve_init_model,
    validated_training_data,
)
from ._constraints import constraint_values
from ._contributions import ContributionsMixin
from ._docstrings import GRADIENT_BOOSTING_DOC_PARTS, fill_doc, with_doc_parts
from ._custom_loss import CustomLoss, check_early_stopping, with_base_score
from ._eval_sets import EvalRecorder, best_iteration, prepare_eval_sets
from ._model_io import register_estimator
from ._regression_losses import REGRESSION_LOSSES, check_regression_targets, regression_objective
from ._training_steps import Callbacks

# Early stopping is switched on by early_stopping='auto' above this many samples (scikit-learn's rule).
_AUTO_EARLY_STOPPING_MIN_SAMPLES = 10_000
# Parameters passed as they are to the core's config of categorical (set) splits (LightGBM's names).
_CATEGORICAL_SPLIT_KNOBS = ("cat_smooth", "cat_l2", "max_cat_threshold", "max_cat_to_onehot", "min_data_per_group")


_with_shared_doc = with_doc_parts(GRADIENT_BOOSTING_DOC_PARTS)


class BaseHistGradientBoosting(BoostingOutputsMixin, ContributionsMixin, CoreModelMixin, BaseEstimator):
    """Shared training and prediction of the two gradient boosting estimators (not public)."""

    _parameter_constraints: dict = {
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "max_leaf_nodes": [Interval(Integral, 2, None, closed="left"), None],
        "max_depth": [Interval(Integral, 1, None, closed="left"), None],
        "min_samples_leaf": [Interval(Integral, 1, None, closed="left")],
        "l2_regularization": [Interval(Real, 0, None, closed="left")],
        "max_features": [Interval(RealNotInt, 0, 1, closed="right")],
        "max_bins": [Interval(Integral, 2, 255, closed="both")],
        "categorical_features": ["array-like", StrOptions({"from_dtype"}), None],
        "monotonic_cst": ["array-like", dict, None],
        "interaction_cst": [list, tuple, StrOptions({"pairwise", "no_interactions"}), None],
        "warm_start": ["boolean"],
        "early_stopping": [StrOptions({"auto"}), "boolean"],
        "scoring": [str, callable, None],
        "validation_fraction": [
            Interval(RealNotInt, 0, 1, closed="neither"),
            Interval(Integral, 1, None, closed="left"),
            None,
        ],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "l1_regularization": [Interval(Real, 0, None, closed="left")],
        "min_split_gain": [Interval(Real, 0, None, closed="left")],
        "min_child_weight": [Interval(Real, 0, None, closed="left")],
        "subsample": [Interval(Real, 0, 1, closed="right")],
        "colsample_bytree": [Interval(Real, 0, 1, closed="right")],
        "n_jobs": N_JOBS_CONSTRAINT,
        "grow_policy": [StrOptions({"lossguide", "depthwise"})],
        "cat_smooth": [Interval(Real, 0, None, closed="left")],
        "cat_l2": [Interval(Real, 0, None, closed="left")],
        "max_cat_threshold": [Interval(Integral, 1, None, closed="left")],
        "max_cat_to_onehot": [Interval(Integral, 1, None, closed="left")],
        "min_data_per_group": [Interval(Integral, 1, None, closed="left")],
    }

    _io_fitted_attributes = CoreModelMixin._io_fitted_attributes + (
        "n_iter_", "n_trees_per_iteration_", "train_score_", "validation_score_",
        "do_early_stopping_", "_seed",
    )

    @_with_shared_doc
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None,
            callback=None, record_train_score=True, init_score=None, init_model=None, eval_set=None,
            eval_names=None, eval_sample_weight=None, eval_init_score=None, eval_metric=None, callbacks=None):
        """Fit the gradient boosting model.

        {X_parameter}
            Training samples, any real dtype (float32 is kept, else float64); NaN is missing.
        y : array-like of shape (n_samples,)
            Targets (class labels for the classifier); must be finite.
        sample_weight : array-like of shape (n_samples,), default=None
            Finite non-negative weights, not all zero. None gives every sample weight 1.
        X_val : {array-like, sparse matrix, DataFrame} of shape (n_val, n_features), default=None
            Validation samples for early stopping, used instead of ``validation_fraction``.
        y_val : array-like of shape (n_val,), default=None
            Targets of ``X_val``.
        sample_weight_val : array-like of shape (n_val,), default=None
            Weights of ``X_val``.
        callback : callable or None, default=None
            Called as ``callback(progress)`` after every iteration with a
            :class:`treeforge.callback.BoostingProgress` (progress display,
            checkpoints); an exception it raises aborts the fit.
        record_train_score : bool, default=True
            Whether ``train_score_`` scores the training rows after each iteration when a validation
            set decides early stopping (a pass over every training row each time). False leaves it
            empty; without a validation set the training score decides, and is always recorded.
        {init_score_parameter}
        {init_model_parameter}
        {eval_set_parameters}
        {callbacks_parameter}

        Returns
        -------
        self : object
            The fitted estimator. The previous fit's attributes stay until the new ones replace them
            all at once (a thread predicting meanwhile sees one fit or the other), and for good if
            fitting fails or is interrupted (Ctrl-C mid-iteration, or a callback or scorer raising).
        """
        options = FitOptions(callback, record_train_score, init_score, init_model, eval_set, eval_names,
                             eval_sample_weight, eval_init_score, eval_metric, callbacks)
        with published_when_fitted(self) as fitted:
            fitted._fit(X, y, sample_weight, (X_val, y_val, sample_weight_val), options)
        return self

    def _fit(self, X, y, sample_weight, validation, options):
        fit_start = time.perf_counter()
        self._check_supported_options()
        steps = Callbacks(options.callbacks, options.callback)  # checked before any work
        is_warm = self.warm_start and self.__sklearn_is_fitted__()
        if is_warm and self.max_iter < self.n_iter_:
            raise ValueError(
                f"max_iter={self.max_iter} must be larger than or equal to n_iter_={self.n_iter_} "
                "when warm_start==True."
            )
        init = None if options.init_model is None else resolve_init_model(self, options.init_model)
        if init is not None:
            adopt_categories(self, init)
        n_threads = resolve_n_threads(self.n_jobs)
        previous_model = self._model if is_warm else None if init is None else init._model
        X, y_labels = validated_training_data(self, X, y, reuse_categories=previous_model is not None,
                                              init_model=init)
        y = self._encode_y(y_labels)
        sample_weight = validate_sample_weight(sample_weight, X)
        sample_weight = self._finalize_sample_weight(sample_weight, y_labels)
        check_positive_total_weight(sample_weight)
        objective = self._objective()
        if is_warm:
            self._check_warm_start(previous_model, X, objective)
        else:
            self._seed = draw_seed(self.random_state)
        if init is not None:
            check_init_model(self, init, X.shape[1], objective)
        offset = check_init_score(options.init_score, X.shape[0], self.n_trees_per_iteration_)

        is_large = X.shape[0] > _AUTO_EARLY_STOPPING_MIN_SAMPLES
        self.do_early_stopping_ = is_large if self.early_stopping == "auto" else bool(self.early_stopping)
        check_early_stopping(self, options.eval_set is not None)
        data = DataPart(X, y, y_labels, sample_weight, offset=offset)
        eval_sets = prepare_eval_sets(self, options, validation, offset is not None)
        train, valid = (data, eval_sets.valid) if eval_sets else self._split_validation(data, *validation)

        bin_mapper, train_data, valid_data = self._binned(train, valid, previous_model, n_threads)
        if self.scoring == "loss" or eval_sets:  # only scorers read X again: a copy made by the validation is freed
            del X, data
            train = train._replace(X=None)

        def make_booster(model, learning_rate=None):  # the binned data is held by the booster anyway
            return self._new_booster(bin_mapper, train_data, train, valid_data, valid, model, n_threads, learning_rate)

        custom_loss = CustomLoss(self, train) if callable(self.loss) else None
        if custom_loss is not None and previous_model is None and train.offset is None:
            previous_model = with_base_score(make_booster(None).model(), custom_loss.base_score())
        booster = make_booster(previous_model)
        end = self.max_iter if init is None else init.n_iter_ + self.max_iter
        steps.before_training(self)
        booster = self._train_loop(booster, make_booster, train, valid, is_warm, n_threads, options.record_train_score,
                                   (steps, custom_loss), end, eval_sets)
        # Training buffers are released before the model is built: the end of fit peaks no higher.
        del make_booster, train_data, valid_data
        self._model = booster.finish()
        self.n_iter_ = self._model.n_iter
        if self.verbose:
            print(f"Fit {self._model.n_trees} trees in {time.perf_counter() - fit_start:.3f} s")
        steps.after_training(self)

    def _binned(self, train, valid, previous_model, n_threads):
        """(bin mapper, binned training rows, binned validation rows or None); a continued model's bins are kept."""
        if self.verbose:
            print(f"Binning {_size_gb(train):.3f} GB of training data: ", end="", flush=True)
        tic = time.perf_counter()
        if previous_model is not None:
            bin_mapper = continued_bin_mapper(previous_model.bin_mapper, self._category_bins)
        else:
            bin_mapper = new_bin_mapper(self.max_bins, self._seed, self._category_bins)
            bin_mapper.fit(train.X, n_threads, rows=train.rows)
        # Sparse X: features of fewer non-zero codes than a leaf's rows cannot split and are left out.
        train_data = bin_mapper.transform(train.X, n_threads, rows=train.rows, min_stored=self.min_samples_leaf)
        valid_data = None if valid is None else bin_mapper.transform(valid.X, n_threads)
        if self.verbose:
            print(f"{time.perf_counter() - tic:.3f} s")
        return bin_mapper, train_data, valid_data

    def _new_booster(self, bin_mapper, train_data, train, valid_data, valid, previous_model, n_threads,
                     learning_rate=None):
        """The core's Booster over the binned parts; offsets as base margins (zeros for a validation
        part without its own when the training rows have them: the core takes both or neither)."""
        values = self._config_values(self._objective(), n_threads)
        if learning_rate is not None:
            values["learning_rate"] = learning_rate
        config = make_config(_core.GbdtConfig(), values)
        margin, margin_valid = output_major(train.offset), None
        if valid is not None and train.offset is not None:
            offset = valid.offset
            margin_valid = output_major(np.zeros_like(margin, shape=(valid.n_samples, train.offset.shape[1]))
                                        if offset is None else offset)
        return _core.Booster(
            config, bin_mapper, train_data, train.y, train.weight, valid_data,
            None if valid is None else valid.y, None if valid is None else valid.weight, previous_model,
            margin, margin_valid, **self._query_groups(train, valid),
        )

    def _query_groups(self, train, valid):
        """The Booster's query groups of the parts (``group_begin``, ``group_begin_valid``): none
        but for the ranker."""
        return {}

    def _train_loop(self, booster, make_booster, train, valid, is_warm, n_threads, record_train_score, hooks, end,
                    eval_sets):
        """Grow iterations until the model has ``end``, scoring and stopping early if enabled, running
        the callbacks after each (a callable loss gives the gradients); returns the booster (made
        again when a schedule changes the rate on a core without ``set_learning_rate``)."""
        steps, custom_loss = hooks
        recorder, first_iteration, rate = None, booster.n_iter, float(self.learning_rate)
        if is_warm:
            self.train_score_ = list(self.train_score_)
            self.validation_score_ = list(self.validation_score_)
        else:
            self.train_score_, self.validation_score_ = [], []
        self.evals_result_ = {}
        if eval_sets is not None:
            recorder = EvalRecorder(self, booster, eval_sets, self.do_early_stopping_, record_train_score)
        elif self.do_early_stopping_:
            recorder = ScoreRecorder(self, booster, train, valid, n_threads, record_train_score)
        if self.do_early_stopping_ and not is_warm:
            recorder.start()  # scores of the initial model, before any tree
        if self.verbose:
            print("Fitting gradient boosted rounds:")
        for iteration in range(booster.n_iter, end):
            tic = time.perf_counter()
            if steps.scheduler is not None and steps.scheduler.learning_rate(iteration - first_iteration) != rate:
                rate = steps.scheduler.learning_rate(iteration - first_iteration)
                if hasattr(booster, "set_learning_rate"):
                    booster.set_learning_rate(rate)
                else:  # a core whose booster fixes its rate: a new one continues the model so far
                    booster = make_booster(booster.model(), rate)
                    if recorder is not None:
                        recorder.booster = booster
            if custom_loss is None:
                booster.update()  # a LongCall: Ctrl-C raises KeyboardInterrupt mid-iteration
            else:
                booster.update(*custom_loss.gradients(booster.train_margin()))
            should_stop = recorder.record() if recorder is not None else False
            if self.verbose >= 2:
                print(iteration_message(self, iteration, time.perf_counter() - tic, valid is not None))
            is_last = should_stop or iteration + 1 == end
            if steps and steps.after_iteration(self, BoostingProgress(self, booster, is_last, end)):
                break
            if should_stop:
                break
        self.train_score_ = np.asarray(self.train_score_, dtype=np.float64)
        self.validation_score_ = np.asarray(self.validation_score_, dtype=np.float64)
        self.best_iteration_ = best_iteration(recorder, self.validation_score_, first_iteration, is_warm)
        return booster

    def _check_supported_options(self):
        self._check_loss()

    def _check_warm_start(self, previous_model, X, objective):
        if X.shape[1] != previous_model.n_features:
            raise ValueError(
                f"X has {X.shape[1]} features, but the model being continued (warm_start=True) "
                f"was trained with {previous_model.n_features}."
            )
        if previous_model.objective != objective:
            raise ValueError(
                f"warm_start=True continues a model trained with objective "
                f"{previous_model.objective!r}; it cannot continue with {objective!r}."
            )

    def _split_validation(self, data, X_val, y_val, sample_weight_val):
        """(train, valid) ``DataPart``s: the given validation set, a split of ``data`` or None."""
        has_given_validation = X_val is not None or y_val is not None
        if has_given_validation:
            if X_val is None or y_val is None:
                raise ValueError("X_val and y_val must be passed together.")
            if self.early_stopping is False:
                raise ValueError("X_val and y_val are passed to fit while early_stopping is False.")
        if not self.do_early_stopping_:
            return data, None
        if has_given_validation:
            X_val = validate_predict_data(self, X_val)
            labels_val = np.asarray(y_val).reshape(-1)
            if labels_val.shape[0] != X_val.shape[0]:
                raise ValueError(f"X_val has {X_val.shape[0]} rows but y_val has {labels_val.shape[0]}.")
            y_val = self._encode_y_val(labels_val)
            if not np.all(np.isfinite(y_val)):
                raise ValueError("y_val contains NaN or infinity.")
            return data, DataPart(X_val, y_val, labels_val, validate_sample_weight(sample_weight_val, X_val))
        if self.validation_fraction is None:
            return data, None
        # The split as row numbers (the same rows train_test_split would give X): the training
        # rows are binned straight from X, without a copy of them.
        train_rows, valid_rows = train_test_split(
            np.arange(data.n_samples), test_size=self.validation_fraction, random_state=self._seed,
            stratify=data.y if is_classifier(self) else None,
        )
        train = data.take(train_rows, copy_X=False)
        if train.weight is not None:
            check_positive_total_weight(train.weight, "sample_weight of the training part")
        return train, data.take(valid_rows)

    def _config_values(self, objective, n_threads):
        """Parameters -> attributes of the core's GbdtConfig (those of set splits if a feature is categorical)."""
        values = {
            "objective": objective,
            "n_outputs": int(self.n_trees_per_iteration_),
            "learning_rate": float(self.learning_rate),
            "max_leaf_nodes": 0 if self.max_leaf_nodes is None else int(self.max_leaf_nodes),
            "max_depth": 0 if self.max_depth is None else int(self.max_depth),
            "min_samples_leaf": int(self.min_samples_leaf),
            "min_child_weight": float(self.min_child_weight),
            "l2_regularization": float(self.l2_regularization),
            "l1_regularization": float(self.l1_regularization),
            "min_split_gain": float(self.min_split_gain),
            "max_features": float(self.max_features),
            "colsample_bytree": float(self.colsample_bytree),
            "subsample": float(self.subsample),
            "grow_policy": str(self.grow_policy),
            "seed": int(self._seed),
            "n_threads": int(n_threads),
        }
        if self.is_categorical_ is not None:
            values.update({name: getattr(self, name) for name in _CATEGORICAL_SPLIT_KNOBS})
        values.update(constraint_values(self))
        return values

    def _finalize_sample_weight(self, sample_weight, y_labels):
        return sample_weight

    def _check_restored(self):
        super()._check_restored()
        if self._model.n_outputs != self.n_trees_per_iteration_:
            raise ValueError("n_trees_per_iteration_ does not match the model's number of outputs.")
        if self._model.n_iter != self.n_iter_:
            raise ValueError(f"n_iter_={self.n_iter_} but the model has {self._model.n_iter} iterations.")
        self._check_objective(self._objective())


@register_estimator
class HistGradientBoostingRegressor(RegressorMixin, BaseHistGradientBoosting):
    __doc__ = fill_doc("""Histogram-based gradient boosting regression trees.

    A drop-in replacement of :class:`sklearn.ensemble.HistGradientBoostingRegressor`: same
    parameters, defaults and fitted attributes, trained by treeforge's C++ core. Parameters after
    ``random_state`` are treeforge extensions with XGBoost/LightGBM meaning.

    Parameters
    ----------
    {regression_loss}
    {boosting_parameters}
    {extra_parameters}
    {regression_loss_parameters}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    HistGradientBoostingClassifier : The classification counterpart.

    {notes}

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.model_selection import train_test_split
    >>> from treeforge import HistGradientBoostingRegressor
    >>> data = train_test_split(*load_diabetes(return_X_y=True), random_state=0)
    >>> X_train, X_test, y_train, y_test = data
    >>> model = HistGradientBoostingRegressor(max_iter=50, random_state=0)
    >>> model.fit(X_train, y_train).predict(X_test).shape
    (111,)
    >>> [model.n_iter_, model.do_early_stopping_]
    [50, False]
    """, GRADIENT_BOOSTING_DOC_PARTS)

    _parameter_constraints: dict = {
        **BaseHistGradientBoosting._parameter_constraints,
        "loss": [StrOptions(set(REGRESSION_LOSSES)), callable],
        "quantile": [Interval(Real, 0, 1, closed="both"), None],  # 0 < quantile < 1 checked when loss uses it
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
        "tweedie_variance_power": [Interval(Real, 1, 2, closed="left")],
    }

    def __init__(self, loss="squared_error", *, quantile=None, learning_rate=0.1, max_iter=100,
                 max_leaf_nodes=31, max_depth=None, min_samples_leaf=20, l2_regularization=0.0,
                 max_features=1.0, max_bins=255, categorical_features="from_dtype", monotonic_cst=None,
                 interaction_cst=None, warm_start=False, early_stopping="auto", scoring="loss",
                 validation_fraction=0.1, n_iter_no_change=10, tol=1e-7, verbose=0, random_state=None,
                 l1_regularization=0.0, min_split_gain=0.0, min_child_weight=1e-3, subsample=1.0,
                 colsample_bytree=1.0, n_jobs=None, grow_policy="lossguide", cat_smooth=10.0, cat_l2=10.0,
                 max_cat_threshold=32, max_cat_to_onehot=4, min_data_per_group=100, huber_delta=1.0,
                 tweedie_variance_power=1.5):
        store_init_arguments(self, locals())

    def _check_loss(self):
        self._objective()  # a loss's missing parameter is named before any work

    def _objective(self):
        return regression_objective(self)

    def _link_objective(self):
        """The fitted model's objective (the configured one while scoring inside fit)."""
        model = getattr(self, "_model", None)
        return self._objective() if model is None else model.objective

    def _encode_y(self, y):
        self.n_trees_per_iteration_ = 1
        return check_regression_targets(self.loss, np.ascontiguousarray(y, dtype=np.float64))

    def _encode_y_val(self, y):
        y = np.ascontiguousarray(y, dtype=np.float64)
        return check_regression_targets(self.loss, y, "y_val", training=False)

    @_with_shared_doc
    @reads_one_fit
    def predict(self, X, iteration_range=None):
        """Predict the target of X.

        {X_parameter}
        {iteration_range_parameter}

        Returns
        -------
        y : ndarray of shape (n_samples,), float64
        """
        return _core.apply_link(self._link_objective(), self._margins(X, iteration_range)).reshape(-1)

    @_with_shared_doc
    @reads_one_fit
    def staged_predict(self, X):
        """Predict the target of X after each iteration (to monitor a held-out set).

        {X_parameter}

        Yields
        ------
        y : ndarray of shape (n_samples,), float64
            One array per iteration; the last equals ``predict(X)``.
        """
        for margin in self._staged_raw_margins(X):
            yield _core.apply_link(self._link_objective(), margin).reshape(-1)


@register_estimator
class HistGradientBoostingClassifier(ClassifierOutputsMixin, ClassifierMixin, BaseHistGradientBoosting):
    __doc__ = fill_doc("""Histogram-based gradient boosting classification trees.

    A drop-in replacement of :class:`sklearn.ensemble.HistGradientBoostingClassifier`: same
    parameters, defaults and fitted attributes, trained by treeforge's C++ core. Binary problems
    grow one tree per iteration, K > 2 classes grow K (softmax). Parameters after
    ``class_weight`` are treeforge extensions with XGBoost/LightGBM meaning.

    Parameters
    ----------
    loss : 'log_loss' or callable, default='log_loss'
        Binary or multinomial log loss; or a callable:
        {custom_loss}
    {boosting_parameters}
    class_weight : dict or 'balanced', default=None
        Weights of the classes, ``{class_label: weight}``, multiplied into ``sample_weight``.
        'balanced' uses ``n_samples / (n_classes * np.bincount(y))``.
    {extra_parameters}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted.
    {attributes}

    See Also
    --------
    HistGradientBoostingRegressor : The regression counterpart.

    {notes}

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from treeforge import HistGradientBoostingClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = HistGradientBoostingClassifier(max_iter=50, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    >>> bool(clf.score(X, y) > 0.95)
    True
    """, GRADIENT_BOOSTING_DOC_PARTS)

    _parameter_constraints: dict = {
        **BaseHistGradientBoosting._parameter_constraints,
        "loss": [StrOptions({"log_loss"}), callable],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    _io_fitted_attributes = BaseHistGradientBoosting._io_fitted_attributes + ("classes_",)

    def __init__(self, loss="log_loss", *, learning_rate=0.1, max_iter=100, max_leaf_nodes=31,
                 max_depth=None, min_samples_leaf=20, l2_regularization=0.0, max_features=1.0,
                 max_bins=255, categorical_features="from_dtype", monotonic_cst=None,
                 interaction_cst=None, warm_start=False, early_stopping="auto", scoring="loss",
                 validation_fraction=0.1, n_iter_no_change=10, tol=1e-7, verbose=0, random_state=None,
                 class_weight=None, l1_regularization=0.0, min_split_gain=0.0, min_child_weight=1e-3,
                 subsample=1.0, colsample_bytree=1.0, n_jobs=None, grow_policy="lossguide", cat_smooth=10.0,
                 cat_l2=10.0, max_cat_threshold=32, max_cat_to_onehot=4, min_data_per_group=100):
        store_init_arguments(self, locals())

    def _check_loss(self):
        pass  # 'log_loss' is the only value the parameter constraints accept

    def _objective(self):
        return "binary_logloss" if len(self.classes_) == 2 else "multiclass_softmax"

    def _encode_y(self, y):
        classes, y_encoded = encode_classes(self, y)
        if self.warm_start and self.__sklearn_is_fitted__() and not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"warm_start=True needs the classes of the previous fit {self.classes_.tolist()!r}, "
                f"got {classes.tolist()!r}."
            )
        self.classes_ = classes
        self.n_trees_per_iteration_ = 1 if len(classes) == 2 else len(classes)
        return y_encoded

    def _encode_y_val(self, y):
        return encode_known_classes(self.classes_, y)

    def _finalize_sample_weight(self, sample_weight, y_labels):
        return apply_class_weight(self.class_weight, y_labels, sample_weight)

    def _check_restored(self):
        super()._check_restored()
        expected_outputs = 1 if len(self.classes_) == 2 else len(self.classes_)
        if len(self.classes_) < 2 or self.n_trees_per_iteration_ != expected_outputs:
            raise ValueError("classes_ does not match the model's number of outputs.")


def _size_gb(part):
    """The size of a part's training rows of X: their stored values (and column indices) when sparse."""
    X = part.X
    if hasattr(X, "indices"):
        return part.n_samples / X.shape[0] * (X.data.nbytes + X.indices.nbytes) / 1e9
    return part.n_samples * X.shape[1] * X.dtype.itemsize / 1e9
