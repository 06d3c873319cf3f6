"""treeforge.plotting (issue #24): each plot renders (Agg) and shows what the model holds: the bars
are get_feature_importance's values, the curves the recorded scores, the tree's boxes its nodes."""

import io

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

from treeforge import HistGradientBoostingRegressor, RandomForestClassifier, plotting  # noqa: E402


@pytest.fixture(scope="module")
def boosted():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"size": rng.random(400), "colour": pd.Categorical(rng.choice(["red", "green", "blue"], 400)),
                      "noise": rng.normal(size=400)})
    X.loc[rng.random(400) < 0.05, "size"] = np.nan
    y = 2 * X["size"].fillna(0.5) + (X["colour"] == "red")
    return HistGradientBoostingRegressor(max_iter=25, max_leaf_nodes=6, early_stopping=True, random_state=0).fit(X, y)


def png_shape(ax):
    buffer = io.BytesIO()
    ax.figure.savefig(buffer, format="png")
    plt.close(ax.figure)
    buffer.seek(0)
    return matplotlib.image.imread(buffer).shape


@pytest.mark.parametrize("kind", ["gain", "split", "cover"])
def test_importance_bars_are_the_importances(boosted, kind):
    ax = plotting.plot_importance(boosted, kind, max_features=2)
    bars = ax.patches
    expected = np.sort(boosted.get_feature_importance(kind))[::-1][:2]
    np.testing.assert_allclose([bar.get_width() for bar in bars][::-1], expected)
    names = [label.get_text() for label in ax.get_yticklabels()][::-1]
    assert names == [boosted.feature_names_in_[j] for j in np.argsort(-boosted.get_feature_importance(kind))[:2]]
    assert png_shape(ax)[0] > 100


def test_learning_curve_draws_the_recorded_scores(boosted):
    ax = plotting.plot_learning_curve(boosted)
    lines = {line.get_label(): line.get_ydata() for line in ax.get_lines()}
    np.testing.assert_array_equal(lines["training"], boosted.train_score_)
    np.testing.assert_array_equal(lines["validation"], boosted.validation_score_)
    png_shape(ax)
    forest = RandomForestClassifier(n_estimators=3).fit(np.eye(4), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="recorded no scores"):
        plotting.plot_learning_curve(forest)


def test_learning_curve_draws_the_evaluation_history():
    rng = np.random.default_rng(1)
    X, X_a, X_b = (rng.normal(size=(n, 3)) for n in (300, 100, 100))
    y, y_a, y_b = (X_[:, 0] + 0.1 * rng.normal(size=len(X_)) for X_ in (X, X_a, X_b))
    model = HistGradientBoostingRegressor(max_iter=12, random_state=0).fit(
        X, y, eval_set=[(X_a, y_a), (X_b, y_b)], eval_names=["a", "b"], eval_metric=["rmse", "l1"])
    for metric, expected in ((None, "rmse"), ("l1", "l1")):
        ax = plotting.plot_learning_curve(model, metric=metric)
        lines = {line.get_label(): (line.get_xdata(), line.get_ydata()) for line in ax.get_lines()}
        assert set(lines) == {"a", "b"} and ax.get_ylabel() == expected
        for name in ("a", "b"):
            np.testing.assert_array_equal(lines[name][1], model.evals_result_[name][expected])
            np.testing.assert_array_equal(lines[name][0], np.arange(1, 13))
        png_shape(ax)
    with pytest.raises(ValueError, match="was not recorded"):
        plotting.plot_learning_curve(model, metric="auc")


@pytest.mark.parametrize("tree_index", [0, 3])
def test_the_tree_drawing_names_each_node(boosted, tree_index):
    table = boosted.trees_to_dataframe()
    nodes = table[table["tree"] == tree_index]
    ax = plotting.plot_tree(boosted, tree_index)
    texts = [t.get_text() for t in ax.texts]
    splits, leaves = nodes[~nodes["is_leaf"]], nodes[nodes["is_leaf"]]
    assert sum(text.startswith("value ") for text in texts) == len(leaves)
    for _, split in splits.iterrows():
        expected = (f"{split['feature']} <= {split['threshold']:.3g}" if split["decision"] == "<="
                    else f"{split['feature']} in {{" + ", ".join(map(str, split["categories"])))
        assert any(text.startswith(expected) for text in texts), expected
    assert sum(text.endswith("/ missing") for text in texts) == len(splits)  # one side of each split takes them
    assert png_shape(ax)[1] > 200
    with pytest.raises(ValueError, match="not a tree"):
        plotting.plot_tree(boosted, 10_000)


def test_graphviz_source_has_every_node_and_edge(boosted):
    table = boosted.trees_to_dataframe()
    nodes = table[table["tree"] == 2]
    dot = plotting.to_graphviz(boosted, 2)
    assert dot.startswith("digraph tree_2 {") and dot.rstrip().endswith("}")
    assert dot.count("->") == len(nodes) - 1
    assert dot.count("[label=") == len(nodes) + len(nodes) - 1
