"""treeforge.plotting.plot_shap_summary (issue #24): a beeswarm of SHAP values drawn with matplotlib
alone (Agg): features ranked by mean |SHAP value| with the largest on top, one dot per row at its
SHAP value, coloured by the feature's value; and plot_importance's 'shap' bars."""

import io

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

from treeforge import HistGradientBoostingRegressor, RandomForestClassifier, plotting  # noqa: E402
from treeforge.inspection import shap_values  # noqa: E402


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"noise": rng.normal(size=300), "strong": rng.normal(size=300), "weak": rng.normal(size=300),
                      "colour": pd.Categorical(rng.choice(["red", "blue"], 300))})
    X.loc[rng.random(300) < 0.1, "weak"] = np.nan
    y = 4 * X["strong"] + X["weak"].fillna(0) + 2 * (X["colour"] == "red")
    return X, y


@pytest.fixture(scope="module")
def boosted(frame):
    X, y = frame
    return HistGradientBoostingRegressor(max_iter=30, random_state=0).fit(X, y)


def png_shape(ax):
    buffer = io.BytesIO()
    ax.figure.savefig(buffer, format="png")
    plt.close(ax.figure)
    buffer.seek(0)
    return matplotlib.image.imread(buffer).shape


def tick_names(ax):
    return [label.get_text() for label in ax.get_yticklabels()]


def test_features_are_ranked_by_mean_absolute_shap_value(boosted, frame):
    X, _ = frame
    ax = plotting.plot_shap_summary(boosted, X, max_features=3)
    values, _ = shap_values(boosted, X)
    ranked = [X.columns[j] for j in np.argsort(-np.abs(values).mean(axis=0))]
    assert tick_names(ax)[::-1] == ranked[:3]  # the largest on top
    assert tick_names(ax)[-1] == "strong"
    height, width, _ = png_shape(ax)
    assert 200 < height < 2000 and 300 < width < 3000


def test_each_row_is_a_dot_at_its_shap_value_coloured_by_the_features_value(boosted, frame):
    X, _ = frame
    ax = plotting.plot_shap_summary(boosted, X)
    values, _ = shap_values(boosted, X)
    strong = list(X.columns).index("strong")
    row = tick_names(ax).index("strong")
    dots = [c for c in ax.collections if len(c.get_offsets())]
    points = np.concatenate([c.get_offsets() for c in dots])
    on_row = points[np.abs(points[:, 1] - row) < 0.5]
    np.testing.assert_allclose(np.sort(on_row[:, 0]), np.sort(values[:, strong]))
    assert len(points) == len(X) * X.shape[1]
    coloured = next(c for c in dots if np.abs(c.get_offsets()[:, 1] - row).max() < 0.5 and c.get_array() is not None)
    rgba = coloured.to_rgba(coloured.get_array())
    highest = np.argmax(np.asarray(coloured.get_offsets())[:, 0])  # strong pushes up with its value: red
    assert rgba[highest, 0] > rgba[highest, 2]
    assert len(set(tick_names(ax))) == X.shape[1]
    plt.close(ax.figure)


def test_values_given_draw_the_same_plot_and_several_outputs_need_one_picked(frame):
    X, y = frame
    X = X.drop(columns="colour")  # forests take numbers
    forest = RandomForestClassifier(n_estimators=10, max_depth=5, random_state=0).fit(X, np.digitize(y, [-2, 2]))
    values, _ = shap_values(forest, X)
    with pytest.raises(ValueError, match="pick one with output=0..2"):
        plotting.plot_shap_summary(forest, X)
    from_model = plotting.plot_shap_summary(forest, X, output=2)
    from_values = plotting.plot_shap_summary(values, X, output=2)
    assert tick_names(from_model) == tick_names(from_values) == \
        [X.columns[j] for j in np.argsort(-np.abs(values[:, :, 2]).mean(axis=0), kind="stable")][::-1]
    plt.close("all")
    with pytest.raises(ValueError, match="a row per row of X"):
        plotting.plot_shap_summary(values[:10, :, 0], X)


def test_importance_bars_of_mean_absolute_shap_values(boosted, frame):
    X, _ = frame
    ax = plotting.plot_importance(boosted, "shap", X=X)
    expected = np.sort(boosted.get_feature_importance("shap", X=X))
    np.testing.assert_allclose([bar.get_width() for bar in ax.patches], expected)
    assert ax.get_xlabel() == "mean |SHAP value|" and tick_names(ax)[-1] == "strong"
    plt.close(ax.figure)
