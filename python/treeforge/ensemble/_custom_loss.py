"""Losses given as callables: ``loss=f`` on the gradient boosting estimators.

``f(y_true, raw_prediction, sample_weight) -> (gradient, hessian)`` is called once per iteration
with the training rows' targets as the core sees them (float64: the regressor's y, the
classifier's class indices 0..K-1), their raw scores (float64, shape (n_rows,) for the regressor
and binary classifier, (n_rows, n_classes) for multiclass) and their weights (or None, given for
reference). It returns the first and second derivatives of the *unweighted* loss of each row with
respect to its raw score, of the raw score's shape; the fit multiplies them by the weights, as it
does for the built-in losses (in the same float32 rounding, so a custom copy of a built-in loss
grows the same trees). Hessians must be >= 0 and every value finite.

The core's objective only links the raw score to predictions: the identity for the regressor
(``predict`` gives the raw score), the sigmoid or softmax for the classifier (a loss on the log-odds
scale, as log loss or focal loss). The model starts from one Newton step from 0,
``-sum(w * g(0)) / sum(w * h(0))`` per output, which is the weighted mean of y for squared error.
"""

import numpy as np

from .. import _core


def callable_loss_name(estimator):
    """The name of the estimator's callable ``loss``, or None when the loss is a built-in one."""
    loss = getattr(estimator, "loss", None)
    if not callable(loss):
        return None
    return getattr(loss, "__name__", type(loss).__name__)


class CustomLoss:
    """The user's loss over the training rows: checked gradients for ``Booster.update``."""

    def __init__(self, estimator, train):
        self.function, self.name = estimator.loss, callable_loss_name(estimator)
        self.y, self.weight = train.y, train.weight
        self.n_outputs = int(estimator.n_trees_per_iteration_)

    def _derivatives(self, margin):
        """(gradient, hessian) of the loss at ``margin`` (n_rows, n_outputs), checked, unweighted."""
        raw = margin[:, 0] if self.n_outputs == 1 else margin
        returned = self.function(self.y, raw, self.weight)
        if not isinstance(returned, tuple) or len(returned) != 2:
            raise TypeError(f"loss {self.name!r} must return a tuple (gradient, hessian), got "
                            f"{type(returned).__name__}.")
        arrays = []
        for what, values in zip(("gradient", "hessian"), returned):
            try:
                values = np.asarray(values, dtype=np.float64)
            except (TypeError, ValueError):
                raise TypeError(f"loss {self.name!r} returned a {what} that is not an array of numbers.") from None
            if values.shape != raw.shape:
                raise ValueError(f"loss {self.name!r} returned a {what} of shape {values.shape}; the raw "
                                 f"prediction it was given has shape {raw.shape}, the {what} needs the same.")
            if not np.all(np.isfinite(values)):
                raise ValueError(f"loss {self.name!r} returned a {what} with NaN or infinity.")
            arrays.append(values.reshape(margin.shape[0], self.n_outputs))
        if np.any(arrays[1] < 0):
            raise ValueError(f"loss {self.name!r} returned a negative hessian; hessians must be >= 0.")
        return arrays

    def gradients(self, margin):
        """(gradient, hessian) for ``Booster.update``, (n_rows, n_outputs), weighted as the core
        weights its own losses (float32 derivative times the weight)."""
        gradient, hessian = self._derivatives(margin)
        if self.weight is None:
            return gradient, hessian
        w = self.weight[:, None]
        return gradient.astype(np.float32).astype(np.float64) * w, hessian.astype(np.float32).astype(np.float64) * w

    def base_score(self):
        """One Newton step from a raw score of 0 per output."""
        gradient, hessian = self._derivatives(np.zeros((self.y.shape[0], self.n_outputs)))
        w = np.ones(self.y.shape[0]) if self.weight is None else self.weight
        total_hessian = w @ hessian
        if np.any(total_hessian <= 0):
            raise ValueError(f"loss {self.name!r} has a zero total hessian at a raw score of 0: no starting score "
                             "can be taken from it.")
        return -(w @ gradient) / total_hessian


def with_base_score(model, base_score):
    """``model`` (no trees yet) starting from ``base_score`` instead of its objective's."""
    arrays = model.to_arrays()
    arrays["base_score"] = np.asarray(base_score, dtype=np.float64)
    return _core.Model.from_arrays(arrays)


def check_early_stopping(estimator, has_eval_set):
    """A callable loss has no loss the core can score: early stopping needs ``eval_set`` (and a
    callable ``eval_metric``) or a scorer. 'auto' is then off; True is a ValueError."""
    name = callable_loss_name(estimator)
    if name is None or not estimator.do_early_stopping_ or has_eval_set or estimator.scoring not in ("loss", None):
        return
    if estimator.early_stopping == "auto":
        estimator.do_early_stopping_ = False
        return
    raise ValueError(f"loss is the callable {name!r}, which the core cannot score for early stopping with "
                     "scoring='loss': pass eval_set with a callable eval_metric, or a scorer as scoring.")
