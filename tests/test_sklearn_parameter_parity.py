"""Issue #21's audit: every parameter, method (with its keywords) and fitted attribute that scikit-learn
documents for the six estimators is accepted by treeforge, with scikit-learn's default, and does what
scikit-learn's page says.

Nothing here lists scikit-learn's API by hand: parameters come from ``inspect.signature`` of
scikit-learn's classes, their accepted values from its ``_parameter_constraints``, methods from the
classes' public callables and attributes from their docstrings' "Attributes" sections
(tests/_sklearn_parity.py). A parameter, option, method or attribute that a later scikit-learn adds
fails here until it has a behaviour check (tests/_parity_probes_*.py, tests/_parity_checks.py) or an
entry in one of the allow-lists below, each with its reason, each also in README's "What still
differs" where it is a difference users can meet.
"""

import inspect
import warnings

import numpy as np
import pytest
from _parity_checks import ATTRIBUTE_CHECKS, METHOD_CHECKS, fitted_pair
from _parity_probes_boosting import PROBES as BOOSTING_PROBES
from _parity_probes_trees import PROBES as TREE_PROBES
from _sklearn_parity import (
    NAMES,
    accepts,
    candidate_values,
    data_for,
    dataset,
    documented_attributes,
    family,
    init_parameters,
    is_classifier_name,
    method_parameters,
    pair,
    public_methods,
    small,
    string_options,
)

# ------------------------------------------------------------------------------ the allow-lists

# (estimator, parameter, repr(value)) -> why treeforge's parameter check answers differently.
CONSTRAINT_DIFFERENCES = {
    ("RandomForestClassifier", "n_jobs", "0"): (
        "n_jobs=0 has no meaning; scikit-learn's constraint lets it through and joblib refuses it at "
        "fit, treeforge refuses it when the parameters are validated (also in model files)."),
    ("RandomForestRegressor", "n_jobs", "0"): "as for RandomForestClassifier",
}

# (estimator, parameter, option) -> why an option scikit-learn lists is refused at fit (README).
# Empty since forests took criterion='absolute_error' (issue #21): every option is accepted.
UNSUPPORTED_OPTIONS = {}

# (family, attribute) -> what differs from scikit-learn's page and why. Each attribute is still
# checked for what it promises (ATTRIBUTE_CHECKS); only the listed aspect is exempt.
ATTRIBUTE_DIFFERENCES = {
    ("RandomForest", "estimator_"): (
        "type: an unfitted per-tree view (TreeClassifierView/TreeRegressorView), not a "
        "DecisionTree* template: the trees live in the C++ model (README 'Per-tree estimators')"),
    ("AdaBoost", "estimator_"): "type: as for RandomForest, when estimator=None (a user's estimator is itself)",
    ("RandomForest", "estimators_"): (
        "type: views of the trees in the C++ model with scikit-learn's tree_ arrays, predict, apply "
        "and decision_path; they carry no tree parameters (get_params() is empty) and cannot be refitted"),
    ("AdaBoost", "estimators_"): "type: as for RandomForest, when estimator=None",
    ("RandomForest", "estimators_samples_"): (
        "order: each tree's drawn rows are listed sorted (regenerated from the seed), scikit-learn's "
        "in draw order; the same multiset semantics (which rows, how often)"),
}

# (family, method) -> what treeforge does beyond scikit-learn's page.
METHOD_DIFFERENCES = {
    ("AdaBoost", "get_metadata_routing"): (
        "scikit-learn's AdaBoost raises NotImplementedError (no routing yet); treeforge's routes "
        "sample_weight to fit and score like any plain estimator"),
}


def _probe(name, parameter):
    """The behaviour check of one scikit-learn parameter of estimator ``name`` (None: none)."""
    if family(name) == "HistGradientBoosting":
        return BOOSTING_PROBES.get(parameter)
    return TREE_PROBES.get(f"{'forest' if family(name) == 'RandomForest' else 'adaboost'}_{parameter}")


