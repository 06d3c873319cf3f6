"""ONNX export: a fitted estimator as an ONNX graph of the ONNX-ML tree-ensemble operators.

Two operator sets, both measured with onnxruntime 1.32 and onnx's reference evaluator:

- ``ai.onnx.ml`` opset 3, ``TreeEnsembleRegressor``: read by ONNX runtimes of the last years; a
  leaf may add to several outputs (a forest classifier's class distribution); numeric splits only.
- ``ai.onnx.ml`` opset 5, ``TreeEnsemble`` (onnx >= 1.16, onnxruntime >= 1.21): adds
  ``BRANCH_MEMBER``, the category-set split; a leaf adds to one output, so a tree whose leaves
  hold several values is written once per output, and there is no base value: the base score is
  a constant tree.

The default is opset 3 unless the model has categorical splits. The tree operator computes the
margins with ``post_transform`` NONE; standard operators follow for the link (Sigmoid, Softmax,
Exp) and, for classifiers, the probabilities and labels (ArgMax, Gather). What was measured:
onnxruntime ignores ``post_transform`` LOGISTIC for one target, reads opset 5's post_transform
codes otherwise than the standard (1, SOFTMAX, gives the logistic there), and its
``TreeEnsembleClassifier`` has a binary case of its own that is not the sigmoid of the margin.

Routing is the core's: ``x <= threshold`` goes left (``BRANCH_LEQ``, the true branch), NaN follows
the node's ``default_left`` (``nodes_missing_value_tracks_true``); a categorical split lists the
category values of one side (``BRANCH_MEMBER``) so that NaN and values that are no category take
the missing direction, as in treeforge. With float32 input every threshold is the largest float32
at most the stored one: a float32 value goes left exactly when treeforge sends it left.
"""

import json

import numpy as np

from ._ensemble import Ensemble, Plan

_READER = "ONNX"
_DTYPES = {"float32": np.float32, "float64": np.float64}
_OPSETS = {3: 13, 5: 21}  # ai.onnx.ml opset -> the ai.onnx opset (and below, the IR version) written with it
_IR_VERSIONS = {3: 7, 5: 10}
# The link after the trees, as a standard operator (the module's docstring says why not post_transform).
_LINK_OPERATORS = {"identity": "Identity", "exp": "Exp", "sigmoid": "Sigmoid", "softmax": "Softmax"}
_BRANCH_LEQ, _BRANCH_MEMBER = 0, 6  # opset 5 node modes


def _import_onnx():
    try:
        import onnx
    except ImportError as exc:
        raise ImportError("treeforge.export.to_onnx needs the onnx package: pip install 'treeforge[onnx]' "
                          "(onnx, and onnxruntime to run the model)") from exc
    return onnx


def _float32_at_most(values):
    """The largest float32 at most each value (a float32 x satisfies x <= t iff x <= result)."""
    with np.errstate(over="ignore"):
        rounded = np.asarray(values, dtype=np.float64).astype(np.float32)
    above = rounded.astype(np.float64) > values
    rounded[above] = np.nextafter(rounded[above], np.float32(-np.inf))
    return rounded


class _Tree:
    """One tree in depth-first order, each split's true branch first (the order in which onnx's
    reference evaluator reads membership values, and the standard's node order: the two agree),
    nodes that route every value one way left out.

    ``splits``: per node None (a leaf) or (feature, mode, threshold, members, tracks_true, true id, false id);
    ``leaves``: per node None or its values (one per margin column it adds to, already scaled).
    """

    def __init__(self, ensemble, tree, factor):
        first, _ = ensemble.tree_nodes(tree)
        splits, self.leaves = [], []
        pending = [(ensemble.routed_node(first, _READER), None, 0)]
        while pending:
            node, parent, side = pending.pop()
            if parent is not None:
                splits[parent][side] = len(splits)
            if ensemble.is_leaf(node):
                splits.append(None)
                self.leaves.append(ensemble.value[node] * factor)
                continue
            left = ensemble.routed_node(ensemble.left_child(node), _READER)
            right = ensemble.routed_node(ensemble.right_child(node), _READER)
            feature = int(ensemble.feature[node])
            if ensemble.is_categorical(feature):
                members, members_go_left = ensemble.category_test(node, _READER)
                true_node, false_node = (left, right) if members_go_left else (right, left)
                split = [feature, "member", np.nan, members, 0, None, None]
            else:
                true_node, false_node = left, right
                split = [feature, "leq", float(ensemble.threshold[node]), None, int(ensemble.default_left[node]),
                         None, None]
            pending += [(false_node, len(splits), 6), (true_node, len(splits), 5)]
            splits.append(split)
            self.leaves.append(None)
        self.splits = [None if split is None else tuple(split) for split in splits]


