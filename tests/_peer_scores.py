"""Accuracy against scikit-learn: mean test scores of two estimators over the same seeded splits."""

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine, make_classification, make_regression
from sklearn.model_selection import train_test_split

SEEDS = (0, 1, 2)
# name -> () -> (X, y): scikit-learn's bundled datasets and a synthetic one of each kind.
CLASSIFICATION_DATASETS = {
    "breast_cancer": lambda: load_breast_cancer(return_X_y=True),
    "iris": lambda: load_iris(return_X_y=True),
    "wine": lambda: load_wine(return_X_y=True),
    "synthetic": lambda: make_classification(n_samples=1500, n_features=12, n_informative=6, n_classes=3,
                                             random_state=0),
}
REGRESSION_DATASETS = {
    "diabetes": lambda: load_diabetes(return_X_y=True),
    "synthetic": lambda: make_regression(n_samples=1500, n_features=10, n_informative=6, noise=10.0, random_state=0),
}


def mean_test_scores(ours, theirs, X, y, score, seeds=SEEDS, **params):
    """(ours, theirs): ``score(y_test, predict(X_test))`` of both classes averaged over seeded splits.

    Each split ``s`` fits ``cls(random_state=s, **params)`` on 75% of the rows and scores the rest.
    """
    results = []
    for seed in seeds:
        X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=seed)
        results.append([score(y_test, cls(random_state=seed, **params).fit(X_train, y_train).predict(X_test))
                        for cls in (ours, theirs)])
    return tuple(np.mean(results, axis=0))
