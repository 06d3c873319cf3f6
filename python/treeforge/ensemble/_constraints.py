"""Split constraints as scikit-learn's HistGradientBoosting takes them, turned into the core's form.

- ``monotonic_cst``: per feature -1 (decreasing), 0 (free) or 1 (increasing), as an array-like of
  n_features or a dict from feature names to constraints; the core gets one int per feature.
- ``interaction_cst``: ``'pairwise'``, ``'no_interactions'`` or a sequence of groups of feature
  indices; features named in no group form one more group together (scikit-learn's rule). The
  core gets the groups as lists of indices; a root-to-leaf path only combines features of one group.
"""

import numbers

import numpy as np


def monotone_directions(monotonic_cst, n_features, feature_names=None, is_categorical=None, n_outputs=1):
    """``monotonic_cst`` as a list of n_features ints in {-1, 0, 1} ([] when None).

    Raises ValueError for a wrong length, values outside {-1, 0, 1}, unknown feature names, a
    constraint on a categorical feature, or constraints with more than one output (multiclass).
    """
    if monotonic_cst is None:
        return []
    if isinstance(monotonic_cst, dict):
        directions = _directions_by_name(monotonic_cst, n_features, feature_names)
    else:
        directions = np.asarray(monotonic_cst)
        if directions.ndim != 1 or directions.shape[0] != n_features:
            raise ValueError(f"monotonic_cst has shape {directions.shape} but the input data has {n_features} "
                             "features.")
        if directions.dtype.kind not in "iub" and not np.all(np.isin(directions, [-1, 0, 1])):
            raise ValueError(f"monotonic_cst must be an array-like of -1, 0 or 1, got {monotonic_cst!r}.")
    directions = [int(d) for d in directions]
    if any(d not in (-1, 0, 1) for d in directions):
        raise ValueError(f"monotonic_cst must hold only -1, 0 or 1, got {sorted(set(directions))}.")
    if not any(directions):
        return []
    if n_outputs > 1:
        raise ValueError("monotonic constraints are not supported for multiclass classification.")
    if is_categorical is not None:
        constrained = [j for j, d in enumerate(directions) if d and is_categorical[j]]
        if constrained:
            raise ValueError(f"categorical features cannot have monotonic constraints; features {constrained} "
                             "have both.")
    return directions


def _directions_by_name(monotonic_cst, n_features, feature_names):
    if feature_names is None:
        raise ValueError("monotonic_cst given as a dict needs X with feature names (a DataFrame).")
    names = list(feature_names)
    unknown = sorted(set(monotonic_cst) - set(names))
    if unknown:
        raise ValueError(f"monotonic_cst names features {unknown} that are not in the input; its features are "
                         f"{names}.")
    return [monotonic_cst.get(name, 0) for name in names]


def interaction_groups(interaction_cst, n_features):
    """``interaction_cst`` as a list of groups of feature indices ([] when None: no constraint)."""
    if interaction_cst is None:
        return []
    if interaction_cst == "pairwise":
        if n_features == 1:
            return [[0]]
        return [[i, j] for i in range(n_features) for j in range(i + 1, n_features)]
    if interaction_cst == "no_interactions":
        return [[j] for j in range(n_features)]
    if isinstance(interaction_cst, str):
        raise ValueError(f"interaction_cst must be 'pairwise', 'no_interactions' or a sequence of groups, got "
                         f"{interaction_cst!r}.")
    groups = []
    for group in interaction_cst:
        try:
            indices = list(group)
        except TypeError:
            raise ValueError(f"interaction_cst must be a sequence of groups (lists, tuples or sets) of feature "
                             f"indices; {group!r} is not one.") from None
        for j in indices:
            if not isinstance(j, numbers.Integral) or isinstance(j, bool) or not 0 <= j < n_features:
                raise ValueError(f"interaction_cst holds {j!r}, not the index of one of the {n_features} "
                                 "features.")
        groups.append(sorted({int(j) for j in indices}))
    named = set().union(*groups) if groups else set()
    rest = [j for j in range(n_features) if j not in named]
    return groups + ([rest] if rest else [])


def constraint_values(estimator):
    """A fitted boosting estimator's monotonic_cst and interaction_cst as core config attributes
    (``monotone``, ``interaction_groups``; none of them unless given)."""
    values = {}
    directions = monotone_directions(estimator.monotonic_cst, estimator.n_features_in_,
                                     getattr(estimator, "feature_names_in_", None), estimator.is_categorical_,
                                     int(estimator.n_trees_per_iteration_))
    if directions:
        values["monotone"] = directions
    groups = interaction_groups(estimator.interaction_cst, estimator.n_features_in_)
    if groups:
        values["interaction_groups"] = groups
    return values
