"""treelite export: a fitted estimator as a ``treelite.Model``, built with treelite's model builder
(treelite >= 4, ``treelite.model_builder``).

Thresholds and leaf values are float64 (treelite's runtime, GTIL, reads float64 input then): a
numeric split is ``x <= threshold`` with the node's ``default_left`` for NaN, as in treeforge. A
split on a categorical feature lists the category values of one side (``categorical_test``) so that
NaN and any value that is no category take the node's missing direction, as in treeforge; treelite
reads a category as an unsigned integer, so the categories must be non-negative integers, and a
non-integral value at a categorical feature is truncated by treelite (treeforge treats it as no
category: missing). The link is treelite's postprocessor ('sigmoid', 'softmax', 'exponential').
"""

import numpy as np

from ._ensemble import Ensemble, Plan

_READER = "treelite"
_MAX_CATEGORY = np.iinfo(np.uint32).max
_POSTPROCESSORS = {"identity": "identity", "exp": "exponential", "sigmoid": "sigmoid", "softmax": "softmax"}


def _import_builder():
    try:
        import treelite
    except ImportError as exc:
        raise ImportError("treeforge.export.to_treelite needs the treelite package: pip install "
                          "'treeforge[treelite]'") from exc
    try:
        from treelite import model_builder
    except ImportError as exc:
        raise ImportError(f"treeforge.export.to_treelite needs treelite 4 or later (its model_builder); found "
                          f"{getattr(treelite, '__version__', 'an older version')}") from exc
    return model_builder


def _integer_categories(ensemble, node, members):
    """The members of a categorical split as treelite's unsigned integer categories; ValueError otherwise."""
    if np.all((members >= 0) & (members <= _MAX_CATEGORY) & (members == np.floor(members))):
        return [int(value) for value in members]
    feature = int(ensemble.feature[node])
    raise ValueError(f"feature {ensemble.feature_label(feature)!r} has categories that are not non-negative "
                     "integers, but treelite reads categories as unsigned integers: fit on integer category "
                     "values to export this model to treelite.")


def _layout(ensemble, plan):
    """(task type, num_target, num_class, leaf_vector_shape, target_id, class_id, base_scores, postprocessor);
    the base scores are the margin's columns (n_outputs = num_target * max(num_class))."""
    n_trees, outputs = ensemble.n_trees, ensemble.n_outputs
    base = ensemble.base_score * plan.scale
    if plan.kind == "regression":
        shape = (outputs, 1) if ensemble.leaf_dim > 1 else (1, 1)
        target = [-1 if ensemble.leaf_dim > 1 else 0] * n_trees
        return "kRegressor", outputs, [1] * outputs, shape, target, [0] * n_trees, base, _POSTPROCESSORS[plan.link]
    n_classes = len(plan.classes)
    if plan.link == "sigmoid":
        return "kBinaryClf", 1, [1], (1, 1), [0] * n_trees, [0] * n_trees, base, "sigmoid"
    if ensemble.leaf_dim == 1:  # a booster's tree per class
        classes = [tree % n_classes for tree in range(n_trees)]
        return "kMultiClf", 1, [n_classes], (1, 1), [0] * n_trees, classes, base, "softmax"
    postprocessor = "softmax" if plan.link == "softmax" else "identity_multiclass"
    return "kMultiClf", 1, [n_classes], (1, n_classes), [0] * n_trees, [-1] * n_trees, base, postprocessor


def _add_tree(builder, ensemble, tree, scale):
    """Every node of tree ``tree`` that routes (splits sending every value one way left out), keyed by node index."""
    first, _ = ensemble.tree_nodes(tree)
    pending = [ensemble.routed_node(first, _READER)]
    builder.start_tree()
    while pending:
        node = pending.pop()
        builder.start_node(node)
        if ensemble.is_leaf(node):
            values = ensemble.value[node] * scale
            builder.leaf(float(values[0]) if ensemble.leaf_dim == 1 else [float(v) for v in values])
            builder.end_node()
            continue
        left = ensemble.routed_node(ensemble.left_child(node), _READER)
        right = ensemble.routed_node(ensemble.right_child(node), _READER)
        feature, default_left = int(ensemble.feature[node]), bool(ensemble.default_left[node])
        if ensemble.is_categorical(feature):
            members, members_go_left = ensemble.category_test(node, _READER)
            builder.categorical_test(feature, default_left=default_left,
                                     category_list=_integer_categories(ensemble, node, members),
                                     category_list_right_child=not members_go_left, left_child_key=left,
                                     right_child_key=right)
        else:
            builder.numerical_test(feature, float(ensemble.threshold[node]), default_left=default_left, opname="<=",
                                   left_child_key=left, right_child_key=right)
        builder.gain(float(ensemble.gain[node]))
        builder.end_node()
        pending += [right, left]
    builder.end_tree()


def to_treelite(estimator):
    """See :func:`treeforge.export.to_treelite`."""
    model_builder = _import_builder()
    ensemble = Ensemble(estimator)
    plan = Plan(ensemble)
    task, n_targets, n_classes, shape, target_id, class_id, base, postprocessor = _layout(ensemble, plan)
    builder = model_builder.ModelBuilder(
        threshold_type="float64", leaf_output_type="float64",
        metadata=model_builder.Metadata(num_feature=ensemble.n_features, task_type=task,
                                        average_tree_output=plan.average, num_target=n_targets,
                                        num_class=n_classes, leaf_vector_shape=shape),
        tree_annotation=model_builder.TreeAnnotation(num_tree=ensemble.n_trees, target_id=target_id,
                                                     class_id=class_id),
        postprocessor=model_builder.PostProcessorFunc(name=postprocessor), base_scores=base.tolist(),
        attributes={"producer": "treeforge", "estimator": ensemble.estimator_name, "objective": ensemble.objective})
    for tree in range(ensemble.n_trees):
        _add_tree(builder, ensemble, tree, plan.scale)
    return builder.commit()