def _trees(ensemble, plan):
    factor = plan.scale / (ensemble.n_trees if plan.average else 1)
    return [_Tree(ensemble, tree, factor) for tree in range(ensemble.n_trees)]


def has_categorical_splits(ensemble):
    split = ensemble.left >= 0
    return any(ensemble.is_categorical(int(f)) for f in np.unique(ensemble.feature[split]))


def _thresholds(values, dtype):
    return _float32_at_most(values) if dtype == np.float32 else np.asarray(values, dtype=np.float64)


def _tensor(helper, name, values, dtype):
    """A 1-D tensor attribute of ``dtype`` (its bytes as they are: no rounding on the way)."""
    from onnx import numpy_helper

    return numpy_helper.from_array(np.asarray(values, dtype=dtype).reshape(-1), name)


def _opset3_node(helper, ensemble, plan, dtype):
    """``TreeEnsembleRegressor`` (ai.onnx.ml 3) of the margins, nodes numbered as in treeforge (opset 3
    has numeric splits only, so no node is left out): built from the node arrays at once."""
    tree = np.repeat(np.arange(ensemble.n_trees), np.diff(ensemble.tree_offsets))
    local = np.arange(ensemble.n_nodes) - ensemble.node_base
    leaf = ensemble.left < 0
    split = ~leaf
    factor = plan.scale / (ensemble.n_trees if plan.average else 1)
    leaves = np.flatnonzero(leaf)
    if ensemble.leaf_dim == 1:
        outputs = np.arange(ensemble.n_trees)[tree[leaves]] % ensemble.n_outputs
        target_nodes, weights = leaves, ensemble.value[leaves, 0] * factor
    else:  # each leaf adds to every output
        outputs = np.tile(np.arange(ensemble.leaf_dim), len(leaves))
        target_nodes, weights = np.repeat(leaves, ensemble.leaf_dim), ensemble.value[leaves].reshape(-1) * factor
    thresholds, base = np.where(split, ensemble.threshold, 0.0), ensemble.base_score * plan.scale
    attributes = {
        "nodes_treeids": tree.tolist(), "nodes_nodeids": local.tolist(),
        "nodes_featureids": np.where(split, ensemble.feature, 0).tolist(),
        "nodes_modes": np.where(split, "BRANCH_LEQ", "LEAF").tolist(),
        "nodes_truenodeids": np.where(split, ensemble.left, 0).tolist(),
        "nodes_falsenodeids": np.where(split, ensemble.right, 0).tolist(),
        "nodes_missing_value_tracks_true": (split & ensemble.default_left).astype(np.int64).tolist(),
        "target_treeids": tree[target_nodes].tolist(), "target_nodeids": local[target_nodes].tolist(),
        "target_ids": outputs.tolist()}
    if dtype == np.float32:
        attributes.update(nodes_values=_thresholds(thresholds, dtype).tolist(),
                          target_weights=weights.astype(np.float32).tolist(),
                          base_values=base.astype(np.float32).tolist())
    else:
        attributes.update(nodes_values_as_tensor=_tensor(helper, "nodes_values", thresholds, dtype),
                          target_weights_as_tensor=_tensor(helper, "target_weights", weights, dtype),
                          base_values_as_tensor=_tensor(helper, "base_values", base, dtype))
    return helper.make_node("TreeEnsembleRegressor", ["X"], ["margin"], domain="ai.onnx.ml", name="trees",
                            n_targets=ensemble.n_outputs, aggregate_function="SUM", post_transform="NONE",
                            **attributes)


