"""The regression losses of HistGradientBoostingRegressor: ``loss=`` and its parameter to the core's objective name, and the targets each loss accepts."""

import numpy as np

# loss= -> (core objective, the estimator parameter it takes or None). A parameter travels in the
# objective's name ("quantile:0.9"), so model files and pickles keep it with the model.
_OBJECTIVES = {
    "squared_error": ("squared_error", None),
    "absolute_error": ("absolute_error", None),
    "quantile": ("quantile", "quantile"),
    "huber": ("huber", "huber_delta"),
    "poisson": ("poisson", None),
    "gamma": ("gamma", None),
    "tweedie": ("tweedie", "tweedie_variance_power"),
}
REGRESSION_LOSSES = frozenset(_OBJECTIVES)


def regression_objective(estimator):
    """The core objective name of the estimator's ``loss`` and its parameter."""
    if callable(estimator.loss):  # its gradients come from Python; the core only links (identity)
        return "squared_error"
    objective, parameter = _OBJECTIVES[estimator.loss]
    if parameter is None:
        return objective
    value = getattr(estimator, parameter)
    if value is None:
        raise ValueError(f"loss={estimator.loss!r} needs {parameter}= (a float), got None.")
    if parameter == "quantile" and not 0 < value < 1:  # 0 and 1 pass the constraint, as scikit-learn's
        raise ValueError(f"The 'quantile' parameter must be in (0, 1) with loss='quantile', got {value!r}.")
    # repr of a float reads back as the same double in the core.
    return f"{objective}:{float(value)!r}"


def check_regression_targets(loss, y, name="y", *, training=True):
    """ValueError unless every target of ``y`` is in the loss's domain (finite is checked before)."""
    if loss == "gamma" and not np.all(y > 0):
        raise ValueError(f"loss='gamma' requires strictly positive {name}.")
    if loss in ("poisson", "tweedie"):
        if training and not (np.all(y >= 0) and np.sum(y) > 0):
            raise ValueError(f"loss={loss!r} requires non-negative {name} and sum({name}) > 0.")
        if not np.all(y >= 0):
            raise ValueError(f"loss={loss!r} requires non-negative {name}.")
    return y
