"""``treeforge train`` computes only what it shows and holds the data once (issue #28 item 4): no metrics
under --quiet, no per-iteration training loss beside a validation set, a CSV file read with the types
of its sample (the same table as inference gives), the held-out rows taken out in place (stratified as scikit-learn's
split holds them out, in O(n) NumPy), text columns encoded once, and the estimators (scikit-learn)
imported in a thread while the data are read."""

import importlib
import json
import threading

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from _cli_run import write_csv

from treeforge import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from treeforge import cli
from treeforge.cli import _csv, _estimators, _tabular, _train
from treeforge.cli._estimators import MODELS, _declared_parameters, estimator_class


@pytest.fixture()
def data_file(tmp_path):
    """A binary problem of 3000 rows (x, z numeric, a text column, target y)."""
    rng = np.random.default_rng(0)
    rows = [[f"{x:.3f}", f"{z:.3f}", rng.choice(["p", "q", "r"]), int(x + 0.3 * z + rng.normal(0, 0.5) > 0)]
            for x, z in rng.normal(size=(3000, 2))]
    return write_csv(tmp_path / "data.csv", ["x", "z", "kind", "y"], rows)


def _train_args(data_file, tmp_path, *extra):
    return ["train", str(data_file), "--target", "y", "--param", "max_iter=15", "n_iter_no_change=100",
            "--out", str(tmp_path / "model.json"), *extra]


@pytest.mark.parametrize("quiet", [True, False])
def test_metrics_are_computed_only_when_shown(data_file, tmp_path, monkeypatch, capsys, quiet):
    calls = []
    real = _train.compute_metrics
    monkeypatch.setattr(_train, "compute_metrics", lambda *args: calls.append(args) or real(*args))
    assert cli.main(_train_args(data_file, tmp_path, *(["--quiet"] if quiet else []))) == 0
    assert len(calls) == (0 if quiet else 1)
    assert ("log_loss" in capsys.readouterr().out) is not quiet


@pytest.mark.parametrize("validation, recorded", [(["--valid-fraction", "0.2", "--early-stopping", "on"], False),
                                                  (["--param", "validation_fraction=None", "--early-stopping", "on"],
                                                   True)])
def test_training_loss_is_recorded_only_when_it_decides(data_file, tmp_path, monkeypatch, validation, recorded):
    fitted = []
    real_fit = HistGradientBoostingClassifier.fit

    def fit(self, *args, **kwargs):
        fitted.append((self, kwargs["record_train_score"]))
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(HistGradientBoostingClassifier, "fit", fit)
    assert cli.main(_train_args(data_file, tmp_path, "--quiet", *validation)) == 0
    (estimator, asked), = fitted
    assert asked is False and (len(estimator.train_score_) == 16) is recorded
    assert len(estimator.validation_score_) == (0 if recorded else 16)


def test_scikit_learn_is_imported_in_a_thread_while_the_data_are_read(data_file, tmp_path, monkeypatch):
    """The estimators' module (scikit-learn with it) is imported by a thread started before the file is
    read, so that the import overlaps the reading; ``estimator_class`` waits for that thread."""
    events, imports = [], {}
    real_import, real_read = _estimators._import_estimator_module, _tabular.read_table

    def importing(name):
        is_main = threading.current_thread() is threading.main_thread()
        events.append(("import", name, is_main, is_main and not imports[name].is_alive()))
        return real_import(name)

    monkeypatch.setattr(_estimators, "_IMPORTS", imports)
    monkeypatch.setattr(_estimators, "_import_estimator_module", importing)
    monkeypatch.setattr(_tabular, "read_table", lambda *args, **kwargs: events.append(("read", set(imports)))
                        or real_read(*args, **kwargs))
    assert cli.main(_train_args(data_file, tmp_path, "--quiet")) == 0
    module = "ensemble._gradient_boosting"
    assert ("read", {module}) in events  # the thread was started before the file was read
    assert ("import", module, False, False) in events  # imported by the thread
    assert events[-1] == ("import", module, True, True)  # estimator_class: after the thread ended


def test_a_failed_import_in_the_thread_is_reported_by_the_command(data_file, tmp_path, monkeypatch, capsys):
    real_import, calls = importlib.import_module, []

    def failing(name, *args):
        if name.startswith("treeforge.ensemble"):
            calls.append(threading.current_thread() is threading.main_thread())
            raise ImportError(f"no {name} here")
        return real_import(name, *args)

    monkeypatch.setattr(_estimators, "_IMPORTS", {})
    monkeypatch.setattr(_estimators.importlib, "import_module", failing)
    with pytest.raises(ImportError, match="no treeforge.ensemble._gradient_boosting here"):
        cli.main(_train_args(data_file, tmp_path, "--quiet"))
    assert calls == [False, True]  # the thread's failure said nothing; the main thread's import raised


