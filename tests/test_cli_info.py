"""``treeforge info`` reads model files without the estimators (issue #28 item 5): what it shows is what
the loaded estimator says, and a file that loading refuses is refused by info too."""

import json

import numpy as np
import pytest

from treeforge import (
    AdaBoostClassifier,
    AdaBoostRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
    load_model,
)
from treeforge import cli
from treeforge.cli._info import _IMPORTANCES, read_model_description

ESTIMATORS = {
    "HistGradientBoostingClassifier": lambda: HistGradientBoostingClassifier(max_iter=8, categorical_features=[3]),
    "HistGradientBoostingRegressor": lambda: HistGradientBoostingRegressor(max_iter=8),
    "RandomForestClassifier": lambda: RandomForestClassifier(n_estimators=6, random_state=0),
    "RandomForestRegressor": lambda: RandomForestRegressor(n_estimators=6, max_depth=3, random_state=0),
    "AdaBoostClassifier": lambda: AdaBoostClassifier(n_estimators=7, random_state=0),
    "AdaBoostRegressor": lambda: AdaBoostRegressor(n_estimators=7, random_state=0),
}


def _data(is_classifier, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(400, 4))
    X[:, 3] = rng.integers(0, 5, size=400)
    score = X[:, 0] + 0.5 * X[:, 1] * X[:, 2] + (X[:, 3] == 2)
    return X, (score > 0.3).astype(int) if is_classifier else score


@pytest.fixture(params=sorted(ESTIMATORS))
def saved(request, tmp_path):
    estimator = ESTIMATORS[request.param]()
    X, y = _data("Classifier" in request.param)
    estimator.fit(X, y)
    estimator.feature_names_in_ = np.array(["a", "b", "c", "d"], dtype=object)  # as if fitted on a frame
    path = tmp_path / "model.json"
    estimator.save_model(path)
    return request.param, estimator, path


def test_info_shows_what_the_loaded_estimator_says(saved, capsys):
    name, estimator, path = saved
    class_name, model_kind, model, fitted, meta = read_model_description(str(path))
    loaded = load_model(path)
    assert class_name == name and meta["features"] == ["a", "b", "c", "d"]
    np.testing.assert_array_equal(_IMPORTANCES[model_kind](model, fitted), loaded.feature_importances_)
    np.testing.assert_array_equal(loaded.feature_importances_, estimator.feature_importances_)
    assert cli.main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"model: {name}" in out and f"{model.n_trees} trees" in out
    best = int(np.argmax(estimator.feature_importances_))
    assert f"  {'abcd'[best]}  {estimator.feature_importances_[best]:.4f}" in out.splitlines()[-4]
    if hasattr(estimator, "n_iter_"):
        assert f"{estimator.n_iter_} iterations" in out


def _edited(path, edit):
    document = json.loads(path.read_text())
    edit(document)
    document.pop("checksum")  # edited on purpose: validated without it
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize("edit, fragment", [
    (lambda doc: doc.update(estimator="Pipeline"), "unknown estimator 'Pipeline'"),
    (lambda doc: doc["fitted"].update(n_features_in_=3), "n_features_in_=3 but the model has 4 features"),
    (lambda doc: doc["model"].update(n_features=-1), "Invalid treeforge model file"),
])
def test_info_refuses_what_loading_refuses(saved, capsys, edit, fragment):
    _, _, path = saved
    _edited(path, edit)
    with pytest.raises(ValueError, match="Invalid treeforge model file"):
        load_model(path)
    assert cli.main(["info", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and fragment in err and len(err.splitlines()) == 1, err


def test_info_refuses_a_damaged_file(saved, capsys):
    _, _, path = saved
    path.write_text(path.read_text().replace('"n_features_in_":4', '"n_features_in_":5'))
    assert cli.main(["info", str(path)]) == 1
    assert "checksum does not match" in capsys.readouterr().err


def test_info_refuses_adaboost_weights_that_do_not_match_its_trees(tmp_path, capsys):
    estimator = AdaBoostRegressor(n_estimators=5, random_state=0).fit(*_data(False))
    estimator.feature_names_in_ = np.array(["a", "b", "c", "d"], dtype=object)
    estimator.save_model(tmp_path / "model.json")
    weights = {"__ndarray__": {"dtype": "<f8", "shape": [1], "data": [1.0]}}
    _edited(tmp_path / "model.json", lambda doc: doc["fitted"].update(estimator_weights_=weights))
    assert cli.main(["info", str(tmp_path / "model.json")]) == 1
    assert "estimator_weights_" in capsys.readouterr().err
