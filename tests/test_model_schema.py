"""The documented model format: docs/model-format.md and docs/model-format.schema.json (issue #24).

Saved models of every estimator kind, files written by ``treeforge train`` and the committed files
of every format version validate against the JSON Schema; damaged files do not; the schema and the
page know every field the core writes; and the version policy holds: every version has committed
files (tests/fixtures/model_v<N>/), and they load and predict as they did when written.

Run ``python tests/test_model_schema.py`` to write the version-2 fixtures again (only when they are
missing: committed fixtures are never rewritten).
"""

import copy
import json
from pathlib import Path

import numpy as np
import pytest

import treeforge as tf
from treeforge import _core

jsonschema = pytest.importorskip("jsonschema")
# The small two-target forest leaves some rows in every bag (scikit-learn's warning says so).
pytestmark = pytest.mark.filterwarnings("ignore:Some inputs do not have OOB scores")

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "docs" / "model-format.schema.json").read_text())
PAGE = (ROOT / "docs" / "model-format.md").read_text()
FIXTURES = Path(__file__).parent / "fixtures"
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def errors_of(document):
    return [error.message for error in VALIDATOR.iter_errors(document)]


def _data(seed=0, n=400):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    X[:, 2] = rng.integers(0, 6, size=n)
    X[rng.random(X.shape) < 0.1] = np.nan
    f = np.nan_to_num(X)
    y = f[:, 0] + (f[:, 2] % 2) + 0.1 * rng.normal(size=n)
    return X, y


# Every estimator kind, as the version-2 fixtures hold them: (estimator, target).
V2_MODELS = {
    "gbdt_regression_categorical": (lambda: tf.HistGradientBoostingRegressor(max_iter=4, max_bins=16,
                                                                             categorical_features=[2]), "y"),
    "gbdt_binary": (lambda: tf.HistGradientBoostingClassifier(max_iter=4, max_bins=16), "binary"),
    "gbdt_multiclass": (lambda: tf.HistGradientBoostingClassifier(max_iter=3, max_bins=16), "classes"),
    "forest_classifier_categorical": (lambda: tf.RandomForestClassifier(
        n_estimators=3, max_depth=4, max_bins=16, categorical_features=[2], random_state=0), "classes"),
    "forest_two_targets": (lambda: tf.RandomForestRegressor(n_estimators=8, max_depth=3, max_bins=16, oob_score=True,
                                                            random_state=0), "two"),
    "adaboost_classifier": (lambda: tf.AdaBoostClassifier(n_estimators=4, max_bins=16, random_state=0), "classes"),
    "adaboost_r2": (lambda: tf.AdaBoostRegressor(n_estimators=4, max_bins=16, random_state=0), "y"),
}


def _fit(name):
    X, y = _data()
    targets = {"y": y, "binary": y > 0.5, "classes": np.digitize(y, [0, 1]), "two": np.column_stack([y, -y])}
    make, target = V2_MODELS[name]
    return make().fit(X, targets[target])


def _predict(estimator, X):
    return estimator.predict_proba(X) if hasattr(estimator, "predict_proba") else estimator.predict(X)


def test_the_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("name", sorted(V2_MODELS))
def test_saved_models_of_every_kind_validate(name, tmp_path):
    path = tmp_path / "model.json"
    _fit(name).save_model(path, metadata={"run": 3, "notes": ["a", None], "nan": float("nan")})
    assert errors_of(json.loads(path.read_text())) == []


def test_a_model_with_named_text_categories_validates(tmp_path):
    import pandas as pd

    rng = np.random.default_rng(1)
    X = pd.DataFrame({"x": rng.normal(size=200), "color": pd.Categorical(rng.choice(["red", "blue"], 200))})
    estimator = tf.RandomForestClassifier(n_estimators=2, categorical_features="from_dtype").fit(X, X["x"] > 0)
    estimator.save_model(tmp_path / "model.json")
    document = json.loads((tmp_path / "model.json").read_text())
    assert document["fitted"]["feature_names_in_"]["__ndarray__"]["dtype"] == "object"
    assert errors_of(document) == []


def test_a_file_written_by_train_validates(tmp_path):
    from treeforge.cli import main

    rng = np.random.default_rng(2)
    lines = ["x,color,label"] + [f"{v:.3f},{c},{'yes' if v > 0 else 'no'}"
                                  for v, c in zip(rng.normal(size=120), rng.choice(["a", "b", "c"], 120))]
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "model.json"
    assert main(["train", str(tmp_path / "data.csv"), "--target", "label", "--out", str(out), "--quiet",
                 "--param", "max_iter=3"]) == 0
    document = json.loads(out.read_text())
    assert "cli" in document["metadata"] and errors_of(document) == []


