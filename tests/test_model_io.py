"""Model files: exact save/load round trips, strict JSON, rejection of damaged files, atomic writes."""

import io
import json
import os
import pickle

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import treeforge
from treeforge import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from treeforge.ensemble import _model_io
from treeforge.ensemble._model_io import load_model_with_metadata, save_model


def _strict_json(path):
    """Parse a file as standard JSON (NaN/Infinity literals are rejected)."""
    def reject(constant):
        raise AssertionError(f"non-standard JSON constant {constant}")

    with open(path, encoding="utf-8") as handle:
        return json.load(handle, parse_constant=reject)


def _write_json(path, document):
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({key: value for key, value in document.items() if key != "checksum"}, handle)


@pytest.fixture
def saved_regressor(tmp_path, regression_data):
    X, y = regression_data
    model = HistGradientBoostingRegressor(max_iter=4, max_leaf_nodes=6, random_state=0).fit(X, y)
    path = tmp_path / "model.json"
    model.save_model(path)
    return model, path, X


@pytest.mark.parametrize(
    "Estimator,data,method",
    [
        (HistGradientBoostingRegressor, "regression_data", "predict"),
        (HistGradientBoostingClassifier, "binary_data", "decision_function"),
        (HistGradientBoostingClassifier, "multiclass_data", "predict_proba"),
    ],
)
def test_round_trip_is_exact(Estimator, data, method, tmp_path, request, assert_same_model):
    X, y = request.getfixturevalue(data)
    X = X.copy()
    X[::7, 1] = np.nan  # missing values follow the learned default direction after loading
    model = Estimator(max_iter=6, early_stopping=True, validation_fraction=0.2, random_state=0).fit(X, y)
    path = tmp_path / "model.json"
    model.save_model(path)
    loaded = treeforge.load_model(path)
    assert type(loaded) is Estimator
    assert loaded.get_params() == model.get_params()
    assert_same_model(loaded, model)
    np.testing.assert_array_equal(getattr(loaded, method)(X), getattr(model, method)(X))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    for attribute in ("n_iter_", "n_features_in_", "n_trees_per_iteration_", "do_early_stopping_"):
        assert getattr(loaded, attribute) == getattr(model, attribute)
    np.testing.assert_array_equal(loaded.train_score_, model.train_score_)
    np.testing.assert_array_equal(loaded.validation_score_, model.validation_score_)
    np.testing.assert_array_equal(loaded.feature_importances_, model.feature_importances_)
    assert loaded.is_categorical_ is None


def test_file_is_versioned_standard_json(saved_regressor):
    model, path, _ = saved_regressor
    document = _strict_json(path)
    assert document["format"] == "treeforge" and document["version"] == 2
    assert document["model"]["format_version"] == document["version"]  # one version number
    assert document["estimator"] == "HistGradientBoostingRegressor"
    assert set(document) == {"format", "version", "estimator", "params", "fitted", "model", "metadata", "checksum"}
    assert document["params"]["max_leaf_nodes"] == 6 and document["metadata"] == {}
    assert document["fitted"]["n_iter_"] == 4


def test_labels_feature_names_params_and_metadata_round_trip(tmp_path):
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    frame = pd.DataFrame(rng.normal(size=(90, 3)), columns=["age", "height", "score"])
    labels = np.array(["low", "mid", "high"])[rng.randint(0, 3, size=90)]
    model = HistGradientBoostingClassifier(
        max_iter=3, class_weight={"low": 2.0, "mid": 1.0, "high": 0.5},
        random_state=np.random.RandomState(3),  # no JSON form: the default is stored
    ).fit(frame, labels)
    path = tmp_path / "model.json"
    metadata = {"target": "level", "ignored": ["id"], "categories": {"city": ["a", "b"]}}
    save_model(model, path, metadata=metadata)
    loaded, loaded_metadata = load_model_with_metadata(path)
    assert loaded_metadata == metadata
    np.testing.assert_array_equal(loaded.classes_, model.classes_)
    np.testing.assert_array_equal(loaded.feature_names_in_, model.feature_names_in_)
    assert loaded.class_weight == model.class_weight and loaded.random_state is None
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    with pytest.raises(ValueError, match="feature names"):
        loaded.predict(frame[["score", "age", "height"]])