def _opset5_trees(ensemble, plan, trees):
    """(branch node lists, leaf lists, membership values, roots) of ``TreeEnsemble`` (ai.onnx.ml 5): a
    tree whose leaves hold several values once per output; a single-leaf tree, and the base score, as
    a constant tree."""
    branches = {key: [] for key in ("featureids", "modes", "splits", "truenodeids", "trueleafs", "falsenodeids",
                                    "falseleafs", "missing_value_tracks_true")}
    leaves, members, roots = {"targetids": [], "weights": []}, [], []

    def add_tree(tree, output, column):
        first_branch, first_leaf = len(branches["modes"]), len(leaves["weights"])
        branch_of = np.cumsum([split is not None for split in tree.splits]) - 1
        leaf_of = np.cumsum([split is None for split in tree.splits]) - 1

        def child(i):
            if tree.splits[i] is None:
                return int(first_leaf + leaf_of[i]), 1
            return int(first_branch + branch_of[i]), 0

        roots.append(first_branch)
        for feature, mode, threshold, values, tracks, true_id, false_id in (s for s in tree.splits if s is not None):
            (true_node, true_leaf), (false_node, false_leaf) = child(true_id), child(false_id)
            for key, value in (("featureids", feature), ("modes", _BRANCH_MEMBER if mode == "member" else _BRANCH_LEQ),
                               ("splits", threshold), ("truenodeids", true_node), ("trueleafs", true_leaf),
                               ("falsenodeids", false_node), ("falseleafs", false_leaf),
                               ("missing_value_tracks_true", tracks)):
                branches[key].append(value)
            if mode == "member":
                members.extend([*values.tolist(), np.nan])
        for leaf in tree.leaves:
            if leaf is not None:
                leaves["targetids"].append(output)
                leaves["weights"].append(float(leaf[column]))

    for t, tree in enumerate(trees):
        tree = tree if tree.splits[0] is not None else _constant_tree(tree.leaves[0])
        if ensemble.leaf_dim == 1:
            add_tree(tree, ensemble.tree_output(t), 0)
        else:
            for output in range(ensemble.leaf_dim):
                add_tree(tree, output, output)
    for output, base in enumerate(ensemble.base_score * plan.scale):
        if base != 0:
            add_tree(_constant_tree(np.array([base])), output, 0)
    return branches, leaves, members, roots


def _constant_tree(values):
    """A tree that adds ``values`` to every row: a split whose two leaves hold them (opset 5 has no
    tree of one leaf, and readers differ on a split whose two sides are one leaf)."""
    tree = object.__new__(_Tree)
    tree.splits, tree.leaves = [(0, "leq", 0.0, None, 1, 1, 2), None, None], [None, values, values]
    return tree


def _opset5_node(helper, ensemble, plan, trees, dtype):
    from onnx import TensorProto

    branches, leaves, members, roots = _opset5_trees(ensemble, plan, trees)
    modes = helper.make_tensor("nodes_modes", TensorProto.UINT8, [len(branches["modes"])], branches["modes"])
    splits = np.asarray(branches.pop("splits"), dtype=np.float64)
    splits[np.isfinite(splits)] = _thresholds(splits[np.isfinite(splits)], dtype)
    optional = {"membership_values": _tensor(helper, "membership_values", members, dtype)} if members else {}
    del branches["modes"]
    return helper.make_node(
        "TreeEnsemble", ["X"], ["margin"], domain="ai.onnx.ml", name="trees", n_targets=ensemble.n_outputs,
        aggregate_function=1, post_transform=0, tree_roots=roots,
        nodes_modes=modes, nodes_splits=_tensor(helper, "nodes_splits", splits, dtype),
        leaf_targetids=leaves["targetids"], leaf_weights=_tensor(helper, "leaf_weights", leaves["weights"], dtype),
        **{f"nodes_{key}": values for key, values in branches.items()}, **optional)


def _label_tensor(helper, classes):
    """The classes as an ONNX constant (int64, double, bool or string) and its element type."""
    from onnx import numpy_helper

    classes = np.asarray(classes)
    if classes.dtype.kind in "iu":
        classes = classes.astype(np.int64)
    elif classes.dtype.kind == "f":
        classes = classes.astype(np.float64)
    elif classes.dtype.kind != "b":
        classes = np.array([str(label) for label in classes.tolist()], dtype=object)
    tensor = numpy_helper.from_array(classes, name="classes")
    return tensor, tensor.data_type


