"""Plots of fitted estimators (matplotlib, imported on first use; ``pip install "treeforge[plot]"``):
feature importances by kind, learning curves from the recorded scores, one tree drawn with its splits and
leaf values (no Graphviz needed; ``to_graphviz`` writes DOT source for those who have it), a summary of
SHAP values (no ``shap`` needed), and the command line's ``--plot`` image, drawn with the same functions.
Each function draws on ``ax`` (a new figure when None) and returns the Axes."""

import math

import numpy as np

from ._files import atomic_write

_CURVE_ROWS = 20_000  # rows scored per iteration for the --plot learning curve


def _learning_curve(estimator, task, X, y):
    """Log loss or RMSE after each iteration, or None for a model without staged predictions."""
    from sklearn import metrics

    if task == "ranking":  # a sample of rows would cut queries apart
        return None
    if task == "regression":
        staged = getattr(estimator, "staged_predict", None)
        return None if staged is None else [math.sqrt(metrics.mean_squared_error(y, out)) for out in staged(X)]
    staged = getattr(estimator, "staged_predict_proba", None)
    return None if staged is None else [metrics.log_loss(y, out, labels=estimator.classes_) for out in staged(X)]


def plot_training(path, estimator, task, sets, feature_names):
    """Write a PNG: learning curves of the (X, y) pairs in ``sets`` and the top 20 feature importances.

    Parameters
    ----------
    path : str
        The PNG file, written atomically (through a temporary file beside it).
    estimator : fitted treeforge estimator
        Its ``staged_predict`` (regression) or ``staged_predict_proba`` draws the curves; an estimator
        without them gets importances only.
    task : {"regression", "binary", "multiclass", "ranking"}
        RMSE is drawn for regression, log loss for classification; ranking gets importances only.
    sets : dict of str to (X, y)
        Curve label to data: X of shape (n_samples, n_features), y of shape (n_samples,); at most
        20,000 rows of each (drawn with a fixed seed) are scored.
    feature_names : list of str
        The bar labels, one per feature.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (curve_axes, bar_axes) = plt.subplots(1, 2, figsize=(12, 4.8), constrained_layout=True)
    for label, (X, y) in sets.items():
        if len(y) > _CURVE_ROWS:
            rows = np.random.default_rng(0).choice(len(y), _CURVE_ROWS, replace=False)
            X, y = X[rows], y[rows]
        curve = _learning_curve(estimator, task, X, y)
        if curve is not None:
            curve_axes.plot(np.arange(1, len(curve) + 1), curve, label=label)
    curve_axes.set(xlabel="iteration", ylabel="RMSE" if task == "regression" else "log loss", title="learning curve")
    if curve_axes.lines:
        curve_axes.legend()
    if hasattr(estimator, "feature_importances_"):
        plot_importance(estimator, ax=bar_axes, feature_names=feature_names)
    try:  # like the model file: never a half-written image
        atomic_write(path, lambda handle: figure.savefig(handle, dpi=110, format="png"))
    finally:
        plt.close(figure)


def _axes(ax, size):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=size, constrained_layout=True)[1]


def _names(estimator, feature_names=None):
    if feature_names is not None:
        return list(feature_names)
    names = getattr(estimator, "feature_names_in_", None)
    return [str(name) for name in names] if names is not None else [f"feature {j}" for j in range(estimator.n_features_in_)]


def plot_importance(estimator, importance_type="gain", max_features=20, ax=None, feature_names=None, X=None):
    """Horizontal bars of the ``max_features`` most important features, the largest on top.

    ``importance_type`` and ``X`` as ``estimator.get_feature_importance`` takes them ('gain', 'split',
    'cover', or 'shap' with the rows X to explain).
    """
    importances = np.asarray(estimator.get_feature_importance(importance_type, X=X), dtype=np.float64)
    names = _names(estimator, feature_names)
    top = np.argsort(-importances, kind="stable")[:max_features][::-1]
    ax = _axes(ax, (6, 0.3 * len(top) + 1.5))
    ax.barh([names[i] for i in top], importances[top])
    xlabel = {"gain": "share of split gain", "split": "splits", "cover": "cover of splits",
              "shap": "mean |SHAP value|"}[importance_type]
    ax.set(xlabel=xlabel, title="feature importances")
    return ax


def plot_learning_curve(estimator, ax=None, metric=None):
    """The scores recorded at fit, iteration by iteration: the evaluation history ``evals_result_``
    of ``fit(eval_set=...)``, one curve per set of ``metric`` (default: the first one recorded);
    else ``train_score_`` and, with early stopping, ``validation_score_`` (gradient boosting; the
    score is the negative loss unless ``scoring`` names another). ValueError when the fit recorded
    none, or for a metric it did not record."""
    history = getattr(estimator, "evals_result_", None) or {}
    if history:
        return _plot_history(history, _axes(ax, (6, 4)), metric)
    if metric is not None:
        raise ValueError(f"metric={metric!r} names an evaluation metric, but {type(estimator).__name__} was fitted "
                         "without eval_set: there is no evaluation history.")
    curves = {label: np.asarray(getattr(estimator, name, ()))
              for label, name in (("training", "train_score_"), ("validation", "validation_score_"))}
    curves = {label: scores for label, scores in curves.items() if scores.size}
    if not curves:
        raise ValueError(f"{type(estimator).__name__} recorded no scores at fit: a learning curve needs "
                         "train_score_ or validation_score_ (gradient boosting).")
    ax = _axes(ax, (6, 4))
    for label, scores in curves.items():  # entry 0 is the score before the first iteration
        ax.plot(np.arange(len(scores)), scores, label=label)
    scoring = getattr(estimator, "scoring", "loss")
    ax.set(xlabel="iteration", ylabel="negative loss" if scoring in (None, "loss") else str(scoring),
           title="learning curve")
    ax.legend()
    return ax


def _plot_history(history, ax, metric):
    """Each evaluation set's values of ``metric`` after each iteration (1, 2, ...)."""
    recorded = list(dict.fromkeys(name for per_set in history.values() for name in per_set))
    metric = recorded[0] if metric is None else metric
    if metric not in recorded:
        raise ValueError(f"metric={metric!r} was not recorded at fit; the evaluation history holds {recorded}.")
    for set_name, per_set in history.items():
        if metric in per_set:
            ax.plot(np.arange(1, len(per_set[metric]) + 1), per_set[metric], label=set_name)
    ax.set(xlabel="iteration", ylabel=metric, title="learning curve")
    ax.legend()
    return ax