def test_pyarrow_reads_with_the_allocator_numpy_uses(data_file):
    _csv.read_csv(str(data_file))
    assert pa.default_memory_pool().backend_name == "system"


@pytest.mark.parametrize("model", sorted(MODELS))
@pytest.mark.parametrize("task", ["binary", "regression"])
def test_parameter_names_read_from_the_source_are_the_estimators(model, task):
    assert _declared_parameters(model, task) == set(estimator_class(model, task)().get_params())


def test_unknown_parameters_are_refused_before_the_data_are_read(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(_train, "read_training_data", lambda *args: pytest.fail("the data were read"))
    assert cli.main(["train", str(write_csv(tmp_path / "d.csv", ["a", "y"], [[1, 2]])), "--target", "y",
                     "--param", "learning_rat=0.1", "--out", str(tmp_path / "m.json")]) == 1
    assert "did you mean 'learning_rate'?" in capsys.readouterr().err


def _inferred(path):
    """The table of pyarrow's own inference over the whole file, with the reader's options."""
    convert = pacsv.ConvertOptions(null_values=list(_csv.MISSING_MARKERS), strings_can_be_null=True,
                                   quoted_strings_can_be_null=True)
    return pacsv.read_csv(path, convert_options=convert)


@pytest.mark.parametrize("late_value, column_type", [
    ("", pa.int64()), ("2.5", pa.float64()), ("x", pa.string()), ("1e999", pa.float64()),
    ("99999999999999999999", pa.float64()), ("2021-01-02", pa.string()),
])
def test_a_file_is_read_with_the_types_inference_gives(tmp_path, monkeypatch, late_value, column_type):
    rows = [[i, i % 7, "" if i < 9000 else i, "true" if i % 2 else "false"] for i in range(12_000)]
    rows[-1][1] = late_value  # far past the 64 KiB sample
    path = write_csv(tmp_path / "d.csv", ["a", "b", "empty_first", "flag"], rows)
    reads = []
    real = pacsv.read_csv
    monkeypatch.setattr(pacsv, "read_csv", lambda *args, **kwargs: reads.append(1) or real(*args, **kwargs))
    table, _ = _csv.read_csv(str(path))
    assert len(reads) == (2 if column_type == pa.int64() else 3)  # sample, file (and the file again)
    assert table.schema.field("b").type == column_type
    assert table.equals(_inferred(str(path)))


@pytest.mark.parametrize("dtype", [np.float64, object, bool])
def test_held_out_rows_are_taken_out_in_place(dtype):
    rng = np.random.default_rng(1)
    array = rng.integers(0, 5, size=(200_000, 3)).astype(dtype)
    is_kept = rng.random(200_000) < 0.9
    expected = array[is_kept]
    kept = _train._rows_kept_in_place(array, is_kept)
    np.testing.assert_array_equal(kept, expected)
    assert np.shares_memory(kept, array) and kept.flags.c_contiguous
    read_only = np.arange(10.0)
    read_only.flags.writeable = False  # a column of pyarrow's memory
    np.testing.assert_array_equal(_train._rows_kept_in_place(read_only, read_only > 4), np.arange(5.0, 10.0))


def test_a_held_out_split_trains_the_model_it_trained_before(data_file, tmp_path, monkeypatch):
    """The rows moved in place are those a copy took: the model is the estimator's on the copies."""
    assert cli.main(_train_args(data_file, tmp_path, "--quiet", "--valid-fraction", "0.25")) == 0
    saved = json.loads((tmp_path / "model.json").read_text())
    copies = []
    monkeypatch.setattr(_train, "_rows_kept_in_place", lambda array, is_kept: copies.append(1) or array[is_kept])
    assert cli.main(_train_args(data_file, tmp_path, "--quiet", "--valid-fraction", "0.25")) == 0
    assert copies and json.loads((tmp_path / "model.json").read_text())["model"] == saved["model"]


def test_estimators_record_no_training_score_when_asked_not_to():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(3000, 3)), rng.normal(size=3000)
    X_val, y_val = rng.normal(size=(500, 3)), rng.normal(size=500)
    common = dict(max_iter=12, early_stopping=True, n_iter_no_change=100, random_state=0, verbose=2)
    full = HistGradientBoostingRegressor(**common).fit(X, y, X_val=X_val, y_val=y_val)
    lean = HistGradientBoostingRegressor(**common).fit(X, y, X_val=X_val, y_val=y_val, record_train_score=False)
    assert len(full.train_score_) == 13 and lean.train_score_.shape == (0,)
    np.testing.assert_array_equal(lean.validation_score_, full.validation_score_)
    np.testing.assert_array_equal(lean.predict(X_val), full.predict(X_val))
    lean.set_params(max_iter=20, warm_start=True).fit(X, y, X_val=X_val, y_val=y_val)  # asked for: none to align with
    assert lean.train_score_.shape == (0,) and len(lean.validation_score_) == 21
    alone = HistGradientBoostingRegressor(**{**common, "validation_fraction": None})
    assert len(alone.fit(X, y, record_train_score=False).train_score_) == 13  # it decides stopping: recorded
    scored = HistGradientBoostingRegressor(**common, scoring="r2").fit(X, y, X_val=X_val, y_val=y_val,
                                                                         record_train_score=False)
    assert scored.train_score_.shape == (0,) and len(scored.validation_score_) == 13


