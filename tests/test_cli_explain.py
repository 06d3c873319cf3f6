"""treeforge explain, predict --raw / --leaf and info --importance shap (issue #24): the SHAP values
written add up to the raw score written by --raw, which the link turns into the probabilities; the
interaction columns add up to the SHAP values; the leaves written hold the values the prediction
sums; info's SHAP importances are the mean absolute values explain writes."""

import numpy as np
import pandas as pd
import pytest

from _cli_run import run_cli, succeeded

import treeforge


def write_data(path, n=300, seed=0):
    rng = np.random.default_rng(seed)
    data = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "kind": rng.choice(["x", "y", "z"], n)})
    data.loc[rng.random(n) < 0.1, "b"] = np.nan
    data["value"] = data["a"] * 2 + (data["kind"] == "x") + 0.1 * rng.normal(size=n)
    data["label"] = np.digitize(data["value"], [0.0, 1.5])
    data["yes"] = data["value"] > 0.5
    data.to_csv(path, index=False)
    return data


FEATURES = ("a", "b", "kind")
TARGETS = ("value", "label", "yes")


def train(tmp_path, model, target, *params):
    write_data(tmp_path / "data.csv")
    succeeded(run_cli("train", "data.csv", "--target", target, "--ignore", *(set(TARGETS) - {target}), "--model", model,
                      "--out", "m.json", "--quiet", "--early-stopping", "off", *[f"--param={p}" for p in params],
                      cwd=tmp_path))


def written(tmp_path, *args):
    succeeded(run_cli(*args, "--out", "out.csv", cwd=tmp_path))
    return pd.read_csv(tmp_path / "out.csv")


def prefixes(table):
    """The per-class prefixes 'CLASS:' of explain's columns, or [''] for one output."""
    return [column[:-len("expected_value")] for column in table.columns if column.endswith("expected_value")]


MODELS = [("gbdt", "value", "max_iter=15"), ("gbdt", "yes", "max_iter=15"), ("gbdt", "label", "max_iter=10"),
          ("rf", "label", "n_estimators=8"), ("rf", "value", "n_estimators=8"), ("adaboost", "label", "n_estimators=6")]


@pytest.mark.parametrize("model, target, param", MODELS)
def test_shap_values_add_up_to_the_raw_score_that_the_link_turns_into_predictions(model, target, param, tmp_path):
    train(tmp_path, model, target, param)
    shap = written(tmp_path, "explain", "m.json", "data.csv")
    raw = written(tmp_path, "predict", "m.json", "data.csv", "--raw")
    columns = prefixes(shap)
    assert len(columns) == raw.shape[1] and shap.shape[1] == len(columns) * (len(FEATURES) + 1)
    sums = np.column_stack([shap[[f"{p}{name}" for name in (*FEATURES, "expected_value")]].sum(axis=1) for p in columns])
    np.testing.assert_allclose(sums, raw.to_numpy(), rtol=1e-9, atol=1e-9)
    assert np.abs(shap[f"{columns[0]}a"]).mean() > np.abs(shap[f"{columns[0]}b"]).mean()  # y follows a, not b
    if target == "value":
        prediction = written(tmp_path, "predict", "m.json", "data.csv")["prediction"]
        np.testing.assert_allclose(raw["raw"], prediction, rtol=1e-9, atol=1e-12)
        return
    proba = written(tmp_path, "predict", "m.json", "data.csv", "--proba").filter(like="proba_").to_numpy()
    margin = raw.to_numpy()
    if model == "rf":  # a forest's raw score is its probabilities
        np.testing.assert_allclose(margin, proba, atol=1e-6)
    elif margin.shape[1] == 1:
        np.testing.assert_allclose(1 / (1 + np.exp(-margin[:, 0])), proba[:, 1], atol=1e-6)
    elif model == "gbdt":
        softmax = np.exp(margin - margin.max(axis=1, keepdims=True))
        np.testing.assert_allclose(softmax / softmax.sum(axis=1, keepdims=True), proba, atol=1e-6)