def _cases(what):
    """(estimator, item) pairs over the six estimators, for parametrize."""
    cases = []
    for name in NAMES:
        sk_cls, _ = pair(name)
        items = {"parameters": lambda: list(init_parameters(sk_cls)),
                 "methods": lambda: public_methods(sk_cls),
                 "attributes": lambda: documented_attributes(sk_cls)}[what]()
        cases += [(name, item) for item in items]
    return cases


def _option_cases():
    return [(name, parameter, option) for name, parameter in _cases("parameters")
            for option in string_options(pair(name)[0], parameter)]


# ------------------------------------------------------------------------------ parameters


@pytest.mark.parametrize("name, parameter", _cases("parameters"))
def test_parameter_is_accepted_with_scikit_learns_default(name, parameter):
    sk_cls, tf_cls = pair(name)
    theirs, ours = init_parameters(sk_cls)[parameter], init_parameters(tf_cls).get(parameter)
    assert ours is not None, f"{name} lacks {parameter}"
    assert ours.kind == theirs.kind, (ours.kind, theirs.kind)  # positional or keyword-only, the same
    assert repr(ours.default) == repr(theirs.default)
    assert parameter in tf_cls._parameter_constraints, "not validated at fit"
    model = tf_cls().set_params(**{parameter: ours.default})
    assert model.get_params()[parameter] is ours.default


@pytest.mark.parametrize("name, parameter", _cases("parameters"))
def test_parameter_accepts_the_values_scikit_learn_accepts(name, parameter):
    """Typical members and near misses of each of scikit-learn's constraints (interval bounds and
    just past them, every string option, booleans, None, callables...) are accepted or refused alike."""
    sk_cls, tf_cls = pair(name)
    for value in candidate_values(sk_cls._parameter_constraints.get(parameter, [])):
        if (name, parameter, repr(value)) in CONSTRAINT_DIFFERENCES:
            assert accepts(sk_cls, parameter, value) != accepts(tf_cls, parameter, value), "stale allow-list entry"
            continue
        assert accepts(tf_cls, parameter, value) == accepts(sk_cls, parameter, value), repr(value)


@pytest.mark.parametrize("name, parameter, option", _option_cases())
def test_every_string_option_fits(name, parameter, option):
    """Every string option scikit-learn lists fits on data where scikit-learn's fits (positive targets
    for the regressors' Poisson and gamma losses), or is an UNSUPPORTED_OPTIONS entry."""
    X, y = dataset("positive") if not is_classifier_name(name) else data_for(name)
    params = {**small(name), parameter: option, **({"quantile": 0.5} if option == "quantile" else {})}
    sk_cls, tf_cls = pair(name)
    sk_cls(**params).fit(X, y)
    if (name, parameter, option) in UNSUPPORTED_OPTIONS:
        with pytest.raises(ValueError, match=repr(option)):
            tf_cls(**params).fit(X, y)
        return
    assert tf_cls(**params).fit(X, y).score(X, y) > 0


@pytest.mark.parametrize("name, parameter", _cases("parameters"))
def test_parameter_does_what_the_page_says(name, parameter):
    probe = _probe(name, parameter)
    assert probe is not None, f"no behaviour check of {name}'s {parameter}: add one to tests/_parity_probes_*.py"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's own warnings (few trees for OOB, ...)
        probe(name)


# ------------------------------------------------------------------------------ methods


@pytest.mark.parametrize("name, method", _cases("methods"))
def test_method_takes_scikit_learns_keywords(name, method):
    sk_cls, tf_cls = pair(name)
    assert callable(getattr(tf_cls, method, None)), f"{name} lacks {method}"
    ours = method_parameters(tf_cls, method)
    for keyword, theirs in method_parameters(sk_cls, method).items():
        assert keyword in ours, f"{method} lacks {keyword}"
        assert repr(ours[keyword].default) == repr(theirs.default), keyword
        assert ours[keyword].kind == theirs.kind, keyword


