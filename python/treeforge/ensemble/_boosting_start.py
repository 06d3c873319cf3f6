"""Where a boosting fit starts: ``init_model`` (the trees of a fitted estimator or a model file,
continued on new data) and ``init_score`` (per-row offsets added to the raw score while training).

Both reach the core's ``Booster``: ``init_model`` as the model whose trees are kept and whose
predictions start the margins, ``init_score`` as base margins (output-major), with which the new
model's base score is 0, so that its predictions are the trees' part only (LightGBM's rule).
"""

import os
from typing import Any, NamedTuple

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils.validation import check_is_fitted

from ._base import validate_fit_data


class FitOptions(NamedTuple):
    """The keywords of a boosting ``fit`` beyond the data (all optional)."""

    callback: Any = None
    record_train_score: bool = True
    init_score: Any = None
    init_model: Any = None
    eval_set: Any = None
    eval_names: Any = None
    eval_sample_weight: Any = None
    eval_init_score: Any = None
    eval_metric: Any = None
    callbacks: Any = None


def resolve_init_model(estimator, init_model):
    """The fitted estimator ``init_model`` names (itself, or loaded from a model file), of the
    estimator's own class; TypeError/ValueError naming ``init_model`` otherwise."""
    if isinstance(init_model, (str, os.PathLike)):
        from ._model_io import load_model

        init_model = load_model(init_model)
    if type(init_model) is not type(estimator):
        raise TypeError(
            f"init_model must be a fitted {type(estimator).__name__} or the path of its model file, "
            f"got {type(init_model).__name__}."
        )
    check_is_fitted(init_model)
    if estimator.warm_start and estimator.__sklearn_is_fitted__():
        raise ValueError("init_model cannot be combined with warm_start=True continuing the previous fit: "
                         "pass one or the other.")
    return init_model


def adopt_categories(estimator, init_model):
    """Give the estimator the categories of ``init_model``, which the new data's codes must reuse
    (the model's trees split on those codes)."""
    for name in ("is_categorical_", "_categories", "_category_bins"):
        setattr(estimator, name, getattr(init_model, name, None))


def validated_training_data(estimator, X, y, *, reuse_categories, init_model=None):
    """``validate_fit_data`` of a boosting fit; the categories reused are those of the previous fit
    (warm start) or of ``init_model``, whose categorical features X must have."""
    try:
        return validate_fit_data(estimator, X, y, y_numeric=not is_classifier(estimator),
                                 categorical_features=estimator.categorical_features,
                                 reuse_categories=reuse_categories)
    except ValueError as exc:
        if init_model is None or not str(exc).startswith("warm_start=True continues"):
            raise
        raise ValueError("init_model" + str(exc)[len("warm_start=True"):]) from None


def check_init_model(estimator, init_model, n_features, objective):
    """ValueError naming ``init_model`` when its features, objective or classes disagree with the fit."""
    if init_model.n_features_in_ != n_features:
        raise ValueError(f"X has {n_features} features, but init_model was trained with "
                         f"{init_model.n_features_in_}.")
    names, init_names = getattr(estimator, "feature_names_in_", None), getattr(init_model, "feature_names_in_", None)
    if (names is None) != (init_names is None) or (names is not None and not np.array_equal(names, init_names)):
        raise ValueError(
            f"The feature names of X ({None if names is None else list(names)}) differ from those init_model "
            f"was trained with ({None if init_names is None else list(init_names)})."
        )
    if hasattr(init_model, "classes_") and not np.array_equal(init_model.classes_, estimator.classes_):
        raise ValueError(f"init_model was trained on the classes {init_model.classes_.tolist()!r}, "
                         f"y has {estimator.classes_.tolist()!r}.")
    if init_model._model.objective != objective:
        raise ValueError(f"init_model was trained with objective {init_model._model.objective!r}; "
                         f"this fit's is {objective!r}.")


def check_init_score(init_score, n_samples, n_outputs, what="init_score"):
    """The offsets as a float64 array of shape (n_samples, n_outputs), or None; ValueError naming
    ``what`` for another shape or a value that is not finite."""
    if init_score is None:
        return None
    try:
        score = np.asarray(init_score, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be an array of numbers: {exc}") from None
    given_shape = score.shape
    if score.ndim == 1 and n_outputs == 1:
        score = score.reshape(-1, 1)
    expected = f"({n_samples},)" if n_outputs == 1 else f"({n_samples}, {n_outputs})"
    if score.shape != (n_samples, n_outputs):
        raise ValueError(f"{what} must have shape {expected} (a raw score per row"
                         f"{'' if n_outputs == 1 else ' and class'}), got {given_shape}.")
    if not np.all(np.isfinite(score)):
        raise ValueError(f"{what} contains NaN or infinity.")
    return np.ascontiguousarray(score)


def output_major(offsets):
    """(n_rows, n_outputs) offsets as the core's base margins: (n_outputs * n_rows,), output-major."""
    return None if offsets is None else np.ascontiguousarray(offsets.T).reshape(-1)
