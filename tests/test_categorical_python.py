"""Native categorical features on the Python side: which features are categorical, categories matched by
value, unseen values routed as missing, grouping above max_bins, model files, pickles, warm start and the CLI."""

import pickle

import numpy as np
import pytest

import treeforge
from treeforge import (
    AdaBoostClassifier,
    AdaBoostRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from treeforge import _core
from treeforge.ensemble._categorical import MAX_CATEGORIES, _learn_feature, resolve_categorical_mask

pd = pytest.importorskip("pandas")

# The effect of a city is not monotone in the sorted order of the names: a numeric split of the
# sorted codes cannot isolate it in one cut, a set split can.
CITY_EFFECT = {"amsterdam": 0.0, "berlin": 3.0, "cairo": 0.0, "dakar": 3.0, "eindhoven": 1.0, "faro": 0.0,
               "geneva": 3.0, "hanoi": 1.0}
CITIES = sorted(CITY_EFFECT)


def city_frame(n=1500, seed=0):
    """(frame with a pandas category 'city' and a numeric 'x', y)."""
    rng = np.random.RandomState(seed)
    city = rng.choice(CITIES, n)
    x = rng.normal(size=n)
    y = np.array([CITY_EFFECT[c] for c in city]) + 0.5 * x + rng.normal(scale=0.1, size=n)
    return pd.DataFrame({"city": pd.Categorical(city), "x": x}), y


def set_split_count(estimator):
    return int(np.sum(np.asarray(estimator._model.to_arrays()["split_kind"]) == 1))


def _hgb(**params):
    return HistGradientBoostingRegressor(**{"max_iter": 15, "random_state": 0, "early_stopping": False, **params})


# --------------------------------------------------------------------------------------------
# Which features are categorical
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given, expected",
    [
        (None, None),
        ("from_dtype", None),  # an array has no dtypes per column
        ([], None),
        ([False, False, False], None),
        ([True, False, True], [True, False, True]),
        (np.array([False, True, False]), [False, True, False]),
        ([2, 0], [True, False, True]),
        (np.array([1], dtype=np.int64), [False, True, False]),
    ],
)
def test_mask_forms_on_an_array(given, expected):
    mask = resolve_categorical_mask(np.zeros((4, 3)), given)
    if expected is None:
        assert mask is None
    else:
        np.testing.assert_array_equal(mask, expected)
        assert mask.dtype == bool


def test_mask_from_names_and_from_dtype_on_pandas():
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": pd.Categorical(["u", "v"]), "c": [3.0, 4.0]})
    np.testing.assert_array_equal(resolve_categorical_mask(frame, ["c", "a"]), [True, False, True])
    np.testing.assert_array_equal(resolve_categorical_mask(frame, "from_dtype"), [False, True, False])
    assert resolve_categorical_mask(frame[["a", "c"]], "from_dtype") is None


@pytest.mark.parametrize(
    "given, match",
    [
        ([True, False], r"boolean mask must have shape \(n_features,\) = \(3,\), got \(2,\)"),
        ([0, 3], r"must be in \[0, n_features - 1\] = \[0, 2\], got 3"),
        ([-1], r"must be in \[0, n_features - 1\] = \[0, 2\], got -1"),
        ([1, 1], "lists 1 more than once"),
        (["a"], "X has no feature names"),
        ([0.5], "must be an array-like of bool, int or str, got float"),
        ([[0, 1]], "must be one-dimensional"),
        ("categorical", "the only string accepted is 'from_dtype'"),
    ],
)
def test_bad_masks_on_an_array(given, match):
    with pytest.raises(ValueError, match=match):
        resolve_categorical_mask(np.zeros((4, 3)), given)


@pytest.mark.parametrize(
    "given, match",
    [
        (["city", "town"], r"names 'town', which is not a feature of X; its features are \['city', 'x'\]"),
        (["x", "x"], "lists 'x' more than once"),
    ],
)
def test_bad_names(given, match):
    frame, y = city_frame(50)
    with pytest.raises(ValueError, match=match):
        resolve_categorical_mask(frame, given)
    with pytest.raises(ValueError, match=match):  # the estimators raise the same, before any training
        _hgb(categorical_features=given).fit(frame, y)