def _fixture_files(version):
    return sorted((FIXTURES / f"model_v{version}").glob("*.json"))


@pytest.mark.parametrize("version", range(1, _core.MODEL_FORMAT_VERSION + 1))
def test_every_version_has_committed_files_that_validate(version):
    files = _fixture_files(version)
    assert files, f"tests/fixtures/model_v{version}/ holds no model file: the version policy needs them"
    for path in files:
        document = json.loads(path.read_text())
        assert document["version"] == version
        assert errors_of(document) == [], path.name


@pytest.mark.parametrize("name", sorted(V2_MODELS))
def test_version_2_files_load_and_predict_as_written(name, tmp_path):
    expected = np.load(FIXTURES / "model_v2" / "expected.npz")
    X = expected["X"]
    model = tf.load_model(FIXTURES / "model_v2" / f"{name}.json")
    np.testing.assert_array_equal(_predict(model, X), expected[name])
    model.save_model(tmp_path / "again.json")  # saved again in the current version: the same predictions
    np.testing.assert_array_equal(_predict(tf.load_model(tmp_path / "again.json"), X), expected[name])


def test_the_schema_and_the_page_know_every_field():
    X, y = _data()
    fields = set(tf.HistGradientBoostingRegressor(max_iter=1).fit(X, y)._model.to_arrays())
    assert set(SCHEMA["properties"]["model"]["properties"]) == fields
    assert SCHEMA["properties"]["version"]["enum"] == list(range(1, _core.MODEL_FORMAT_VERSION + 1))
    for field in fields:
        assert f"`{field}`" in PAGE, field
    for version in range(1, _core.MODEL_FORMAT_VERSION + 1):
        assert f"| {version} |" in PAGE, f"the page's version table lacks version {version}"
    for name in sorted(V2_MODELS):
        for attribute in _fit(name)._io_fitted_attributes:
            assert f"`{attribute}`" in PAGE, attribute


def _damaged(document, change):
    damaged = copy.deepcopy(document)
    change(damaged)
    return damaged


DAMAGES = {
    "unknown estimator": lambda d: d.update(estimator="GradientBoostingRegressor"),
    "future version": lambda d: d.update(version=99),
    "versions disagree": lambda d: d["model"].update(format_version=1),
    "a node array missing": lambda d: d["model"].pop("left"),
    "a version-2 field missing": lambda d: d["model"].pop("split_kind"),
    "a field of another version": lambda d: d["model"].update(surprise=1),
    "a wrong dtype": lambda d: d["model"]["feature"]["__ndarray__"].update(dtype="<f8"),
    "a float where an int belongs": lambda d: d["model"]["left"]["__ndarray__"]["data"].__setitem__(0, 1.5),
    "a fitted attribute missing": lambda d: d["fitted"].pop("n_iter_"),
    "another estimator's attribute": lambda d: d["fitted"].update(n_classes_=2),
    "a bad checksum": lambda d: d.update(checksum="md5:00"),
    "an unknown top-level key": lambda d: d.update(extra={}),
    "an unknown aggregation": lambda d: d["model"].update(aggregation="median"),
    "a non-finite float as a bare string": lambda d: d["model"]["gain"]["__ndarray__"]["data"].__setitem__(0, "nan"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_damaged_files_do_not_validate(damage, tmp_path):
    _fit("gbdt_binary").save_model(tmp_path / "model.json")
    document = json.loads((tmp_path / "model.json").read_text())
    assert errors_of(document) == []
    assert errors_of(_damaged(document, DAMAGES[damage])), damage


def write_version_2_fixtures():
    """Write tests/fixtures/model_v2/ (model files and expected.npz) where it does not exist yet."""
    folder = FIXTURES / "model_v2"
    if folder.exists():
        raise SystemExit(f"{folder} exists: committed fixtures are never rewritten")
    folder.mkdir()
    X, _ = _data(seed=9, n=60)
    X[:5, 2] = 7.0  # a category unseen at fit: missing
    expected = {"X": X}
    for name in V2_MODELS:
        estimator = _fit(name)
        estimator.save_model(folder / f"{name}.json")
        expected[name] = _predict(estimator, X)
    np.savez_compressed(folder / "expected.npz", **expected)


if __name__ == "__main__":
    write_version_2_fixtures()