@pytest.mark.parametrize("values", [
    [3.0, 0.0, 3.0, np.nan, 7.0, -1.0],  # codes, missing values
    [2.0, 0.5, 1.0],  # not integers: sorted
    [70000.0, 3.0],  # beyond the counted range
    [-0.0, 1.0, 0.0],  # negative zero: sorted, as np.unique keeps it
    [],
])
@pytest.mark.parametrize("negative_is_missing", [True, False])
def test_category_codes_are_counted_as_np_unique_finds_them(values, negative_is_missing):
    from treeforge.ensemble._categorical import _factorize_numbers

    values = np.asarray(values, dtype=np.float64)
    missing = np.isnan(values) | ((values < 0) if negative_is_missing else False)
    expected_levels, expected_index = np.unique(values[~missing], return_inverse=True)
    levels, index = _factorize_numbers(values, negative_is_missing)
    assert [repr(level) for level in levels] == [repr(level) for level in expected_levels.tolist()]
    np.testing.assert_array_equal(index[~missing], expected_index.reshape(-1))
    assert np.all(index[missing] == -1)


def _split_labels(kind, rng, n, k):
    labels = rng.choice(k, size=n, p=rng.dirichlet(np.ones(k)))
    return {"int": labels - 3, "bool": labels.astype(bool), "text": np.array([f"c{v}" for v in labels], dtype=object),
            "float": labels * 0.5, "wide": labels * 1_000_003}[kind]


@pytest.mark.parametrize("kind", ["int", "bool", "text", "float", "wide"])
@pytest.mark.parametrize("n_classes", [2, 3, 20])
def test_held_out_rows_are_those_scikit_learns_stratified_split_holds_out(kind, n_classes):
    from sklearn.model_selection import train_test_split

    rng = np.random.default_rng(n_classes)
    for trial in range(12):
        n, fraction, seed = int(rng.integers(20, 2000)), float(rng.choice([0.05, 0.1, 0.25, 0.5])), trial
        labels = _split_labels(kind, rng, n, 2 if kind == "bool" else n_classes)
        try:
            expected = np.sort(train_test_split(np.arange(n), test_size=fraction, random_state=seed,
                                                stratify=labels)[1])
        except ValueError:  # a class of one row, or fewer rows held out than classes
            with pytest.raises(ValueError):
                _train.stratified_held_out_rows(labels, fraction, seed)
            continue
        np.testing.assert_array_equal(_train.stratified_held_out_rows(labels, fraction, seed), expected)


def test_text_columns_are_encoded_as_their_trimmed_text():
    column = pa.chunked_array([[" b", "a", None, "b ", ""], ["  ", "c", "a", None, " a "]])
    table = pa.table({"t": column, "n": pa.chunked_array([[3, 1, None, 3, 2], [2, 1, 1, None, 3]])})
    for name in ("t", "n"):
        text = _tabular.column_to_text(table, name).to_pylist()
        codes, values, counts = _tabular.encoded_text(table, name)
        assert values == sorted({value for value in text if value is not None})
        assert [None if code < 0 else values[code] for code in codes] == text
        assert counts.tolist() == [text.count(value) for value in values]
