"""What scikit-learn documents of the six estimators, read from its own classes (signatures, parameter
constraints, docstrings' Attributes sections), and the small datasets the parity tests compare on.

Everything is enumerated from the installed scikit-learn, so a parameter, method, option or
attribute that a later release adds shows up in tests/test_sklearn_parameter_parity.py by itself.
"""

import contextlib
import functools
import inspect
import io
from numbers import Integral

import numpy as np
import sklearn.ensemble
from sklearn.datasets import make_classification, make_regression
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
    validate_parameter_constraints,
)

import treeforge

NAMES = (
    "HistGradientBoostingClassifier",
    "HistGradientBoostingRegressor",
    "RandomForestClassifier",
    "RandomForestRegressor",
    "AdaBoostClassifier",
    "AdaBoostRegressor",
)


def pair(name):
    """(scikit-learn's class, treeforge's class) of one estimator name."""
    return getattr(sklearn.ensemble, name), getattr(treeforge, name)


def family(name):
    """'HistGradientBoosting', 'RandomForest' or 'AdaBoost'."""
    return name.replace("Classifier", "").replace("Regressor", "")


def is_classifier_name(name):
    return name.endswith("Classifier")


# ------------------------------------------------------------------------------ what the page lists


def init_parameters(cls):
    """``{name: inspect.Parameter}`` of ``cls.__init__`` (self left out)."""
    return {name: p for name, p in inspect.signature(cls.__init__).parameters.items() if name != "self"}


def public_methods(cls):
    """Public callables of the class that are not properties (fit, predict, set_fit_request, ...)."""
    names = []
    for name in dir(cls):
        if name.startswith("_") or isinstance(inspect.getattr_static(cls, name, None), property):
            continue
        if callable(getattr(cls, name, None)):
            names.append(name)
    return sorted(names)


def method_parameters(cls, method):
    """``{name: inspect.Parameter}`` of a method (self left out)."""
    return {name: p for name, p in inspect.signature(getattr(cls, method)).parameters.items() if name != "self"}


def documented_attributes(cls):
    """Names listed in the numpydoc "Attributes" section of the class docstring, in order."""
    lines = inspect.cleandoc(cls.__doc__).splitlines()
    names, inside = [], False
    for i, line in enumerate(lines):
        is_header = i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"} and line.strip()
        if is_header:
            inside = line.strip() == "Attributes"
            continue
        if inside and line and not line.startswith(" ") and not set(line.strip()) <= {"-"}:
            names.append(line.split(":")[0].strip())
    return names


def string_options(cls, parameter):
    """Every string the parameter constraints of ``cls`` list for ``parameter`` (deprecated ones left out)."""
    options = []
    for constraint in cls._parameter_constraints.get(parameter, []):
        if isinstance(constraint, (StrOptions, Options)):
            deprecated = getattr(constraint, "deprecated", set()) or set()
            options += sorted(o for o in constraint.options if isinstance(o, str) and o not in deprecated)
    return options


def _interval_values(interval):
    """Values on, just inside and just outside each finite bound of an Interval, and one inside."""
    is_int = interval.type is Integral
    step = 1 if is_int else 1e-3
    values = []
    for bound in (interval.left, interval.right):
        if bound is not None:
            values += [bound - step, bound, bound + step]
    if interval.left is None and interval.right is None:
        values += [-1, 0, 1]
    values += [interval.left + (2 if is_int else 0.5) if interval.left is not None else 0]
    return [int(v) for v in values] if is_int else [float(v) for v in values]


def candidate_values(constraints):
    """Values to probe a parameter's constraints with: each kind's typical members and near misses."""
    values = [None, "not-an-option", object()]
    for c in constraints:
        if isinstance(c, Interval):
            values += _interval_values(c)
        elif isinstance(c, (StrOptions, Options)):
            values += sorted(c.options, key=str)
        elif isinstance(c, HasMethods):
            values.append(DecisionTreeClassifier(max_depth=1))
        elif c == "boolean":
            values += [True, False]
        elif c == "random_state":
            values += [0, np.random.RandomState(0)]
        elif c == "verbose":
            values += [0, 2]
        elif c is callable:
            values.append(len)
        elif c in (dict, list, tuple):
            values.append(c())
        elif c is str:
            values.append("r2")
        elif c is Integral:  # a bare type: any int (n_jobs)
            values += [-2, -1, 0, 1]
    return values


def accepts(cls, parameter, value):
    """Whether the parameter constraints of ``cls`` (what ``fit`` validates first) accept ``value``."""
    try:
        validate_parameter_constraints(cls._parameter_constraints, {parameter: value}, caller_name=cls.__name__)
    except InvalidParameterError:
        return False
    return True


# ------------------------------------------------------------------------------ data and fitting


@functools.lru_cache(maxsize=None)
def dataset(kind):
    """(X, y) by kind: 'regression', 'positive' (y > 0), 'binary' or 'multiclass'; 300 rows, 5 features."""
    if kind in ("regression", "positive"):
        X, y = make_regression(n_samples=300, n_features=5, n_informative=3, noise=5.0, random_state=0)
        return (X, np.exp(y / y.std())) if kind == "positive" else (X, y)
    n_classes = 3 if kind == "multiclass" else 2
    return make_classification(n_samples=300, n_features=5, n_informative=3, n_redundant=0, n_classes=n_classes,
                               n_clusters_per_class=1, random_state=0)


def data_for(name, multiclass=False):
    """The dataset an estimator is compared on: binary (or multiclass) labels, or regression targets."""
    if is_classifier_name(name):
        return dataset("multiclass" if multiclass else "binary")
    return dataset("regression")


def small(name):
    """Parameters that keep a fit quick: few iterations or trees."""
    return {"max_iter": 10} if family(name) == "HistGradientBoosting" else {"n_estimators": 10}


def fit_both(name, X, y, fit_params=None, **params):
    """scikit-learn's and treeforge's estimator, both fitted with the same parameters and data."""
    fitted = []
    for cls in pair(name):
        fitted.append(cls(**params).fit(X, y, **(fit_params or {})))
    return fitted


def printed(fit):
    """Everything ``fit()`` writes to stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        fit()
    return out.getvalue() + err.getvalue()


def margins(estimator, X):
    """The estimator's raw scores: ``decision_function`` of a classifier (binary: 1-D), else ``predict``."""
    return estimator.decision_function(X) if hasattr(estimator, "decision_function") else estimator.predict(X)


def staged_margins(estimator, X):
    """Raw scores after each iteration (``staged_decision_function`` or ``staged_predict``)."""
    if hasattr(estimator, "staged_decision_function"):
        return list(estimator.staged_decision_function(X))
    return list(estimator.staged_predict(X))


def stage_trees(estimator, X):
    """Per iteration, the values the iteration's tree adds on the rows of X (the first iteration's
    include the constant baseline): a tree with L leaves gives at most L distinct values."""
    stages = staged_margins(estimator, X)
    return [stages[0]] + [b - a for a, b in zip(stages, stages[1:])]


def leaves_of(values):
    """Rows grouped by equal value (a tree's leaves, seen through what it adds): {value: count}."""
    unique, counts = np.unique(np.round(values, 10), return_counts=True)
    return dict(zip(unique.tolist(), counts.tolist()))