def _node_label(node, precision):
    if node["is_leaf"]:
        value = np.ravel(node["value"])
        return "value " + ", ".join(f"{v:.{precision}g}" for v in value[:4]) + (" ..." if value.size > 4 else "")
    if node["decision"] == "in":
        categories = ", ".join(str(c) for c in node["categories"][:6]) + (", ..." if len(node["categories"]) > 6 else "")
        return f"{node['feature']} in {{{categories}}}"
    return f"{node['feature']} <= {node['threshold']:.{precision}g}"


def _tree_layout(nodes):
    """(x, depth) of each node: leaves one unit apart left to right, a parent above its children's middle."""
    position, next_leaf = {}, [0.0]

    def place(i):
        node = nodes[i]
        if node["is_leaf"]:
            position[i] = next_leaf[0]
            next_leaf[0] += 1.0
        else:
            position[i] = (place(node["left"]) + place(node["right"])) / 2
        return position[i]

    place(0)
    return position


def tree_nodes(estimator, tree_index=0):
    """The nodes of one tree as dicts keyed by node index (``trees_to_dataframe``'s columns)."""
    table = estimator.trees_to_dataframe()
    tree = table[table["tree"] == tree_index]
    if tree.empty:
        raise ValueError(f"tree_index={tree_index} is not a tree of the model (0 to {table['tree'].max()}).")
    return {int(row["node"]): row for row in tree.to_dict("records")}