def test_from_dtype_polars_and_pyarrow_match_pandas():
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    frame, y = city_frame()
    reference = _hgb().fit(frame, y)
    cities = frame["city"].astype(str).tolist()
    as_polars = pl.DataFrame({"city": pl.Series(cities, dtype=pl.Categorical), "x": frame["x"].to_numpy()})
    as_enum = as_polars.with_columns(pl.col("city").cast(pl.String).cast(pl.Enum(CITIES[::-1] + ["zurich"])))
    as_arrow = pa.table({"city": pa.array(cities).dictionary_encode(), "x": frame["x"].to_numpy()})
    for table in (as_polars, as_enum, as_arrow):
        model = _hgb().fit(table, y)
        np.testing.assert_array_equal(model.is_categorical_, [True, False])
        np.testing.assert_array_equal(model.predict(table), reference.predict(frame))
        assert list(model._categories[0]) == CITIES


def test_text_in_a_numeric_column_is_still_an_error():
    frame, y = city_frame(60)
    frame["city"] = frame["city"].astype(str)  # plain text, not marked categorical
    with pytest.raises(ValueError, match="could not convert string to float"):
        _hgb().fit(frame, y)
    with pytest.raises(ValueError, match="could not convert string to float"):
        _hgb(categorical_features=["x"]).fit(frame, y)


# --------------------------------------------------------------------------------------------
# Categories by value
# --------------------------------------------------------------------------------------------


def test_categories_are_matched_by_value_not_by_code():
    frame, y = city_frame()
    model = _hgb().fit(frame, y)
    assert set_split_count(model) > 0 and model.score(frame, y) > 0.95
    assert list(model._categories[0]) == CITIES and model._category_bins == [len(CITIES), 0]
    shuffled = frame.copy()
    shuffled["city"] = pd.Categorical(frame["city"].astype(str), categories=["zurich", *CITIES[::-1], "oslo"])
    assert not np.array_equal(shuffled["city"].cat.codes, frame["city"].cat.codes)
    np.testing.assert_array_equal(model.predict(shuffled), model.predict(frame))
    # Trained on the shuffled levels (with unused ones), the model is the same.
    np.testing.assert_array_equal(_hgb().fit(shuffled, y).predict(frame), model.predict(frame))


def test_numeric_codes_flagged_by_mask_agree_with_the_category_run(assert_same_model):
    frame, y = city_frame()
    by_dtype = _hgb().fit(frame, y)
    codes = np.column_stack([frame["city"].cat.codes.to_numpy(float), frame["x"].to_numpy()])
    for given in ([0], [True, False]):
        by_mask = _hgb(categorical_features=given).fit(codes, y)
        assert_same_model(by_mask, by_dtype)
        np.testing.assert_array_equal(by_mask.predict(codes), by_dtype.predict(frame))
    named = _hgb(categorical_features=["city"]).fit(frame.assign(city=frame["city"].astype(str)), y)
    assert_same_model(named, by_dtype)


def test_unseen_categories_and_missing_values_go_the_missing_way():
    frame, y = city_frame()
    frame.loc[::9, "city"] = np.nan
    model = _hgb().fit(frame, y)
    rows = frame.iloc[:40].copy()
    rows["city"] = rows["city"].astype(object)
    unseen, missing, negative = rows.copy(), rows.copy(), rows.copy()
    unseen["city"] = "zurich"
    missing["city"] = None
    np.testing.assert_array_equal(model.predict(unseen), model.predict(missing))
    codes = _hgb(categorical_features=[0]).fit(
        np.column_stack([frame["city"].cat.codes.to_numpy(float), frame["x"]]), y)
    negative = np.column_stack([np.full(40, -1.0), rows["x"]])  # scikit-learn's rule: negative is missing
    np.testing.assert_array_equal(codes.predict(negative), codes.predict(np.column_stack([np.full(40, np.nan), rows["x"]])))
    np.testing.assert_array_equal(codes.predict(np.column_stack([np.full(40, 99.0), rows["x"]])),
                                  codes.predict(negative))


