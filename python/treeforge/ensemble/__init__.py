"""Tree-ensemble estimators (gradient boosting, random forests, AdaBoost) and their shared machinery.

The public names are imported from ``treeforge`` itself; the modules here are private:

- ``_gradient_boosting``, ``_forest``, ``_weight_boosting``: the estimators, one family each.
- ``_base``: input validation, seeds, threads, binning, core configs and the fitted-model holder.
- ``_boosting_progress``: the boosting loop's scores and early-stopping rule.
- ``_docstrings``: the parameter documentation shared by the estimators' docstrings.
- ``_model_io``: model files (save, validated load) and the allow-list estimators register with.
"""
