"""treeforge: fast tree ensembles with a C++ core and scikit-learn drop-in estimators."""

__version__ = "0.1.0"

# Estimators register themselves with the model-file allow-list when their module is imported.
from ._forest import RandomForestClassifier, RandomForestRegressor
from ._gradient_boosting import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from ._model_io import load_model
from ._weight_boosting import AdaBoostClassifier, AdaBoostRegressor

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