@pytest.mark.parametrize("model, target, param", [MODELS[0], MODELS[2]])
def test_interaction_columns_add_up_to_the_shap_values(model, target, param, tmp_path):
    train(tmp_path, model, target, param)
    shap = written(tmp_path, "explain", "m.json", "data.csv")
    pairs = written(tmp_path, "explain", "m.json", "data.csv", "--interactions")
    for prefix in prefixes(shap):
        for first in FEATURES:
            group = pairs[[f"{prefix}{first} x {second}" for second in FEATURES]].sum(axis=1)
            np.testing.assert_allclose(group, shap[f"{prefix}{first}"], rtol=1e-9, atol=1e-9)
            for second in FEATURES:  # the matrix is symmetric
                np.testing.assert_allclose(pairs[f"{prefix}{first} x {second}"], pairs[f"{prefix}{second} x {first}"],
                                           rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(pairs[f"{prefix}expected_value"], shap[f"{prefix}expected_value"])
    assert pairs.shape[1] == len(prefixes(shap)) * (len(FEATURES) ** 2 + 1)


@pytest.mark.parametrize("model, target, param", [MODELS[0], MODELS[2], MODELS[4]])
def test_leaves_hold_the_values_the_prediction_sums(model, target, param, tmp_path):
    train(tmp_path, model, target, param)
    leaves = written(tmp_path, "predict", "m.json", "data.csv", "--leaf")
    raw = written(tmp_path, "predict", "m.json", "data.csv", "--raw").to_numpy()
    estimator = treeforge.load_model(tmp_path / "m.json")
    table = estimator.trees_to_dataframe().set_index(["tree", "node"])
    assert list(leaves.columns) == [f"leaf_{t}" for t in range(len(leaves.columns))]
    n_outputs = raw.shape[1]
    total = np.zeros_like(raw)
    for t, column in enumerate(leaves.columns):
        nodes = table.loc[[(t, int(node)) for node in leaves[column]]]
        assert nodes["is_leaf"].all()
        total[:, t % n_outputs] += np.array([np.ravel(value)[0] for value in nodes["value"]])
    if model == "rf":
        np.testing.assert_allclose(total / len(leaves.columns), raw, rtol=1e-9, atol=1e-12)
    else:  # the base score aside, the trees' leaves add up to the margin
        offset = raw - total
        np.testing.assert_allclose(offset, np.broadcast_to(offset[:1], offset.shape), rtol=1e-9, atol=1e-9)


def test_info_ranks_by_the_mean_absolute_values_explain_writes(tmp_path):
    train(tmp_path, "gbdt", "label", "max_iter=10")
    shap = written(tmp_path, "explain", "m.json", "data.csv")
    expected = {name: sum(np.abs(shap[f"{p}{name}"]).mean() for p in prefixes(shap)) for name in FEATURES}
    result = succeeded(run_cli("info", "m.json", "--importance", "shap", "--data", "data.csv", cwd=tmp_path))
    listed = [line.split() for line in result.stdout.splitlines() if line.startswith("  ")]
    assert [row[0] for row in listed] == sorted(FEATURES, key=lambda name: -expected[name])
    for row in listed:
        np.testing.assert_allclose(float(row[1]), expected[row[0]], rtol=1e-5)
    assert "by mean |SHAP value| over 300 rows of data.csv" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["predict", "m.json", "data.csv", "--raw", "--leaf"], "not allowed with argument"),
    (["predict", "m.json", "data.csv", "--contrib", "--raw"], "not allowed with argument"),
    (["predict", "m.json", "data.csv", "--leaf", "--proba"], "error: --proba adds probabilities"),
    (["info", "m.json", "--importance", "shap"], "error: --importance shap averages SHAP values over rows"),
    (["info", "m.json", "--data", "data.csv"], "error: --data is read only by --importance shap"),
])
def test_misused_options_exit_with_2(args, message, tmp_path):
    train(tmp_path, "gbdt", "label", "max_iter=3")
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("model, target, args, start", [
    ("adaboost", "label", ["predict", "--leaf"], "error: --leaf: AdaBoostClassifier does not tell the leaves"),
    ("adaboost", "value", ["predict", "--raw"], "error: --raw: AdaBoostRegressor predicts the weighted median"),
    ("adaboost", "value", ["explain"], "error: explain:"),
    ("adaboost", "value", ["info", "--importance", "shap", "--data"], "error: --importance shap:"),
])
def test_what_a_model_cannot_give_is_refused_on_one_line(model, target, args, start, tmp_path):
    train(tmp_path, model, target, "n_estimators=3")
    command, *options = args
    result = run_cli(command, "m.json", *(["data.csv", *options] if command != "info" else [*options, "data.csv"]),
                     cwd=tmp_path)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert result.returncode == 1 and "Traceback" not in result.stderr and len(errors) == 1
    assert errors[0].startswith(start), result.stderr


def test_explain_never_overwrites_an_input(tmp_path):
    train(tmp_path, "gbdt", "value", "max_iter=3")
    before = (tmp_path / "data.csv").read_bytes()
    result = run_cli("explain", "m.json", "data.csv", "--out", "data.csv", cwd=tmp_path)
    assert result.returncode == 1 and "is the same file as DATA.csv" in result.stderr
    assert (tmp_path / "data.csv").read_bytes() == before
