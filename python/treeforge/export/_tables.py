"""Readable trees: ``trees_to_dataframe`` (one row per node, as LightGBM's and XGBoost's) and ``dump_model``
(a JSON-ready dict of nested trees, as LightGBM's ``dump_model``). pandas is imported only by
``trees_to_dataframe``.

Both describe the same nodes (``Ensemble``): tree-local node indices (the root is 0, children have
larger indices than their parent), the feature by name (or index), a numeric split's threshold
(``x <= threshold`` goes left) or a categorical split's set (the category values, as fitted, that
go left), where missing values go (at a categorical split also every value that is no category of
the feature), and the stored statistics: gain (the split's loss or impurity decrease), cover (the
training weight, or hessian sum, reaching the node), count (training rows) and value (the leaf's
output; at an internal node, what the model stores for it).
"""

import numpy as np

from ._ensemble import Ensemble, Plan

DUMP_FORMAT = "treeforge-dump"
DUMP_VERSION = 1

COLUMNS = ("tree", "node", "parent", "depth", "output", "is_leaf", "feature", "feature_index", "decision",
           "threshold", "categories", "left", "right", "missing", "gain", "cover", "count", "value")


def _parents_and_depths(ensemble):
    """Tree-local parent (-1 at a root) and depth of every node, over all trees, one level per pass."""
    parent = np.full(ensemble.n_nodes, -1, dtype=np.int64)
    depth = np.zeros(ensemble.n_nodes, dtype=np.int64)
    split = np.flatnonzero(ensemble.left >= 0)
    base = ensemble.node_base[split]
    for children in (base + ensemble.left[split], base + ensemble.right[split]):
        parent[children] = split - base
    frontier = ensemble.tree_offsets[:-1][np.diff(ensemble.tree_offsets) > 0]  # the roots
    while frontier.size:
        frontier = frontier[ensemble.left[frontier] >= 0]
        children = np.concatenate([ensemble.node_base[frontier] + ensemble.left[frontier],
                                   ensemble.node_base[frontier] + ensemble.right[frontier]])
        depth[children] = np.concatenate([depth[frontier], depth[frontier]]) + 1
        frontier = children
    return parent, depth


def _where(condition, values, other=None):
    """An object array: ``values`` where ``condition``, else ``other``."""
    out = np.full(len(condition), other, dtype=object)
    out[condition] = np.asarray(values, dtype=object)[condition] if np.ndim(values) else values
    return out


def node_columns(ensemble):
    """{column: ndarray} with one entry per node of every tree, in ``COLUMNS`` order."""
    parent, depth = _parents_and_depths(ensemble)
    tree = np.repeat(np.arange(ensemble.n_trees), np.diff(ensemble.tree_offsets))
    is_leaf = ensemble.left < 0
    split = ~is_leaf
    is_categorical = np.array([ensemble.is_categorical(f) for f in range(ensemble.n_features)] + [False])
    categorical = split & (is_categorical[ensemble.feature] | ensemble.is_set)  # feature -1 at leaves: False
    categories = np.full(ensemble.n_nodes, None, dtype=object)
    for node in np.flatnonzero(categorical).tolist():
        values = ensemble.left_categories(node) if is_categorical[ensemble.feature[node]] else ensemble.left_codes(node)
        categories[node] = tuple(values.tolist())
    labels = np.array([ensemble.feature_label(f) for f in range(ensemble.n_features)] + [None], dtype=object)
    output = np.arange(ensemble.n_trees) % ensemble.n_outputs  # leaf_dim > 1: every output (-1)
    if ensemble.leaf_dim > 1:
        output[:] = -1
    if ensemble.leaf_dim == 1:
        values = ensemble.value[:, 0].copy()
    else:  # an array per node
        values = np.empty(ensemble.n_nodes, dtype=object)
        for node, row in enumerate(ensemble.value.copy()):
            values[node] = row
    return {
        "tree": tree, "node": np.arange(ensemble.n_nodes) - ensemble.node_base, "parent": parent, "depth": depth,
        "output": output[tree].astype(np.int64), "is_leaf": is_leaf, "feature": _where(split, labels[ensemble.feature]),
        "feature_index": np.where(split, ensemble.feature, -1),
        "decision": _where(split, np.where(categorical, "in", "<=")),
        "threshold": np.where(split & ~categorical, ensemble.threshold, np.nan), "categories": categories,
        "left": np.where(split, ensemble.left, -1), "right": np.where(split, ensemble.right, -1),
        "missing": _where(split, np.where(ensemble.default_left, "left", "right")), "gain": ensemble.gain.copy(),
        "cover": ensemble.cover.copy(), "count": ensemble.count.copy(), "value": values,
    }


