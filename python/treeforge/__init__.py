"""treeforge: fast tree ensembles with a C++ core and scikit-learn drop-in estimators."""

__version__ = "0.1.0"

# Estimators register themselves with the model-file allow-list when their module is imported.
from ._gradient_boosting import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from ._model_io import load_model

__all__ = [
    "HistGradientBoostingClassifier",
    "HistGradientBoostingRegressor",
    "load_model",
    "__version__",
]