@pytest.mark.parametrize("name, method", _cases("methods"))
def test_method_does_what_the_page_says(name, method):
    check = METHOD_CHECKS.get(method)
    assert check is not None, f"no behaviour check of {method}: add one to tests/_parity_checks.py"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(name, *_fitted(name))


def test_adaboost_routes_metadata_where_scikit_learn_does_not_yet():
    """METHOD_DIFFERENCES: scikit-learn's AdaBoost still refuses routing; remove the entry when it routes."""
    import sklearn

    X, y = data_for("AdaBoostClassifier")
    for name in ("AdaBoostClassifier", "AdaBoostRegressor"):
        assert ("AdaBoost", "get_metadata_routing") in METHOD_DIFFERENCES
        with sklearn.config_context(enable_metadata_routing=True), pytest.raises(NotImplementedError):
            pair(name)[0]().get_metadata_routing()


# ------------------------------------------------------------------------------ fitted attributes

_FITTED = {}


def _fitted(name):
    """(scikit-learn's, treeforge's, X, y), fitted once per estimator for the method and attribute checks."""
    if name not in _FITTED:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _FITTED[name] = fitted_pair(name)
    return _FITTED[name]


def _form(value):
    """What the page's type line promises: the kind of value, and an array's dimensions and dtype kind."""
    if isinstance(value, np.ndarray):
        return ("ndarray", value.ndim, value.dtype.kind if value.dtype.kind != "u" else "i")
    if isinstance(value, list):
        return ("list", len(value))
    if isinstance(value, (bool, np.bool_)):
        return ("bool",)
    if isinstance(value, (int, np.integer)):
        return ("int",)
    if isinstance(value, (float, np.floating)):
        return ("float",)
    return (type(value).__name__,)


@pytest.mark.parametrize("name, attribute", _cases("attributes"))
def test_documented_attribute_has_scikit_learns_form(name, attribute):
    sk, tf, X, y = _fitted(name)
    if attribute == "feature_names_in_":  # set only from a DataFrame: its own check fits one
        return
    assert hasattr(tf, attribute), f"{name} has no {attribute} after fit"
    if (family(name), attribute) in ATTRIBUTE_DIFFERENCES:
        return
    assert _form(getattr(tf, attribute)) == _form(getattr(sk, attribute))


@pytest.mark.parametrize("name, attribute", _cases("attributes"))
def test_documented_attribute_does_what_the_page_says(name, attribute):
    check = ATTRIBUTE_CHECKS.get(attribute)
    assert check is not None, f"no behaviour check of {attribute}: add one to tests/_parity_checks.py"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(name, *_fitted(name))


# ------------------------------------------------------------------------------ the allow-lists stay true


def test_allow_lists_name_only_what_scikit_learn_documents():
    parameters = set(_cases("parameters"))
    assert all((name, parameter) in parameters for name, parameter, _ in CONSTRAINT_DIFFERENCES)
    assert all((name, parameter, option) in set(_option_cases()) for name, parameter, option in UNSUPPORTED_OPTIONS)
    attributes = {(family(name), attribute) for name, attribute in _cases("attributes")}
    assert set(ATTRIBUTE_DIFFERENCES) <= attributes
    methods = {(family(name), method) for name, method in _cases("methods")}
    assert set(METHOD_DIFFERENCES) <= methods


def test_signature_order_matches_scikit_learn():
    """Positional use (``RandomForestClassifier(200)``, ``AdaBoostClassifier(tree)``) means what it does in
    scikit-learn: the positional parameters come first, in scikit-learn's order."""
    for name in NAMES:
        sk_cls, tf_cls = pair(name)
        positional = [n for n, p in init_parameters(sk_cls).items() if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
        assert list(init_parameters(tf_cls))[:len(positional)] == positional, name
