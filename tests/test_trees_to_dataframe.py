"""trees_to_dataframe() and dump_model(): every node of every tree, checked against the model (issue #24).

The central property: walking each row through the trees using only the table (features by name,
thresholds, category sets by value, missing directions, children) reaches the leaves the core
reaches, and those leaves' values give the model's raw margin (boosting and SAMME: base score plus
their sum; forests: their mean; AdaBoost.R2: their weighted median, the prediction).
"""

import json
import sys

import numpy as np
import pytest

import treeforge as tf
from treeforge.ensemble._base import validate_predict_data
from treeforge.export import dump_model, trees_to_dataframe

pd = pytest.importorskip("pandas")

COLORS = np.array(["red", "green", "blue", "amber", "violet"], dtype=object)


def _frame(rng, n, unseen=False):
    X = pd.DataFrame({"size": rng.normal(size=n), "age": rng.normal(size=n), "weight": rng.normal(size=n)})
    X.loc[rng.random(n) < 0.1, "size"] = np.nan
    X.loc[rng.random(n) < 0.1, "age"] = np.nan
    colors = rng.choice(np.append(COLORS, "black") if unseen else COLORS, size=n).astype(object)
    colors[rng.random(n) < 0.1] = None
    X["color"] = pd.Categorical(colors)
    return X


def _target(X, rng):
    size, age = np.nan_to_num(X["size"].to_numpy()), np.nan_to_num(X["age"].to_numpy())
    return 2 * size - age ** 2 + X["color"].isin(["red", "blue"]).to_numpy() + 0.2 * rng.normal(size=len(X))


CASES = {
    "gbdt_regression": lambda: tf.HistGradientBoostingRegressor(max_iter=8, max_leaf_nodes=8),
    "gbdt_binary": lambda: tf.HistGradientBoostingClassifier(max_iter=6),
    "gbdt_multiclass": lambda: tf.HistGradientBoostingClassifier(max_iter=5, max_leaf_nodes=6),
    "forest_classifier": lambda: tf.RandomForestClassifier(n_estimators=4, max_depth=6, random_state=0,
                                                           categorical_features="from_dtype"),
    "forest_two_targets": lambda: tf.RandomForestRegressor(n_estimators=3, max_depth=5, random_state=0),
    "adaboost_classifier": lambda: tf.AdaBoostClassifier(n_estimators=6, categorical_features="from_dtype",
                                                         random_state=0),
    "adaboost_r2": lambda: tf.AdaBoostRegressor(n_estimators=5, random_state=0),
}


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(7)
    X, X_test = _frame(rng, 1500), _frame(rng, 300, unseen=True)
    score = _target(X, rng)
    targets = {"gbdt_binary": score > 0, "gbdt_multiclass": np.digitize(score, [-1, 0.5]),
               "forest_classifier": np.digitize(score, [-1, 0.5]), "adaboost_classifier": np.digitize(score, [-1, 0.5]),
               "forest_two_targets": np.column_stack([score, X["weight"].to_numpy()])}
    numeric = X.drop(columns="color").to_numpy()  # AdaBoost.R2 and the two-target forest: numbers only
    models = {}
    for name, make in CASES.items():
        data = numeric if name in ("adaboost_r2", "forest_two_targets") else X
        models[name] = (make().fit(data, targets.get(name, score)), X_test[list(X.columns)[:3]].to_numpy()
                        if data is numeric else X_test)
    return models


def _goes_left(record, value, known):
    """Where a row's value goes at a split, read from the table alone."""
    missing = value is None or (isinstance(value, float) and np.isnan(value))
    if record["decision"] == "in":
        if missing or value not in known:  # NaN and categories unseen at fit take the missing direction
            return record["missing"] == "left"
        return value in record["categories"]
    return record["missing"] == "left" if missing else value <= record["threshold"]


def walk(table, dump, X):
    """(n_rows, n_trees) leaf node reached by each row, walking the table."""
    rows = X.to_numpy(dtype=object) if hasattr(X, "to_numpy") else X.astype(object)
    categories = dump["categories"] or [None] * dump["n_features"]
    trees = [group.to_dict("records") for _, group in table.groupby("tree", sort=True)]
    leaves = np.zeros((len(rows), len(trees)), dtype=np.int64)
    for t, nodes in enumerate(trees):
        for i, row in enumerate(rows):
            record = nodes[0]
            while not record["is_leaf"]:
                feature = record["feature_index"]
                left = _goes_left(record, row[feature], set(categories[feature] or ()))
                record = nodes[record["left"] if left else record["right"]]
            leaves[i, t] = record["node"]
    return leaves


