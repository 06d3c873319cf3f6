"""treeforge: fast tree ensembles with a C++ core and scikit-learn drop-in estimators."""

__version__ = "0.1.0"
