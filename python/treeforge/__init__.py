"""treeforge: fast tree ensembles with a C++ core and scikit-learn drop-in estimators.

The estimators and ``load_model`` are imported on first use (``treeforge.X`` or ``from treeforge
import X``): they import scikit-learn, SciPy and pandas, seconds that the command line's ``--help``
and ``info`` do without. The first use imports every estimator module at once, so that each
estimator is on the model-file allow-list (``ensemble._model_io``) before any file is loaded.
"""

from ._version import __version__

_ESTIMATOR_NAMES = (
    "AdaBoostClassifier",
    "AdaBoostRegressor",
    "HistGradientBoostingClassifier",
    "HistGradientBoostingRanker",
    "HistGradientBoostingRegressor",
    "RandomForestClassifier",
    "RandomForestRegressor",
)

__all__ = [*_ESTIMATOR_NAMES, "load_model", "__version__"]


def _import_public_names():
    """{public name: object} of the estimators and ``load_model``; importing each estimator's
    module registers it with the model-file allow-list."""
    from .ensemble import _forest, _gradient_boosting, _model_io, _ranking, _weight_boosting

    modules = (_forest, _gradient_boosting, _ranking, _weight_boosting)
    found = {name: getattr(module, name) for module in modules for name in _ESTIMATOR_NAMES if hasattr(module, name)}
    return {name: found[name] for name in _ESTIMATOR_NAMES} | {"load_model": _model_io.load_model}


def __getattr__(name):
    """The estimators and ``load_model``, imported on first access (PEP 562)."""
    if name not in __all__ or name == "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    names = _import_public_names()
    globals().update(names)  # later accesses find them without this function
    return names[name]


def __dir__():
    return sorted(set(globals()) | set(__all__))
