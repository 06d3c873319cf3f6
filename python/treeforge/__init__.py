"""treeforge: fast tree ensembles with a C++ core and scikit-learn drop-in estimators."""

__version__ = "0.1.0"

# Estimators register themselves with the model-file allow-list when their module is imported.
from .ensemble._forest import RandomForestClassifier, RandomForestRegressor
from .ensemble._gradient_boosting import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from .ensemble._model_io import load_model
from .ensemble._weight_boosting import AdaBoostClassifier, AdaBoostRegressor

__all__ = [
    "AdaBoostClassifier",
    "AdaBoostRegressor",
    "HistGradientBoostingClassifier",
    "HistGradientBoostingRegressor",
    "RandomForestClassifier",
    "RandomForestRegressor",
    "load_model",
    "__version__",
]
