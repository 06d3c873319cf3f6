"""Distributed training on Dask: estimators fitted where the data lives that give the single-machine model.

Needs the ``dask`` extra (``pip install treeforge[dask]``: dask and distributed). Each worker
holding blocks of X trains on them; the workers reduce their histograms at the grower's sync step
through a ring of TCP connections (``treeforge._core.TcpRing``), so the model is the one
``treeforge.HistGradientBoostingRegressor`` / ``Classifier`` / ``Ranker`` (or, for the forests,
``treeforge.RandomForestRegressor`` / ``Classifier``) fits on one machine, bit for bit.
"""

from ._estimators import DaskHistGradientBoostingClassifier, DaskHistGradientBoostingRegressor
from ._forest import DaskRandomForestClassifier, DaskRandomForestRegressor
from ._ranking import DaskHistGradientBoostingRanker

__all__ = ["DaskHistGradientBoostingClassifier", "DaskHistGradientBoostingRanker", "DaskHistGradientBoostingRegressor",
           "DaskRandomForestClassifier", "DaskRandomForestRegressor"]
