"""What the gradient boosting estimators give from their core model beyond training: the margins
of a range of iterations (``iteration_range``, as XGBoost's), the leaves each sample reaches
(``apply``, as scikit-learn's GradientBoosting*), and the classifier's classes, probabilities and
scores, whole or staged."""

import numpy as np

from .. import _core
from ._base import reads_one_fit, resolve_n_threads, validate_predict_data
from ._docstrings import GRADIENT_BOOSTING_DOC_PARTS, with_doc_parts

_with_shared_doc = with_doc_parts(GRADIENT_BOOSTING_DOC_PARTS)


class BoostingOutputsMixin:
    """Margins of a range of iterations and leaf indices, for both gradient boosting estimators."""

    def _margins(self, X, iteration_range):
        """Margins of X from the iterations [begin, end) of ``iteration_range``, or all when None."""
        if iteration_range is None:
            return self._raw_margin(X)
        begin, end = _checked_range(iteration_range, self.n_iter_)
        X = validate_predict_data(self, X)
        return self._model.predict_margin(X, resolve_n_threads(self.n_jobs), begin, end)

    @_with_shared_doc
    @reads_one_fit
    def apply(self, X):
        """The leaf each sample reaches in every tree.

        {X_parameter}

        Returns
        -------
        leaves : ndarray of shape (n_samples, n_iter_, n_trees_per_iteration_), int32
            Node indices of the leaves (as in ``trees_to_dataframe``), tree by tree as scikit-learn's
            GradientBoosting*.apply lays them out.
        """
        X = validate_predict_data(self, X)
        leaves = self._model.predict_leaf(X, resolve_n_threads(self.n_jobs))
        return leaves.reshape(X.shape[0], self.n_iter_, self.n_trees_per_iteration_)


def _checked_range(iteration_range, n_iter):
    """(begin, end) of an iteration range, or a ValueError naming it."""
    try:
        begin, end = (int(bound) for bound in iteration_range)
        valid = list(iteration_range) == [begin, end]
    except (TypeError, ValueError):
        valid = False
    if not valid or not 0 <= begin < end <= n_iter:
        raise ValueError(f"iteration_range must be a pair (begin, end) of integers with 0 <= begin < end <= "
                         f"n_iter_ = {n_iter}, got {iteration_range!r}.")
    return begin, end


class ClassifierOutputsMixin:
    """The classifier's outputs from margins: classes, probabilities and decision scores."""

    def _margin_to_proba(self, margin):
        if margin.shape[1] == 1:
            positive = _core.apply_link("binary_logloss", margin).reshape(-1)
            return np.column_stack([1.0 - positive, positive])
        return _core.apply_link("multiclass_softmax", margin)

    @staticmethod
    def _margin_to_decision(margin):
        return margin.reshape(-1) if margin.shape[1] == 1 else margin

    def _margin_to_class(self, margin):
        if margin.shape[1] == 1:
            return self.classes_[(margin.reshape(-1) > 0).astype(np.intp)]
        return self.classes_[np.argmax(margin, axis=1)]

    @_with_shared_doc
    @reads_one_fit
    def predict(self, X, iteration_range=None):
        """Predict the class of each sample.

        {X_parameter}
        {iteration_range_parameter}

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        return self._margin_to_class(self._margins(X, iteration_range))

    @_with_shared_doc
    @reads_one_fit
    def predict_proba(self, X, iteration_range=None):
        """Predict class probabilities.

        {X_parameter}
        {iteration_range_parameter}

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), float64
            Rows sum to 1; columns follow ``classes_``.
        """
        return self._margin_to_proba(self._margins(X, iteration_range))

    @_with_shared_doc
    @reads_one_fit
    def decision_function(self, X, iteration_range=None):
        """Raw scores (margins before the sigmoid/softmax).

        {X_parameter}
        {iteration_range_parameter}

        Returns
        -------
        decision : ndarray of shape (n_samples,) for binary or (n_samples, n_classes), float64
            For binary problems, positive values favour ``classes_[1]``.
        """
        return self._margin_to_decision(self._margins(X, iteration_range))

    @_with_shared_doc
    @reads_one_fit
    def staged_predict(self, X):
        """Predict classes after each iteration.

        {X_parameter}

        Yields
        ------
        y : ndarray of shape (n_samples,)
            One array per iteration; the last equals ``predict(X)``.
        """
        for margin in self._staged_raw_margins(X):
            yield self._margin_to_class(margin)

    @_with_shared_doc
    @reads_one_fit
    def staged_predict_proba(self, X):
        """Predict class probabilities after each iteration.

        {X_parameter}

        Yields
        ------
        proba : ndarray of shape (n_samples, n_classes), float64
        """
        for margin in self._staged_raw_margins(X):
            yield self._margin_to_proba(margin)

    @_with_shared_doc
    @reads_one_fit
    def staged_decision_function(self, X):
        """Raw scores after each iteration.

        {X_parameter}

        Yields
        ------
        decision : ndarray of shape (n_samples,) for binary or (n_samples, n_classes), float64
        """
        for margin in self._staged_raw_margins(X):
            yield self._margin_to_decision(margin)