def trees_to_dataframe(estimator):
    """See :func:`treeforge.export.trees_to_dataframe`."""
    try:
        import pandas as pd
    except ImportError as exc:
        raise ImportError("trees_to_dataframe needs pandas (pip install pandas); dump_model() gives the same "
                          "nodes without it") from exc

    columns = node_columns(Ensemble(estimator))
    return pd.DataFrame({name: pd.Series(column, dtype=object) if column.dtype == object else column
                         for name, column in columns.items()})


def _node_dicts(ensemble, columns):
    """A JSON-ready dict per node (leaves: node, value, cover, count; splits add the test and children)."""
    dicts = []
    for node in range(ensemble.n_nodes):
        value = columns["value"][node]
        entry = {"node": int(columns["node"][node]),
                 "value": float(value) if ensemble.leaf_dim == 1 else [float(v) for v in value],
                 "cover": float(columns["cover"][node]), "count": float(columns["count"][node])}
        if not ensemble.is_leaf(node):
            test = {"feature": columns["feature"][node], "feature_index": int(columns["feature_index"][node]),
                    "decision": columns["decision"][node]}
            if test["decision"] == "<=":
                test["threshold"] = float(columns["threshold"][node])
            else:
                test["categories"] = list(columns["categories"][node])
            entry = {"node": entry.pop("node"), **test, "missing": columns["missing"][node],
                     "gain": float(columns["gain"][node]), **entry}
        dicts.append(entry)
    for node in np.flatnonzero(ensemble.left >= 0).tolist():
        dicts[node]["left"] = dicts[ensemble.left_child(node)]
        dicts[node]["right"] = dicts[ensemble.right_child(node)]
    return dicts


def _plain_list(values):
    return None if values is None else np.asarray(values).tolist()


def dump_model(estimator):
    """See :func:`treeforge.export.dump_model`."""
    from .._version import __version__

    ensemble = Ensemble(estimator)
    try:
        link = Plan(ensemble).link
    except NotImplementedError:
        link = None
    dicts = _node_dicts(ensemble, node_columns(ensemble))
    trees = []
    for tree in range(ensemble.n_trees):
        first, end = ensemble.tree_nodes(tree)
        entry = {"tree_index": tree, "output": ensemble.tree_output(tree)}
        if len(ensemble.tree_weight):
            entry["weight"] = float(ensemble.tree_weight[tree])
        entry.update(n_nodes=end - first, n_leaves=int(np.count_nonzero(ensemble.left[first:end] < 0)),
                     tree_structure=dicts[first])
        trees.append(entry)
    classes = ensemble.fitted.get("classes_")  # a list of arrays for a forest of several targets
    classes = [_plain_list(c) for c in classes] if isinstance(classes, list) else _plain_list(classes)
    categories = ensemble.categories
    return {
        "format": DUMP_FORMAT, "dump_version": DUMP_VERSION, "treeforge_version": __version__,
        "estimator": ensemble.estimator_name, "objective": ensemble.objective, "aggregation": ensemble.aggregation,
        "link": link, "n_features": ensemble.n_features, "feature_names": ensemble.feature_names,
        "categories": None if categories is None else [_plain_list(values) for values in categories],
        "n_outputs": ensemble.n_outputs, "leaf_dim": ensemble.leaf_dim,
        "base_score": ensemble.base_score.tolist(),
        **({"classes": classes} if classes is not None else {}),
        "n_trees": ensemble.n_trees, "trees": trees,
    }