def test_grouping_of_the_rarest_categories_above_the_core_bound():
    # Six categories, four codes: the three most frequent keep theirs (ties by sorted order).
    levels = ["f", "e", "d", "c", "b", "a"]
    counts = {"a": 5, "b": 1, "c": 5, "d": 2, "e": 9, "f": 2}
    index = np.concatenate([np.full(counts[v], i) for i, v in enumerate(levels)] + [np.full(3, -1)])
    values, n_codes = _learn_feature(levels, index, 4, "0")
    assert n_codes == 4 and values.tolist() == ["a", "c", "e", "b", "d", "f"]

    # Through an estimator: 4,100 levels, the first 4,095 seen twice, the last five once.
    assert MAX_CATEGORIES == _core.MAX_CATEGORIES == 4096
    n_levels = MAX_CATEGORIES + 4
    city = np.concatenate([np.repeat(np.arange(MAX_CATEGORIES - 1), 2), np.arange(MAX_CATEGORIES - 1, n_levels)])
    rng = np.random.RandomState(0)
    y = rng.normal(size=city.size) + (city % 7 == 0)
    frame = pd.DataFrame({"city": pd.Categorical(city), "x": rng.normal(size=city.size)})
    model = _hgb().fit(frame, y)
    assert model._category_bins[0] == MAX_CATEGORIES and len(model._categories[0]) == n_levels
    grouped = model._categories[0][MAX_CATEGORIES - 1:]
    np.testing.assert_array_equal(np.sort(grouped), np.arange(MAX_CATEGORIES - 1, n_levels))
    a, b = frame.iloc[:5].copy(), frame.iloc[:5].copy()
    a["city"], b["city"] = grouped[0], grouped[-1]
    np.testing.assert_array_equal(model.predict(a), model.predict(b))  # one code, one prediction


def test_max_bins_does_not_bound_categories():
    rng = np.random.RandomState(0)
    city = np.array([f"c{k:02d}" for k in rng.zipf(1.5, 3000) % 40])
    y = (np.char.count(city, "3") + np.char.count(city, "7")).astype(float)
    frame = pd.DataFrame({"city": pd.Categorical(city)})
    model = _hgb(max_bins=8).fit(frame, y)
    assert model._category_bins[0] == len(np.unique(city)) == 40
    np.testing.assert_array_equal(model.predict(frame), _hgb(max_bins=255).fit(frame, y).predict(frame))


# --------------------------------------------------------------------------------------------
# Every estimator; model files, pickles, warm start
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("Estimator, params", [
    (HistGradientBoostingClassifier, {"max_iter": 10}),
    (RandomForestClassifier, {"n_estimators": 10, "categorical_features": "from_dtype"}),
    (RandomForestRegressor, {"n_estimators": 10, "categorical_features": ["city"]}),
    (AdaBoostClassifier, {"n_estimators": 10, "categorical_features": "from_dtype"}),
    (AdaBoostRegressor, {"n_estimators": 10, "categorical_features": [0]}),
])
def test_every_estimator_splits_on_sets_and_round_trips(Estimator, params, tmp_path):
    frame, y = city_frame()
    if Estimator in (HistGradientBoostingClassifier, RandomForestClassifier, AdaBoostClassifier):
        y = np.where(y > 1.5, "high", "low")
    model = Estimator(random_state=0, **params).fit(frame, y)
    assert set_split_count(model) > 0
    reordered = frame.assign(city=pd.Categorical(frame["city"].astype(str), categories=CITIES[::-1]))
    np.testing.assert_array_equal(model.predict(reordered), model.predict(frame))
    model.save_model(tmp_path / "model.json")
    for loaded in (treeforge.load_model(tmp_path / "model.json"), pickle.loads(pickle.dumps(model))):
        np.testing.assert_array_equal(loaded.is_categorical_, model.is_categorical_)
        assert [None if v is None else v.tolist() for v in loaded._categories] == [CITIES, None]
        np.testing.assert_array_equal(loaded.predict(reordered), model.predict(frame))


def test_numeric_categories_round_trip_and_unsavable_ones_are_named(tmp_path):
    frame, y = city_frame(400)
    frame["city"] = frame["city"].cat.rename_categories(lambda name: 10 * CITIES.index(name))  # int levels
    model = _hgb().fit(frame, y)
    model.save_model(tmp_path / "ints.json")
    loaded = treeforge.load_model(tmp_path / "ints.json")
    assert loaded._categories[0].tolist() == list(range(0, 80, 10))
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    frame["city"] = frame["city"].cat.rename_categories(lambda v: pd.Timestamp("2020-01-01") + pd.Timedelta(days=v))
    dated = _hgb().fit(frame, y)
    with pytest.raises(TypeError, match=r"categorical feature 0 \('city'\) has the category .* of type Timestamp"):
        dated.save_model(tmp_path / "dates.json")
    assert not (tmp_path / "dates.json").exists()
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(dated)).predict(frame), dated.predict(frame))


def test_a_damaged_categories_entry_is_refused(tmp_path):
    import json

    frame, y = city_frame(300)
    _hgb().fit(frame, y).save_model(tmp_path / "model.json")
    document = json.loads((tmp_path / "model.json").read_text())
    document["fitted"]["_category_bins"] = [300, 0]
    document.pop("checksum", None)  # edited on purpose: validated without it
    (tmp_path / "bad.json").write_text(json.dumps(document))
    with pytest.raises(ValueError, match="the categories of feature 0 do not match its 300 codes"):
        treeforge.load_model(tmp_path / "bad.json")


