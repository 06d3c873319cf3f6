"""``predict_contributions``: exact SHAP contributions of the core's trees (TreeSHAP, ``cpp/model/shap.*``).

Every estimator holding a core model offers it. Each row's contributions, expected value included,
sum to the estimator's raw score: ``decision_function`` of classifiers that have one, the margin
before the link of boosting regressors (``predict`` for squared error), the probabilities of forest
classifiers, ``predict`` of forest regressors. ``treeforge.inspection.shap_values`` reshapes them as
the ``shap`` package lays its values out.
"""

import numpy as np
from scipy import sparse
from sklearn.utils.validation import check_is_fitted

from ._base import reads_one_fit, resolve_n_threads, validate_predict_data


class ContributionsMixin:
    """``predict_contributions`` of an estimator whose fit is a core ``Model`` (``self._model``)."""

    @reads_one_fit
    def predict_contributions(self, X):
        """Exact SHAP contributions of each feature to the raw score of each sample, the expected value last.

        As XGBoost's ``predict(..., pred_contribs=True)`` and LightGBM's ``predict(..., pred_contrib=True)``:
        path-dependent TreeSHAP (Lundberg, Erion & Lee, 2018), where a feature left out of a coalition
        is integrated out along each tree's splits weighted by the training cover (hessian sums for
        boosting, sample weights for forests). A sample's branch at a split is the one prediction takes:
        missing values follow the split's default direction, categories are matched by value as in
        ``predict``. Each row sums to the raw score: ``decision_function`` of classifiers that have one,
        the margin before the inverse link of boosting regressors (the log of the prediction for
        Poisson, gamma and Tweedie losses), the probabilities of forest classifiers, the prediction of
        forest regressors. AdaBoost.R2's weighted median has no such sum and raises a ValueError.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Checked and encoded as for ``predict``.

        Returns
        -------
        contributions : ndarray of shape (n_samples, n_features + 1), float64
            Or (n_samples, n_outputs, n_features + 1) where the score has several columns
            (multiclass boosting and AdaBoost, forest classifiers: one per class). The last column is
            the expected value, the same for every row.
        """
        values = self._shap_values(X)
        return values[:, 0] if values.shape[1] == 1 else values

    @reads_one_fit
    def _shap_values(self, X, interactions=False):
        """(n_samples, n_outputs, n_features + 1) contributions, or with ``interactions`` (n_samples,
        n_outputs, n_features + 1, n_features + 1) interaction values, of the raw score; a fit's
        attributes are read once."""
        check_is_fitted(self)
        if getattr(self, "_model", None) is None:
            raise ValueError(f"{type(self).__name__} fitted with a user's estimator holds no treeforge trees; "
                             "SHAP values need the default trees (estimator=None).")
        X = validate_predict_data(self, X)
        explain = self._model.shap_interactions if interactions else self._model.shap_contributions
        values = _explained_by_blocks(explain, X, resolve_n_threads(self.n_jobs))
        if self._model.objective == "adaboost_samme":
            values = _samme_decision(values, self.estimator_weights_, len(self.classes_))
        return values


def _explained_by_blocks(explain, X, n_threads):
    """explain(X) of dense X; sparse X is made dense a block of rows at a time, each block no larger
    than the values it yields (at least n_features + 1 numbers a row)."""
    if not sparse.issparse(X):
        return explain(X, n_threads)
    rows = 4096
    return np.concatenate([explain(X[lo:lo + rows].toarray(), n_threads) for lo in range(0, X.shape[0], rows)])


def _samme_decision(votes, estimator_weights, n_classes):
    """Contributions (or interactions) to AdaBoost SAMME's votes, outputs on axis 1, as those to its
    ``decision_function``: the votes over the estimators' total weight; for two classes the second
    class's minus the first's."""
    if n_classes == 1:  # scikit-learn's decision for a single class is 0
        return np.zeros_like(votes[:, :1])
    decision = votes / np.sum(estimator_weights)
    return decision[:, 1:] - decision[:, :1] if n_classes == 2 else decision