def _output_graph(helper, ensemble, plan, out_type):
    """The nodes after the trees, the graph's outputs and its initializers: a regressor's predictions
    ('variable'), or a classifier's 'label' and 'probabilities'."""
    width = ensemble.n_outputs
    link_options = {"axis": 1} if plan.link == "softmax" else {}
    link = helper.make_node(_LINK_OPERATORS[plan.link], ["margin"], ["linked"], name="link", **link_options)
    if plan.kind == "regression":
        output = helper.make_tensor_value_info("variable", out_type, [None, width])
        return [link, helper.make_node("Identity", ["linked"], ["variable"], name="variable")], [output], []
    classes, label_type = _label_tensor(helper, plan.classes)
    nodes, initializers = [link], [classes]
    if plan.link == "sigmoid":  # the positive class's probability: [1 - p, p]
        from onnx import TensorProto, numpy_helper

        one_dtype = np.float64 if out_type == TensorProto.DOUBLE else np.float32
        initializers.append(numpy_helper.from_array(np.ones((1, 1), dtype=one_dtype), "one"))
        nodes += [helper.make_node("Sub", ["one", "linked"], ["negative"], name="negative_class"),
                  helper.make_node("Concat", ["negative", "linked"], ["probabilities"], axis=1, name="probabilities")]
    else:
        nodes.append(helper.make_node("Identity", ["linked"], ["probabilities"], name="probabilities"))
    nodes += [helper.make_node("ArgMax", ["probabilities"], ["label_index"], axis=1, keepdims=0, name="argmax"),
              helper.make_node("Gather", ["classes", "label_index"], ["label"], axis=0, name="label")]
    outputs = [helper.make_tensor_value_info("label", label_type, [None]),
               helper.make_tensor_value_info("probabilities", out_type, [None, len(plan.classes)])]
    return nodes, outputs, initializers


def _metadata(ensemble, plan):
    meta = {"estimator": ensemble.estimator_name, "objective": ensemble.objective, "link": plan.link,
            "n_features": str(ensemble.n_features)}
    if ensemble.feature_names is not None:
        meta["feature_names"] = json.dumps(ensemble.feature_names)
    if ensemble.categories is not None:
        meta["categorical_features"] = json.dumps([f for f in range(ensemble.n_features) if ensemble.is_categorical(f)])
    return meta


def to_onnx(estimator, *, ml_opset=None, dtype="float32"):
    """See :func:`treeforge.export.to_onnx`."""
    onnx = _import_onnx()
    from onnx import helper

    from .._version import __version__

    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    if ml_opset not in (None, 3, 5):
        raise ValueError(f"ml_opset must be 3, 5 or None, got {ml_opset!r}")
    ensemble = Ensemble(estimator)
    plan = Plan(ensemble)
    categorical = has_categorical_splits(ensemble)
    if ml_opset == 3 and categorical:
        raise NotImplementedError("this model has categorical (category-set) splits, which ai.onnx.ml opset 3 cannot "
                                  "express: use ml_opset=5 (TreeEnsemble's BRANCH_MEMBER)")
    ml_opset = ml_opset or (5 if categorical else 3)
    np_dtype = _DTYPES[dtype]
    elem_type = onnx.TensorProto.FLOAT if np_dtype == np.float32 else onnx.TensorProto.DOUBLE
    out_type = elem_type if ml_opset == 5 else onnx.TensorProto.FLOAT
    if ml_opset == 5:
        trees = _opset5_node(helper, ensemble, plan, _trees(ensemble, plan), np_dtype)
    else:
        trees = _opset3_node(helper, ensemble, plan, np_dtype)
    nodes, outputs, initializers = _output_graph(helper, ensemble, plan, out_type)
    graph = helper.make_graph(
        [trees, *nodes], f"treeforge_{ensemble.estimator_name}",
        [helper.make_tensor_value_info("X", elem_type, [None, ensemble.n_features])], outputs, initializers)
    model = helper.make_model(graph, producer_name="treeforge", producer_version=__version__,
                              opset_imports=[helper.make_opsetid("", _OPSETS[ml_opset]),
                                             helper.make_opsetid("ai.onnx.ml", ml_opset)],
                              doc_string=f"treeforge {ensemble.estimator_name} ({ensemble.objective})")
    model.ir_version = _IR_VERSIONS[ml_opset]
    helper.set_model_props(model, _metadata(ensemble, plan))
    onnx.checker.check_model(model)
    return model
