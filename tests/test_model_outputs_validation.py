"""Model files whose structure is valid but whose outputs would be garbage are refused at load
(#22 item 2): huge leaf values whose sum overflows, class shares outside [0, 1] or not summing
to 1, NaN gains, classes_ duplicated, missing, non-finite or out of order, n_jobs=0, AdaBoost
estimator weights that are not the model's tree weights."""

import json

import numpy as np
import pytest

import treeforge


@pytest.fixture
def saved_forest(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] + rng.normal(size=200) > 0).astype(int)
    path = tmp_path / "forest.json"
    treeforge.RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(X, y).save_model(path)
    return path


def edited(path, edit):
    document = json.loads(path.read_text())
    edit(document)
    document.pop("checksum", None)  # edited on purpose: validated without it
    path.write_text(json.dumps(document))
    return path


def values(document):
    return document["model"]["value"]["__ndarray__"]["data"]


def set_classes(document, data, dtype="<f8"):
    document["fitted"]["classes_"] = {"__ndarray__": {"dtype": dtype, "shape": [len(data)], "data": data}}


@pytest.mark.parametrize("edit, match", [
    (lambda d: values(d).__setitem__(0, 1e308), "too large"),
    (lambda d: values(d).__setitem__(0, 1.5), "outside \\[0, 1\\]"),
    (lambda d: values(d).__setitem__(0, values(d)[0] * 0.5), "sum to 1"),
    (lambda d: d["model"]["gain"]["__ndarray__"]["data"].__setitem__(0, float("nan")), "gain"),
    (lambda d: set_classes(d, [1, 0], "<i8"), "sorted order"),
    (lambda d: set_classes(d, [0, 0], "<i8"), "distinct"),
    (lambda d: set_classes(d, [0.0, float("nan")]), "non-finite"),
    (lambda d: d["params"].update(n_jobs=0), "n_jobs"),
])
def test_damaged_outputs_are_refused(saved_forest, edit, match):
    with pytest.raises(ValueError, match=match):
        treeforge.load_model(edited(saved_forest, edit))


def test_the_undamaged_file_loads(saved_forest):
    assert treeforge.load_model(saved_forest).n_estimators == 3


def test_a_changed_value_fails_the_checksum(saved_forest):
    """A leaf value nudged within every structural rule (a flipped digit) is caught by the checksum."""
    document = json.loads(saved_forest.read_text())
    assert document["checksum"].startswith("sha256:")
    values(document)[1], values(document)[0] = values(document)[0], values(document)[1]  # still shares summing to 1
    saved_forest.write_text(json.dumps(document))
    with pytest.raises(ValueError, match="checksum does not match"):
        treeforge.load_model(saved_forest)


def test_a_file_without_a_checksum_still_loads(saved_forest):
    """Files written before checksums (or edited on purpose, key removed) are validated as before."""
    original = treeforge.load_model(saved_forest)
    document = json.loads(saved_forest.read_text())
    document.pop("checksum")
    saved_forest.write_text(json.dumps(document))
    X = np.random.default_rng(1).normal(size=(20, 4))
    np.testing.assert_array_equal(treeforge.load_model(saved_forest).predict_proba(X), original.predict_proba(X))


def test_what_cannot_be_a_model_file_is_refused_before_it_is_read(tmp_path):
    """#22 item 10: a FIFO (which would block), a device, and a large file of NUL bytes are refused
    at once; before, the last was read whole into memory and /dev/zero never ended."""
    import os

    zeros = tmp_path / "zeros.json"
    with open(zeros, "wb") as handle:
        handle.truncate(1 << 30)  # a sparse GiB of NUL bytes
    with pytest.raises(ValueError, match="does not start with a JSON object"):
        treeforge.load_model(zeros)
    # Checked after the file above, so that a regression fails there rather than blocking here.
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        treeforge.load_model(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        treeforge.load_model("/dev/zero")


def test_a_file_larger_than_this_machine_can_load_is_refused_before_it_is_read(tmp_path):
    """A sparse file starting like a model but larger than a quarter of the memory (parsing needs
    about four times the file) is refused from its size alone; read, it would exhaust memory."""
    from treeforge.ensemble._model_io import loadable_model_bytes

    limit = loadable_model_bytes()
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as handle:
        handle.write(b'{"format": "treeforge", ')
        handle.truncate(limit + 1)
    with pytest.raises(ValueError, match="more than this machine can load"):
        treeforge.load_model(huge)


@pytest.fixture
def saved_adaboost(tmp_path):
    """A SAMME model stopped by a perfect first stump: estimator_weights_ [1, 0, 0], one tree."""
    X = np.random.default_rng(0).normal(size=(60, 3))
    path = tmp_path / "adaboost.json"
    treeforge.AdaBoostClassifier(n_estimators=3, random_state=0).fit(X, (X[:, 0] > 0).astype(int)).save_model(path)
    return path


def estimator_weights(document):
    return document["fitted"]["estimator_weights_"]["__ndarray__"]["data"]


@pytest.mark.parametrize("weights", [[0.0, 0.0, 0.0], [-0.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [float("nan"), 0.0, 0.0],
                                     [float("inf"), 0.0, 0.0], [1.0, 2.0, 0.0], [0.5, 0.0, 0.0]])
def test_adaboost_estimator_weights_must_be_the_models(saved_adaboost, weights):
    """Found by the fuzz stage (tests/_fuzz.py): a first weight of -0.0 made every SAMME probability
    NaN (0/0); SAMME decisions divide by the weights' sum, which must be the model's tree weights."""
    with pytest.raises(ValueError, match="estimator_weights_"):
        treeforge.load_model(edited(saved_adaboost, lambda d: estimator_weights(d).__setitem__(slice(None), weights)))


@pytest.mark.parametrize("edit", [
    lambda d: d["fitted"].update(n_classes_=float("nan")),
    lambda d: d["fitted"].update(n_classes_=3),
    lambda d: d["fitted"].update(n_classes_=True),
    lambda d: d["fitted"]["classes_"]["__ndarray__"].update(shape=[1], data=[0]),
], ids=["n_classes_ nan", "n_classes_ 3", "n_classes_ True", "one class of two"])
def test_adaboost_n_classes_must_count_classes(saved_adaboost, edit):
    """Found by the fuzz stage: n_classes_ = nan gave NaN probabilities, and classes_ cut to one
    class (a single-class model also has two outputs) an IndexError in predict."""
    with pytest.raises(ValueError, match="n_classes_"):
        treeforge.load_model(edited(saved_adaboost, edit))


def test_adaboost_with_its_own_weights_loads(saved_adaboost):
    X = np.random.default_rng(1).normal(size=(20, 3))
    loaded = treeforge.load_model(edited(saved_adaboost, lambda d: None))
    assert np.isfinite(loaded.predict_proba(X)).all()
