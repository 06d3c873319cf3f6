"""warm_start with early stopping: the stopping window slides over the scores of every fit, as scikit-learn's."""

import numpy as np
import pytest
from sklearn import ensemble as sk_ensemble
from sklearn.datasets import make_regression

from treeforge import HistGradientBoostingClassifier, HistGradientBoostingRegressor


def _continue(Estimator, X, y, first, n_iter_no_change, tol):
    model = Estimator(max_iter=first, warm_start=True, early_stopping=True, n_iter_no_change=n_iter_no_change,
                      tol=tol, random_state=0).fit(X, y)
    n_first, scores = model.n_iter_, model.validation_score_.copy()
    model.set_params(max_iter=first + 200).fit(X, y)
    return model, n_first, scores


@pytest.mark.parametrize("first", [3, 12, 40])
def test_a_continued_fit_without_improvement_runs_at_most_n_iter_no_change_more(first):
    # tol is huge: no iteration counts as an improvement, so each fit stops within the window.
    X, y = make_regression(n_samples=600, n_features=5, noise=5.0, random_state=0)
    n = 4
    model, n_first, scores = _continue(HistGradientBoostingRegressor, X, y, first, n, tol=1e10)
    assert n_first == min(first, n)
    assert 1 <= model.n_iter_ - n_first <= n
    np.testing.assert_array_equal(model.validation_score_[:n_first + 1], scores)  # the old scores are kept
    reference = sk_ensemble.HistGradientBoostingRegressor(
        max_iter=first, warm_start=True, early_stopping=True, n_iter_no_change=n, tol=1e10, random_state=0).fit(X, y)
    reference.set_params(max_iter=first + 200).fit(X, y)
    assert model.n_iter_ == reference.n_iter_


@pytest.mark.parametrize("Estimator", [HistGradientBoostingRegressor, HistGradientBoostingClassifier])
def test_continued_fit_stops_by_the_rule_over_all_scores(Estimator):
    # With a real tol, the continued fit stops at the first iteration where none of the last
    # n_iter_no_change scores (old ones included) beats the one before them, and not earlier.
    X, y = make_regression(n_samples=800, n_features=6, noise=20.0, random_state=1)
    if Estimator is HistGradientBoostingClassifier:
        y = (y > np.median(y)).astype(int)
    n, tol = 3, 1e-7
    model, n_first, _ = _continue(Estimator, X, y, 15, n, tol)
    scores = list(model.validation_score_)

    def should_stop(seen):
        return len(seen) >= n + 1 and not any(s > seen[-n - 1] + tol for s in seen[-n:])

    stopped = model.n_iter_ < 15 + 200
    assert should_stop(scores) == stopped
    assert not any(should_stop(scores[:k]) for k in range(n_first + 2, len(scores)))
    new = scores[n_first + 1:]
    if max(new[:n]) <= scores[n_first] + tol:  # nothing beat the start: at most n more iterations
        assert model.n_iter_ - n_first <= n