def margin_from_leaves(table, dump, leaves):
    """The raw margin the leaves reached give: base + sum per output (mean for forests)."""
    values = table.set_index(["tree", "node"])["value"]
    n_rows, n_trees = leaves.shape
    margin = np.tile(np.asarray(dump["base_score"], dtype=np.float64), (n_rows, 1))
    for t in range(n_trees):
        leaf_values = np.array([np.atleast_1d(values[(t, node)]) for node in leaves[:, t]], dtype=np.float64)
        output = dump["trees"][t]["output"]
        if output < 0:
            margin += leaf_values
        else:
            margin[:, output] += leaf_values[:, 0]
    return margin / n_trees if dump["aggregation"] == "mean" else margin


@pytest.mark.parametrize("name", sorted(CASES))
def test_walking_the_table_gives_the_core_leaves_and_margin(fitted, name):
    estimator, X = fitted[name]
    table, dump = estimator.trees_to_dataframe(), estimator.dump_model()
    leaves = walk(table, dump, X)
    np.testing.assert_array_equal(leaves, estimator._model.predict_leaf(validate_predict_data(estimator, X)))
    if dump["aggregation"] == "weighted_median":
        values = table.set_index(["tree", "node"])["value"]
        outputs = np.array([[values[(t, node)] for t, node in enumerate(row)] for row in leaves])
        weights = np.array([tree["weight"] for tree in dump["trees"]])
        order = np.argsort(outputs, axis=1, kind="stable")
        cdf = np.cumsum(weights[order], axis=1)
        median = order[np.arange(len(X)), np.argmax(cdf >= 0.5 * cdf[:, -1:], axis=1)]
        np.testing.assert_allclose(outputs[np.arange(len(X)), median], estimator.predict(X), rtol=1e-12)
        return
    np.testing.assert_allclose(margin_from_leaves(table, dump, leaves), estimator._raw_margin(X), rtol=1e-9,
                               atol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_table_holds_the_model_arrays(fitted, name):
    estimator = fitted[name][0]
    table, arrays = estimator.trees_to_dataframe(), estimator._model.to_arrays()
    assert list(table.columns) == ["tree", "node", "parent", "depth", "output", "is_leaf", "feature", "feature_index",
                                   "decision", "threshold", "categories", "left", "right", "missing", "gain", "cover",
                                   "count", "value"]
    assert len(table) == len(arrays["feature"])
    for column in ("gain", "cover", "count"):
        np.testing.assert_array_equal(table[column].to_numpy(), arrays[column])
    split = arrays["left"] >= 0
    np.testing.assert_array_equal(table.is_leaf.to_numpy(), ~split)
    np.testing.assert_array_equal(table.feature_index[split], arrays["feature"][split])
    np.testing.assert_array_equal(table.left[split], arrays["left"][split])
    np.testing.assert_array_equal(table.missing[split].to_numpy() == "left", arrays["default_left"][split] == 1)
    numeric = split & (table.decision == "<=").to_numpy()
    np.testing.assert_array_equal(table.threshold[numeric], arrays["threshold"][numeric])
    names = getattr(estimator, "feature_names_in_", None)
    expected = [names[f] if names is not None else f for f in arrays["feature"][split]]
    assert table.feature[split].tolist() == expected
    assert table.feature[~split].isna().all() and (table.left[~split] == -1).all()
    sizes = np.diff(arrays["tree_offsets"])
    np.testing.assert_array_equal(table.tree.to_numpy(), np.repeat(np.arange(len(sizes)), sizes))
    assert (table.parent[table.node == 0] == -1).all() and (table.depth[table.node == 0] == 0).all()
    children = table[split]
    for side in ("left", "right"):
        child = table.set_index(["tree", "node"]).loc[list(zip(children.tree, children[side]))]
        np.testing.assert_array_equal(child.parent.to_numpy(), children.node.to_numpy())
        np.testing.assert_array_equal(child.depth.to_numpy(), children.depth.to_numpy() + 1)


def test_category_sets_are_values_as_the_tree_views_give_them(fitted):
    estimator = fitted["forest_classifier"][0]
    table = estimator.trees_to_dataframe()
    sets = table[table.decision == "in"]
    assert len(sets) > 0 and set(sets.feature) == {"color"}
    for tree, node, categories in zip(sets.tree, sets.node, sets.categories):
        view_set = estimator.estimators_[tree].tree_.category_sets[node]
        assert set(categories) == set(view_set.tolist()) and set(categories) <= set(COLORS)


def test_outputs_and_values(fitted):
    multiclass, forest = fitted["gbdt_multiclass"][0], fitted["forest_classifier"][0]
    table = multiclass.trees_to_dataframe()
    np.testing.assert_array_equal(table.output.to_numpy(), table.tree.to_numpy() % 3)
    assert table.value.dtype == np.float64
    table = forest.trees_to_dataframe()
    assert (table.output == -1).all()
    leaf_values = np.stack(table.value[table.is_leaf].to_numpy())
    assert leaf_values.shape[1] == 3
    np.testing.assert_allclose(leaf_values.sum(axis=1), 1.0)


def _flatten(node, tree, out):
    out.append((tree, node))
    for side in ("left", "right"):
        if side in node:
            _flatten(node[side], tree, out)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_dump_is_json_and_holds_the_table(fitted, name):
    estimator = fitted[name][0]
    dump, table = estimator.dump_model(), estimator.trees_to_dataframe().set_index(["tree", "node"])
    assert json.loads(json.dumps(dump)) == dump
    assert dump["format"] == "treeforge-dump" and dump["estimator"] == type(estimator).__name__
    assert dump["n_trees"] == len(dump["trees"]) == estimator._model.n_trees
    nodes = []
    for tree in dump["trees"]:
        _flatten(tree["tree_structure"], tree["tree_index"], nodes)
    assert len(nodes) == len(table)
    for tree, node in nodes:
        row = table.loc[(tree, node["node"])]
        assert node["cover"] == row.cover and node["count"] == row["count"]
        np.testing.assert_array_equal(np.asarray(node["value"]), np.asarray(row.value, dtype=np.float64))
        if row.is_leaf:
            assert "left" not in node and "feature" not in node
            continue
        assert (node["feature"], node["feature_index"], node["decision"], node["missing"], node["gain"]) == (
            row.feature, row.feature_index, row.decision, row.missing, row.gain)
        assert node.get("threshold", np.nan) == row.threshold or node["categories"] == list(row.categories)


def test_the_dump_describes_the_model(fitted):
    dump = fitted["gbdt_binary"][0].dump_model()
    assert dump["link"] == "sigmoid" and dump["classes"] == [False, True]
    assert dump["feature_names"] == ["size", "age", "weight", "color"]
    assert dump["categories"][:3] == [None, None, None] and sorted(dump["categories"][3]) == sorted(COLORS)
    assert fitted["adaboost_r2"][0].dump_model()["link"] is None  # no export can express a weighted median
    assert fitted["forest_two_targets"][0].dump_model()["leaf_dim"] == 2


def test_the_functions_and_methods_agree(fitted):
    estimator = fitted["gbdt_regression"][0]
    pd.testing.assert_frame_equal(trees_to_dataframe(estimator), estimator.trees_to_dataframe())
    assert dump_model(estimator) == estimator.dump_model()


def test_only_treeforge_trees_are_described():
    from sklearn.exceptions import NotFittedError
    from sklearn.tree import DecisionTreeClassifier

    with pytest.raises(NotFittedError):
        tf.RandomForestRegressor().trees_to_dataframe()
    X = np.random.default_rng(0).normal(size=(60, 2))
    user = tf.AdaBoostClassifier(estimator=DecisionTreeClassifier(max_depth=1), n_estimators=2).fit(X, X[:, 0] > 0)
    with pytest.raises(ValueError, match="user's estimator"):
        user.dump_model()


def test_without_pandas_the_error_says_so(fitted, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="needs pandas"):
        fitted["gbdt_binary"][0].trees_to_dataframe()