@pytest.mark.parametrize("Estimator, more", [(HistGradientBoostingRegressor, {"max_iter": 20}),
                                             (RandomForestRegressor, {"n_estimators": 10})])
def test_warm_start_keeps_the_categories(Estimator, more, tmp_path):
    frame, y = city_frame()
    params = {"max_iter": 10, "early_stopping": False} if Estimator is HistGradientBoostingRegressor else {
        "n_estimators": 5, "categorical_features": "from_dtype"}
    model = Estimator(warm_start=True, random_state=0, **params).fit(frame, y)
    # The continued data lacks two cities and brings a new one: codes stay those of the first fit.
    later = frame[~frame["city"].isin(["berlin", "cairo"])].copy()
    later["city"] = later["city"].cat.add_categories(["zurich"])
    later.iloc[:20, 0] = "zurich"
    model.set_params(**more).fit(later, y[later.index])
    assert list(model._categories[0]) == CITIES
    model.save_model(tmp_path / "m.json")
    loaded = treeforge.load_model(tmp_path / "m.json")
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    if Estimator is HistGradientBoostingRegressor:  # a loaded model continues too
        loaded.set_params(max_iter=25).fit(frame, y)
        assert loaded.n_iter_ == 25
    with pytest.raises(ValueError, match=r"categorical features are \[0\], but those of X are None"):
        model.set_params(**{k: v + 5 for k, v in more.items()}).fit(frame.assign(city=frame["city"].cat.codes), y)


def test_adaboost_user_estimator_gets_x_untouched():
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder
    from sklearn.tree import DecisionTreeClassifier

    frame, y = city_frame(400)
    X = frame.assign(city=frame["city"].astype(str)).to_numpy(dtype=object)  # text and numbers
    labels = y > 1.5
    pipeline = make_pipeline(make_column_transformer((OneHotEncoder(), [0]), remainder="passthrough"),
                             DecisionTreeClassifier(max_depth=3))
    model = AdaBoostClassifier(pipeline, n_estimators=5, random_state=0).fit(X, labels)
    assert model.score(X, labels) > 0.9 and model.is_categorical_ is None
    with pytest.raises(ValueError, match="a user's estimator gets X as it is"):
        AdaBoostClassifier(pipeline, categorical_features=[0]).fit(X, labels)


# --------------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------------


def test_cli_trains_text_columns_as_native_categories(tmp_path, capsys):
    import csv

    from treeforge import cli

    frame, y = city_frame(800)
    rows = [[city, f"{x:.5f}", f"{target:.5f}"] for city, x, target in zip(frame["city"].astype(str), frame["x"], y)]
    with open(tmp_path / "train.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([["city", "x", "price"], *rows])
    with open(tmp_path / "new.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([["x", "city"], ["0.1", "berlin"], ["0.1", "zurich"], ["0.1", ""]])
    model_path = tmp_path / "model.json"
    assert cli.main(["train", str(tmp_path / "train.csv"), "--target", "price", "--quiet", "--out", str(model_path),
                     "--param", "max_iter=20"]) == 0
    model = treeforge.load_model(model_path)
    np.testing.assert_array_equal(model.is_categorical_, [True, False])
    assert set_split_count(model) > 0
    capsys.readouterr()
    assert cli.main(["info", str(model_path)]) == 0
    info = capsys.readouterr().out
    assert "categorical, 8 values" in info.split("city")[1].splitlines()[0]
    assert "categorical" not in info.split("  x ")[1].splitlines()[0]
    assert cli.main(["predict", str(model_path), str(tmp_path / "new.csv")]) == 0
    captured = capsys.readouterr()
    predictions = [float(line) for line in captured.out.split()[1:]]
    assert predictions[1] == predictions[2] != predictions[0]  # unseen 'zurich' goes as missing
    assert "'zurich'" in captured.err
    # The same file through a model fitted in Python on a DataFrame: matched by the values' text.
    python_model = tmp_path / "python.json"
    _hgb(max_iter=20).fit(frame, y).save_model(python_model)
    assert cli.main(["predict", str(python_model), str(tmp_path / "new.csv")]) == 0
    python_predictions = [float(line) for line in capsys.readouterr().out.split()[1:]]
    expected = _hgb(max_iter=20).fit(frame, y).predict(pd.DataFrame({"city": ["berlin", None, None], "x": 0.1}))
    np.testing.assert_allclose(python_predictions, expected)