def plot_tree(estimator, tree_index=0, ax=None, precision=3):
    """Tree ``tree_index`` drawn top-down: each split's test (``feature <= threshold`` or
    ``feature in {categories}``, left child on the left: "yes"), where missing values go, and each
    leaf's value."""
    nodes = tree_nodes(estimator, tree_index)
    x = _tree_layout(nodes)
    width, depth = max(x.values()) + 1, max(node["depth"] for node in nodes.values()) + 1
    ax = _axes(ax, (min(2.2 * width + 1, 40), 1.2 * depth + 1))
    for i, node in nodes.items():
        if not node["is_leaf"]:
            for child, label in ((node["left"], "yes"), (node["right"], "no")):
                missing = " / missing" if node["missing"] == ("left" if label == "yes" else "right") else ""
                ax.plot([x[i], x[child]], [-node["depth"], -node["depth"] - 1], color="0.6", zorder=1)
                ax.annotate(label + missing, ((x[i] + x[child]) / 2, -node["depth"] - 0.5), fontsize=7,
                            ha="center", color="0.35")
        ax.text(x[i], -node["depth"], _node_label(node, precision), ha="center", va="center", fontsize=8, zorder=2,
                bbox={"boxstyle": "round", "facecolor": "#e8f0fb" if node["is_leaf"] else "white", "edgecolor": "0.5"})
    ax.set(xlim=(-0.7, width - 0.3), ylim=(-depth + 0.4, 0.6), title=f"tree {tree_index}")
    ax.axis("off")
    return ax


def to_graphviz(estimator, tree_index=0, precision=3):
    """DOT source of tree ``tree_index`` (render it with Graphviz's ``dot``, which treeforge does not need)."""
    nodes = tree_nodes(estimator, tree_index)
    lines = [f"digraph tree_{tree_index} {{", "  node [shape=box, style=rounded];"]
    for i, node in nodes.items():
        label = _node_label(node, precision).replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'  {i} [label="{label}"];')
        if not node["is_leaf"]:
            for child, label in ((node["left"], "yes"), (node["right"], "no")):
                missing = ", missing" if node["missing"] == ("left" if label == "yes" else "right") else ""
                lines.append(f'  {i} -> {child} [label="{label}{missing}"];')
    return "\n".join(lines + ["}"]) + "\n"


def _shap_matrix(estimator_or_values, X, output):
    """(n_samples, n_features) SHAP values of one output: computed by treeforge from a fitted estimator,
    or taken as given (shaped as ``treeforge.inspection.shap_values`` or ``shap`` give them)."""
    if hasattr(estimator_or_values, "_shap_values"):
        from .inspection import shap_values

        values = shap_values(estimator_or_values, X)[0]
    else:
        values = np.asarray(estimator_or_values, dtype=np.float64)
    if values.ndim == 3:
        if output is None or not 0 <= int(output) < values.shape[2]:
            raise ValueError(f"the SHAP values have {values.shape[2]} outputs (one per class): pick one with "
                             f"output=0..{values.shape[2] - 1}, got output={output!r}.")
        values = values[:, :, int(output)]
    if values.ndim != 2 or values.shape[0] != len(X):
        raise ValueError(f"SHAP values of shape (n_samples, n_features[, n_outputs]) with a row per row of X are "
                         f"needed; got shape {values.shape} for {len(X)} rows.")
    return values


def _feature_colours(X, n_features):
    """(n_samples, n_features) each value's place between its feature's 5th and 95th percentiles, in
    [0, 1]; NaN where the value is missing or not a number (drawn grey)."""
    columns = [X.iloc[:, j] for j in range(n_features)] if hasattr(X, "iloc") else list(np.asarray(X, dtype=object).T)
    shades = np.full((len(columns[0]) if columns else 0, n_features), np.nan)
    for j, column in enumerate(columns):
        try:
            values = np.asarray(column, dtype=np.float64)
        except (TypeError, ValueError):  # text categories have no order to colour by
            continue
        if np.all(np.isnan(values)):
            continue
        low, high = np.nanpercentile(values, [5, 95])
        shades[:, j] = np.clip((values - low) / (high - low), 0, 1) if high > low else 0.5
    return shades


