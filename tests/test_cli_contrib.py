"""treeforge predict --contrib (issue #24): each feature's SHAP contribution and the expected value,
written beside the prediction, sum to the model's raw score; per class for several outputs."""

import numpy as np
import pandas as pd
import pytest

from _cli_run import run_cli, succeeded



def write_data(path, n=300, seed=0):
    rng = np.random.default_rng(seed)
    data = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "kind": rng.choice(["x", "y", "z"], n)})
    data["value"] = data["a"] * 2 + (data["kind"] == "x") + 0.1 * rng.normal(size=n)
    data["label"] = np.digitize(data["value"], [0.0, 1.5])
    data.to_csv(path, index=False)
    return data


@pytest.mark.parametrize("model, target, params", [
    ("gbdt", "value", ["max_iter=20"]),
    ("gbdt", "label", ["max_iter=20"]),
    ("rf", "label", ["n_estimators=10"]),
])
def test_contributions_sum_to_the_raw_score(model, target, params, tmp_path):
    data = write_data(tmp_path / "data.csv")
    options = [f"--param={p}" for p in params]
    succeeded(run_cli("train", "data.csv", "--target", target, "--ignore", *({"value", "label"} - {target}),
                      "--model", model, "--out", "m.json", "--quiet", "--early-stopping", "off", *options,
                      cwd=tmp_path))
    succeeded(run_cli("predict", "m.json", "data.csv", "--contrib", *(["--proba"] if target == "label" else []),
                      "--precision", "15", "--out", "c.csv", cwd=tmp_path))
    written = pd.read_csv(tmp_path / "c.csv")
    classes = [column[len("proba_"):] for column in written.columns if column.startswith("proba_")]
    per_class = bool(classes) and f"contrib_{classes[0]}_a" in written
    prefixes = [f"contrib_{label}_" for label in classes] if per_class else ["contrib_"]
    sums = np.column_stack([written[[f"{prefix}{name}" for name in ("a", "b", "kind", "expected")]].sum(axis=1)
                            for prefix in prefixes])
    if target == "value":  # squared error: the raw score is the prediction
        np.testing.assert_allclose(sums[:, 0], written["prediction"], rtol=1e-9, atol=1e-9)
        return
    proba = written[[f"proba_{label}" for label in classes]].to_numpy()
    if model == "rf":  # a forest classifier's raw score is its probabilities
        expected = sums
    elif sums.shape[1] == 1:
        expected = 1.0 / (1.0 + np.exp(-sums[:, :1]))
        expected = np.column_stack([1.0 - expected, expected])
    else:
        expected = np.exp(sums - sums.max(axis=1, keepdims=True))
        expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(expected, proba, rtol=1e-9, atol=1e-12)


def test_a_model_without_additive_scores_is_refused_on_one_line(tmp_path):
    write_data(tmp_path / "data.csv")
    succeeded(run_cli("train", "data.csv", "--target", "value", "--ignore", "label", "--model", "adaboost",
                      "--out", "m.json", "--quiet", cwd=tmp_path))
    result = run_cli("predict", "m.json", "data.csv", "--contrib", cwd=tmp_path)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert result.returncode != 0 and "Traceback" not in result.stderr and len(errors) == 1
    assert errors[0].startswith("error: --contrib:"), result.stderr