def test_integer_class_weight_keys_round_trip(tmp_path, binary_data):
    X, y = binary_data
    model = HistGradientBoostingClassifier(max_iter=2, class_weight={0: 1.0, 1: 2.0}).fit(X, y)
    model.save_model(tmp_path / "m.json")
    assert treeforge.load_model(tmp_path / "m.json").class_weight == {0: 1.0, 1: 2.0}


def test_loaded_model_can_be_pickled_and_warm_started(saved_regressor, regression_data):
    model, path, X = saved_regressor
    loaded = pickle.loads(pickle.dumps(treeforge.load_model(path)))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    loaded.set_params(warm_start=True, max_iter=6).fit(*regression_data)
    assert loaded.n_iter_ == 6


def test_save_requires_a_fitted_treeforge_estimator(tmp_path):
    with pytest.raises(NotFittedError):
        HistGradientBoostingRegressor().save_model(tmp_path / "m.json")
    from sklearn.linear_model import LinearRegression

    with pytest.raises(TypeError, match="not a treeforge estimator"):
        save_model(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]), tmp_path / "m.json")
    assert not os.listdir(tmp_path)


# --------------------------------------------------------------------------------------------
# Damaged files
# --------------------------------------------------------------------------------------------


def test_truncated_file(saved_regressor):
    _, path, _ = saved_regressor
    text = path.read_bytes()
    for cut in (0, 1, len(text) // 3, len(text) // 2, len(text) - 1):
        path.write_bytes(text[:cut])
        with pytest.raises(ValueError, match="Invalid treeforge model file"):
            treeforge.load_model(path)


def test_flipped_bytes_never_crash(saved_regressor):
    """A flipped byte either breaks the file (ValueError) or leaves a model that predicts finitely."""
    model, path, X = saved_regressor
    original = path.read_bytes()
    rng = np.random.RandomState(0)
    n_rejected = 0
    for position in rng.randint(0, len(original), size=150):
        damaged = bytearray(original)
        damaged[position] ^= 1 << rng.randint(0, 8)
        path.write_bytes(bytes(damaged))
        try:
            loaded = treeforge.load_model(path)
        except ValueError:
            n_rejected += 1
            continue
        assert loaded.predict(X).shape == (X.shape[0],)
    assert n_rejected > 0
    damaged = bytearray(original)
    damaged[len(damaged) // 2] = 0xFF  # not UTF-8
    path.write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match="Invalid treeforge model file"):
        treeforge.load_model(path)


def _edit(path, edit):
    document = json.loads(path.read_text())
    edit(document)
    _write_json(path, document)


def _model_array(document, key):
    return document["model"][key]["__ndarray__"]["data"]


def _first_split_node(document):
    return next(i for i, left in enumerate(_model_array(document, "left")) if left >= 0)


@pytest.mark.parametrize(
    "edit,match",
    [
        (lambda d: _model_array(d, "left").__setitem__(_first_split_node(d), 10**6),
         r"child index out of range at tree 0 node \d+$"),
        (lambda d: _model_array(d, "right").__setitem__(_first_split_node(d), -5), "child index"),
        (lambda d: _model_array(d, "left").__setitem__(_first_split_node(d), 0), "child index"),
        (lambda d: _model_array(d, "feature").__setitem__(_first_split_node(d), 99), "feature"),
        (lambda d: _model_array(d, "tree_offsets").__setitem__(-1, 10**9), "offset|tree"),
        (lambda d: d["model"]["left"]["__ndarray__"].update(dtype="<f8"), "left"),
        (lambda d: _model_array(d, "value").__setitem__(0, "zero"), "another type"),
        (lambda d: d["model"]["left"]["__ndarray__"].update(shape=[3]), "elements"),
        (lambda d: d.update(version=3), "unsupported version 3"),
        (lambda d: d.update(version="1"), "unsupported version '1'"),
        (lambda d: d.update(format="xgboost"), "format is 'xgboost'"),
        (lambda d: d.update(estimator="os.system"), "unknown estimator 'os.system'"),
        (lambda d: d.update(estimator="LinearRegression"), "unknown estimator"),
        (lambda d: d.update(params=[1, 2]), "'params' must be a dict"),
        (lambda d: d["params"].update(n_estimators=3), "unknown parameters"),
        (lambda d: d["params"].update(max_bins="many"), "max_bins"),
        (lambda d: d["fitted"].update(n_iter_=99), "n_iter_"),
        (lambda d: d["fitted"].update(n_features_in_=2), "n_features_in_"),
        (lambda d: d["fitted"].update(secret_=1), "unexpected fitted attributes"),
        (lambda d: d["model"].update(objective="poisson"), "objective"),
        (lambda d: d.update(metadata="notes"), "'metadata' must be a dict"),
        (lambda d: d["model"].update(left={"__ndarray__": {"dtype": "V8", "shape": [1], "data": [0]}}), "dtype"),
    ],
    ids=lambda value: getattr(value, "__name__", str(value))[:40],
)
def test_hand_edited_file(saved_regressor, edit, match):
    _, path, _ = saved_regressor
    _edit(path, edit)
    with pytest.raises(ValueError, match=match):
        treeforge.load_model(path)


@pytest.mark.parametrize("section", ["format", "version", "estimator", "params", "fitted", "model", "metadata"])
def test_missing_top_level_key(saved_regressor, section):
    _, path, _ = saved_regressor
    _edit(path, lambda d: d.pop(section))
    with pytest.raises(ValueError, match="Invalid treeforge model file"):
        treeforge.load_model(path)


@pytest.mark.parametrize("key", ["left", "feature", "edges", "base_score", "objective", "n_iter_"])
def test_missing_inner_key(saved_regressor, key):
    _, path, _ = saved_regressor
    _edit(path, lambda d: (d["fitted"] if key.endswith("_") else d["model"]).pop(key))
    with pytest.raises(ValueError, match=key):
        treeforge.load_model(path)


# Offsets past the end of their array once crashed the loader (#22): every offset is checked
# before a range is copied. (key, index, value given the length the offsets cut).
OFFSET_DAMAGE = {
    "edge 1 at 10**9": ("edge_offsets", 1, lambda n: 10**9),
    "edge 1 past the end": ("edge_offsets", 1, lambda n: n + 4),
    "edge last past the end": ("edge_offsets", -1, lambda n: n + 4),
    "edge 1 negative": ("edge_offsets", 1, lambda n: -1),
    "tree 1 at 10**9": ("tree_offsets", 1, lambda n: 10**9),
    "tree 1 past the end": ("tree_offsets", 1, lambda n: n + 4),
}


def _damage_offsets(model_arrays, damage):
    key, index, value = OFFSET_DAMAGE[damage]
    covered = model_arrays["edges"] if key == "edge_offsets" else model_arrays["feature"]
    model_arrays[key][index] = value(len(covered))
    return rf"model {key}\[\d+\] = -?\d+ is out of range"


@pytest.mark.parametrize("damage", OFFSET_DAMAGE)
def test_offsets_past_their_array_are_refused_in_files(saved_regressor, damage):
    _, path, _ = saved_regressor
    document = json.loads(path.read_text())
    match = _damage_offsets({key: spec["__ndarray__"]["data"] if isinstance(spec, dict) else spec
                             for key, spec in document["model"].items()}, damage)
    _write_json(path, document)
    with pytest.raises(ValueError, match="Invalid treeforge model file.*" + match):
        treeforge.load_model(path)


class _ForgingPickler(pickle.Pickler):
    """Pickles every core Model with the given state in place of its own."""

    def __init__(self, file, state):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.state = state

    def reducer_override(self, obj):
        if not isinstance(obj, treeforge._core.Model):
            return NotImplemented
        constructor, args, _, *rest = obj.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
        return (constructor, args, self.state, *rest)


@pytest.mark.parametrize("damage", OFFSET_DAMAGE)
def test_offsets_past_their_array_are_refused_in_pickles(saved_regressor, damage):
    estimator = saved_regressor[0]
    state = estimator._model.__reduce_ex__(pickle.HIGHEST_PROTOCOL)[2]
    state = {key: value.copy() if isinstance(value, np.ndarray) else value for key, value in state.items()}
    match = _damage_offsets(state, damage)
    forged = io.BytesIO()
    _ForgingPickler(forged, state).dump(estimator)
    with pytest.raises(ValueError, match=match):
        pickle.loads(forged.getvalue())


class _AttributePickler(pickle.Pickler):
    """Pickles an estimator with its __dict__ edited by ``edit`` (a tampered pickle)."""

    def __init__(self, file, edit):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.edit = edit

    def reducer_override(self, obj):
        if not isinstance(obj, treeforge.HistGradientBoostingRegressor):
            return NotImplemented
        constructor, args, state, *rest = obj.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
        state = dict(state)
        self.edit(state)
        return (constructor, args, state, *rest)


@pytest.mark.parametrize("edit, error", [
    (lambda s: s.pop("n_features_in_"), ValueError),
    (lambda s: s.pop("n_jobs"), ValueError),
    (lambda s: s.update(n_features_in_=7), ValueError),
    (lambda s: s.update(max_iter="many"), ValueError),
    (lambda s: s.update(_model="not a model"), TypeError),
], ids=["fitted attribute removed", "parameter removed", "features disagree", "bad parameter", "not a model"])
def test_tampered_estimator_pickles_are_refused_when_unpickled(saved_regressor, edit, error):
    """#22: an unpickled fitted estimator is validated as a loaded file is; before, a pickle with a
    removed or mistyped attribute unpickled and then failed at predict with AttributeError."""
    tampered = io.BytesIO()
    _AttributePickler(tampered, edit).dump(saved_regressor[0])
    with pytest.raises(error):
        pickle.loads(tampered.getvalue())
    pickle.loads(pickle.dumps(saved_regressor[0]))  # an untampered pickle still loads


def test_file_and_model_versions_must_agree(saved_regressor):
    _, path, _ = saved_regressor
    _edit(path, lambda d: d["model"].update(format_version=1))
    with pytest.raises(ValueError, match="format_version 1 is not the file's version 2"):
        treeforge.load_model(path)


@pytest.mark.parametrize("content", [b"", b"null", b"[]", b"{}", b"\x00\x01garbage", b"[" * 100_000])
def test_not_a_model_file(tmp_path, content):
    path = tmp_path / "model.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="Invalid treeforge model file"):
        treeforge.load_model(path)


# --------------------------------------------------------------------------------------------
# Atomic writes
# --------------------------------------------------------------------------------------------


def _fail(*args, **kwargs):
    raise OSError("disk full")


def _fail_half_way(document, handle, **kwargs):
    handle.write('{"format": "treeforge", "ver')
    raise OSError("disk full")


@pytest.mark.parametrize(
    "target,replacement",
    [("json.dump", _fail_half_way), ("os.replace", _fail), ("os.fsync", _fail)],
)
def test_failed_save_keeps_the_old_file(saved_regressor, monkeypatch, target, replacement, regression_data):
    _, path, X = saved_regressor
    before = path.read_bytes()
    other = HistGradientBoostingRegressor(max_iter=2, random_state=1).fit(*regression_data)
    module_name, attribute = target.split(".")
    monkeypatch.setattr(getattr(_model_io, module_name), attribute, replacement)
    with pytest.raises(OSError, match="disk full"):
        other.save_model(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == [path.name]  # no temporary file left behind


def test_unserialisable_metadata_writes_nothing(tmp_path, regression_data):
    model = HistGradientBoostingRegressor(max_iter=2).fit(*regression_data)
    with pytest.raises(TypeError, match="metadata"):
        model.save_model(tmp_path / "m.json", metadata={"when": object()})
    with pytest.raises(TypeError, match="metadata must be a dict"):
        model.save_model(tmp_path / "m.json", metadata=["target"])
    assert not os.listdir(tmp_path)


def test_save_replaces_an_existing_file(saved_regressor, regression_data):
    model, path, X = saved_regressor
    bigger = HistGradientBoostingRegressor(max_iter=8, random_state=0).fit(*regression_data)
    bigger.save_model(path)
    assert treeforge.load_model(path).n_iter_ == 8
    assert os.listdir(path.parent) == [path.name]