def _swarm_offsets(x, n_bins=60):
    """(len(x),) vertical offsets in [-1, 1] that spread dots of close x apart: within each of ``n_bins``
    bins of x the dots take 0, +1, -1, +2, -2, ... scaled by the most any bin holds."""
    if len(x) == 0:
        return np.zeros(0)
    span = np.ptp(x) or 1.0
    bins = np.floor((x - x.min()) / span * (n_bins - 1)).astype(np.int64)
    order = np.argsort(bins, kind="stable")
    ranked = bins[order]
    rank = np.arange(len(x)) - np.searchsorted(ranked, ranked)
    offsets = np.empty(len(x))
    offsets[order] = np.where(rank % 2 == 1, (rank + 1) // 2, -(rank // 2))
    return offsets / max(1.0, np.abs(offsets).max())


def plot_shap_summary(estimator_or_values, X, max_features=20, output=None, feature_names=None, ax=None):
    """SHAP summary (beeswarm): the ``max_features`` features of largest mean |SHAP value|, the largest on
    top, one dot per row at its SHAP value, spread vertically where dots crowd, coloured from blue (a low
    value of the feature) to red (a high one); grey for missing values and text categories. Drawn with
    matplotlib alone: ``shap`` is not needed.

    Parameters
    ----------
    estimator_or_values : fitted treeforge estimator, or ndarray
        An estimator is explained on X (``treeforge.inspection.shap_values``); an array is taken as SHAP
        values of X, of shape (n_samples, n_features) or (n_samples, n_features, n_outputs).
    X : array-like or DataFrame of shape (n_samples, n_features)
        The rows explained; their values colour the dots.
    max_features : int, default=20
    output : int, optional
        Which output to draw where there are several (a class's position in ``classes_``); required then.
    feature_names : list of str, optional
        Defaults to the estimator's ``feature_names_in_``, else X's columns, else "feature j".
    ax : matplotlib Axes, optional
    """
    values = _shap_matrix(estimator_or_values, X, output)
    n_features = values.shape[1]
    if feature_names is None and hasattr(estimator_or_values, "n_features_in_"):
        feature_names = _names(estimator_or_values)
    elif feature_names is None:
        feature_names = [str(c) for c in X.columns] if hasattr(X, "columns") else [f"feature {j}" for j in
                                                                                   range(n_features)]
    top = np.argsort(-np.abs(values).mean(axis=0), kind="stable")[:max_features][::-1]  # the largest on top
    shades = _feature_colours(X, n_features)
    ax = _axes(ax, (7, 0.4 * len(top) + 1.5))
    import matplotlib.pyplot as plt

    colours = plt.get_cmap("coolwarm")
    for position, j in enumerate(top):
        y = position + 0.35 * _swarm_offsets(values[:, j])
        known = ~np.isnan(shades[:, j])
        ax.scatter(values[~known, j], y[~known], s=9, color="0.65", linewidths=0)
        ax.scatter(values[known, j], y[known], s=9, c=shades[known, j], cmap=colours, vmin=0, vmax=1, linewidths=0)
    ax.axvline(0.0, color="0.6", linewidth=0.8, zorder=0)
    ax.set_yticks(np.arange(len(top)), [str(feature_names[j]) for j in top])
    ax.set(ylim=(-0.7, len(top) - 0.3), xlabel="SHAP value (impact on the raw score)", title="SHAP summary")
    bar = ax.figure.colorbar(plt.cm.ScalarMappable(cmap=colours), ax=ax, ticks=[0, 1], aspect=40)
    bar.ax.set_yticklabels(["low", "high"])
    bar.set_label("feature value")
    return ax
