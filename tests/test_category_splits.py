"""Native categorical splits in the core: the set search against brute force over every subset of
up to 8 categories, the binning of category codes, the routing of missing and unseen categories
(training walk on codes == prediction on raw values), and set-split models grown by boosting,
forests and AdaBoost: exact through save/load and pickle, bit-identical at any thread count and
over any number of row shards."""

import itertools
import pickle

import numpy as np
import pytest
from _reference import predict_leaf, predict_margin

from treeforge import _core

# Constraints off, so that the search's optimum is the plain optimum over subsets.
PLAIN = dict(min_samples_leaf=1, min_child_weight=0.0, l2_regularization=0.0, cat_smooth=0.0, cat_l2=0.0,
             min_data_per_group=1, max_cat_threshold=32)


def tree_config(**fields):
    config = _core.TreeConfig()
    for name, value in {**PLAIN, **fields}.items():
        setattr(config, name, value)
    return config


def categorical_column(rng, n_rows, n_categories, missing_rate):
    codes = rng.integers(0, n_categories, n_rows).astype(np.float64)
    codes[rng.random(n_rows) < missing_rate] = np.nan
    return codes


def binned(column, n_categories):
    mapper = _core.BinMapper(255, 200_000, 0, n_categories=[n_categories])
    X = column.reshape(-1, 1)
    return mapper.fit(X), mapper.transform(X)


def subset_gains(slots, n_categories, min_samples_leaf=1):
    """Gain of every (set of categories, missing side) by enumeration: {(frozenset, missing_left): gain}."""
    grad, hess, count = slots[:, 0], slots[:, 1], slots[:, 2]
    G, H, N = grad.sum(), hess.sum(), count.sum()
    score = lambda g, h: g * g / h if h > 0 else 0.0  # noqa: E731
    present = [c for c in range(n_categories) if count[c] > 0]
    gains = {}
    for size in range(1, len(present) + 1):
        for subset in itertools.combinations(present, size):
            for missing_left in (False, True):
                rows = list(subset) + ([n_categories] if missing_left else [])
                g, h, n = grad[rows].sum(), hess[rows].sum(), count[rows].sum()
                if n < min_samples_leaf or N - n < min_samples_leaf:
                    continue
                gains[frozenset(subset), missing_left] = score(g, h) + score(G - g, H - h) - score(G, H)
    return gains


def found_side(split, n_categories, slots):
    """(categories sent left, whether missing rows go left) of a found split, restricted to the node's categories."""
    present = {c for c in range(n_categories) if slots[c, 2] > 0}
    return frozenset(set(split["categories"]) & present), bool(split["default_left"])


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("one_vs_rest", [False, True])
def test_set_search_is_the_best_over_every_subset(seed, one_vs_rest):
    rng = np.random.default_rng(seed)
    n_categories = int(rng.integers(2, 9))
    n_rows = int(rng.integers(30, 400))
    column = categorical_column(rng, n_rows, n_categories, missing_rate=[0.0, 0.1][seed % 2])
    grad = rng.normal(size=n_rows) + rng.normal(size=n_categories + 1)[np.nan_to_num(column, nan=n_categories).astype(int)]
    hess = rng.uniform(0.1, 1.0, size=n_rows)
    _, data = binned(column, n_categories)
    config = tree_config(max_cat_to_onehot=8 if one_vs_rest else 1)
    split = _core._testing.find_best_split(data, grad, hess, config)
    slots = _core._testing.build_histogram(data, grad, hess)
    gains = subset_gains(slots, n_categories)
    if one_vs_rest:  # each category alone, on either side of the rest
        gains = {k: v for k, v in gains.items() if len(k[0]) == 1 or len(k[0]) == np.count_nonzero(slots[:-1, 2]) - 1}
    best = max(gains.values())
    if best <= 0:
        assert split["feature"] == -1
        return
    assert split["kind"] == 1
    assert split["gain"] == pytest.approx(best, rel=1e-9, abs=1e-12)
    chosen = found_side(split, n_categories, slots)
    # The found set is one of the optimal ones: its own gain, recomputed by enumeration, is the best.
    assert gains[chosen] == pytest.approx(best, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seed", range(8))
def test_set_search_over_a_wide_feature_is_that_of_narrow_codes(seed):
    """A feature of 1,000 categories has two-byte codes (its own column and histogram pass). A
    node holding up to 8 of them, some past 255, gets the split that the same categories coded
    0..7 get, and without missing values (where Fisher's order is exact) the best subset."""
    rng = np.random.default_rng(300 + seed)
    n_categories = 1000
    present = np.sort(np.concatenate([rng.choice(np.arange(256, n_categories), 2, replace=False),
                                      rng.choice(256, int(rng.integers(1, 7)), replace=False)]))
    n_rows = int(rng.integers(30, 400))
    rank = rng.integers(0, present.size, n_rows).astype(np.float64)
    rank[rng.random(n_rows) < [0.0, 0.1][seed % 2]] = np.nan
    column = np.where(np.isnan(rank), np.nan, present[np.nan_to_num(rank).astype(int)])
    codes = np.nan_to_num(column, nan=n_categories).astype(int)
    grad = rng.normal(size=n_rows) + rng.normal(size=n_categories + 1)[codes]
    hess = rng.uniform(0.1, 1.0, size=n_rows)
    _, data = binned(column, n_categories)
    assert data.codes().dtype == np.uint16
    np.testing.assert_array_equal(data.codes()[:, 0], codes)
    slots = _core._testing.build_histogram(data, grad, hess)
    np.testing.assert_array_equal(slots[:, 2], np.bincount(codes, minlength=n_categories + 1))
    config = tree_config(max_cat_to_onehot=1)
    split = _core._testing.find_best_split(data, grad, hess, config)
    narrow = _core._testing.find_best_split(binned(rank, present.size)[1], grad, hess, config)
    assert split["kind"] == narrow["kind"] == 1
    assert (split["gain"], split["default_left"]) == (narrow["gain"], narrow["default_left"])
    assert split["categories"] == present[narrow["categories"]].tolist()
    if seed % 2 == 0:
        gains = subset_gains(slots, n_categories)
        assert split["gain"] == pytest.approx(max(gains.values()), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_set_limits_hold(seed):
    """max_cat_threshold bounds the set, min_data_per_group the category rows of each side."""
    rng = np.random.default_rng(100 + seed)
    n_categories, n_rows = 40, 3000
    column = categorical_column(rng, n_rows, n_categories, missing_rate=0.05)
    effect = rng.normal(size=n_categories + 1)
    grad = effect[np.nan_to_num(column, nan=n_categories).astype(int)] + 0.1 * rng.normal(size=n_rows)
    hess = np.ones(n_rows)
    _, data = binned(column, n_categories)
    config = tree_config(max_cat_to_onehot=4, max_cat_threshold=3, min_data_per_group=200)
    split = _core._testing.find_best_split(data, grad, hess, config)
    assert split["kind"] == 1 and 1 <= len(split["categories"]) <= 3
    counts = np.bincount(column[~np.isnan(column)].astype(int), minlength=n_categories)
    in_set = counts[split["categories"]].sum()
    assert in_set >= 200 and counts.sum() - in_set >= 200


def test_binning_maps_codes_to_bins_and_everything_else_to_missing():
    mapper = _core.BinMapper(255, 200_000, 0, n_categories=[5, 0])
    X = np.array([[0, 1.5], [4, 2.0], [2, 3.0], [5, 4.0], [-1, 5.0], [2.5, 6.0], [np.nan, 7.0], [-0.0, 8.0],
                  [np.inf, 9.0]])
    mapper.fit(X)
    assert list(mapper.n_categories) == [5, 0] and mapper.n_bins[0] == 5
    codes = mapper.transform(X).codes()[:, 0]
    np.testing.assert_array_equal(codes, [0, 4, 2, 5, 5, 5, 5, 0, 5])  # 5: the missing code
    assert list(mapper.transform(X).is_categorical) == [1, 0]


@pytest.mark.parametrize("n_categories, match", [([4097, 0], "n_categories"), ([3, 0, 1], "entries"),
                                                  ([-1, 0], "n_categories"), ([10**6, 0], "n_categories")])
def test_bad_category_counts_are_refused(n_categories, match):
    with pytest.raises(ValueError, match=match):
        _core.BinMapper(255, 200_000, 0, n_categories=n_categories).fit(np.zeros((4, 2)))


def test_a_feature_holds_up_to_4096_categories_whatever_max_bins():
    X = np.column_stack([np.arange(8192) % 4096, np.arange(8192) % 7]).astype(np.float64)
    mapper = _core.BinMapper(16, 200_000, 0, n_categories=[4096, 0]).fit(X)
    assert list(mapper.n_bins) == [4096, 7]
    data = mapper.transform(X)
    np.testing.assert_array_equal(data.codes(), X.astype(np.uint16))


def test_with_categories_checks_the_edges():
    X = np.column_stack([np.arange(20) % 4, np.linspace(0, 1, 20)])
    numeric = _core.BinMapper().fit(X)
    with pytest.raises(ValueError, match="not those of"):
        numeric.with_categories([0, 4])
    categorical = _core.BinMapper(n_categories=[4, 0]).fit(X)
    assert list(categorical.with_categories([4, 0]).n_categories) == [4, 0]


def mixed_data(rng, n_rows=3000, n_categories=30):
    """Two categorical columns (with missing values) and a numeric one, a nonlinear target."""
    X = np.column_stack([categorical_column(rng, n_rows, n_categories, 0.05), categorical_column(rng, n_rows, 6, 0.0),
                         rng.normal(size=n_rows)])
    effect = rng.normal(size=n_categories + 1) * 2
    y = effect[np.nan_to_num(X[:, 0], nan=n_categories).astype(int)] + (X[:, 1] % 2) * X[:, 2]
    return X, y + 0.2 * rng.normal(size=n_rows), [n_categories, 6, 0]


def grow(kind, X, y, n_categories, n_threads=1, **fields):
    """A model grown by the core's learner `kind` on X with the given categorical features."""
    mapper = _core.BinMapper(255, 200_000, 0, n_categories=n_categories).fit(X, n_threads)
    data = mapper.transform(X, n_threads)
    if kind == "gbdt":
        config = _core.GbdtConfig()
        config.min_data_per_group, config.max_leaf_nodes = 20, 15
        trainer = _core.Booster(_set(config, n_threads=n_threads, **fields), mapper, data, y)
        for _ in range(15):
            trainer.update()
        return trainer.finish(), mapper
    classes = (y > np.median(y)).astype(np.int32)
    if kind == "forest":
        config = _set(_core.ForestConfig(), n_classes=2, criterion="gini", max_leaf_nodes=31, n_threads=n_threads, **fields)
        trainer = _core.ForestTrainer(config, mapper, data, classes=classes)
        trainer.grow(8)
        return trainer.model(), mapper
    config = _set(_core.AdaBoostConfig(), n_classes=2, criterion="gini", n_estimators=8, max_leaf_nodes=8, n_threads=n_threads, **fields)
    trainer = _core.AdaBoostTrainer(config, mapper, data, classes=classes)
    trainer.fit()
    return trainer.model(), mapper


def _set(config, **fields):
    for name, value in fields.items():
        setattr(config, name, value)
    return config


LEARNERS = ["gbdt", "forest", "adaboost"]


@pytest.mark.parametrize("kind", LEARNERS)
@pytest.mark.parametrize("levels", [30, 600])  # 600: two-byte codes
def test_learners_grow_set_splits_that_predict_as_the_reference_walk(kind, levels):
    rng = np.random.default_rng(7)
    X, y, n_categories = mixed_data(rng, n_categories=levels)
    model, mapper = grow(kind, X, y, n_categories)
    arrays = model.to_arrays()
    assert np.count_nonzero(arrays["split_kind"] == 1) > 0
    # Raw rows with unseen, negative and non-integral categories beside the training rows.
    X_new = X[:500].copy()
    X_new[:100, 0] = rng.choice([levels, levels + 1.0, 5000.0, -1.0, 2.5, np.inf], size=100)
    np.testing.assert_array_equal(model.predict_leaf(X_new, 2), predict_leaf(arrays, X_new))
    np.testing.assert_allclose(model.predict_margin(X_new, 2, 0, -1).reshape(len(X_new), -1),
                               predict_margin(arrays, X_new).reshape(len(X_new), -1), rtol=1e-12, atol=1e-12)
    # Prediction on raw values follows the walk of training on codes, unseen categories as missing.
    np.testing.assert_array_equal(model.predict_leaf(X_new, 1), _core._testing.tree_leaves(model, mapper.transform(X_new)))
    X_nan = X_new.copy()
    X_nan[:100, 0] = np.nan
    np.testing.assert_array_equal(model.predict_leaf(X_new, 1), model.predict_leaf(X_nan, 1))


@pytest.mark.parametrize("kind", LEARNERS)
@pytest.mark.parametrize("levels", [30, 600])  # 600: two-byte codes
def test_set_split_models_round_trip_exactly(kind, levels):
    rng = np.random.default_rng(8)
    X, y, n_categories = mixed_data(rng, n_categories=levels)
    model, _ = grow(kind, X, y, n_categories)
    for copy in (_core.Model.from_arrays(model.to_arrays()), pickle.loads(pickle.dumps(model))):
        np.testing.assert_array_equal(copy.predict_margin(X, 1, 0, -1), model.predict_margin(X, 1, 0, -1))
        for name, value in model.to_arrays().items():
            np.testing.assert_array_equal(copy.to_arrays()[name], value, err_msg=name)


def model_fields(model):
    return {name: np.asarray(value).tobytes() for name, value in model.to_arrays().items()}


@pytest.mark.parametrize("kind", LEARNERS)
@pytest.mark.parametrize("levels", [30, 600])  # 600: two-byte codes
def test_set_split_models_are_the_same_at_any_thread_count_and_shard_count(kind, levels):
    rng = np.random.default_rng(9)
    X, y, n_categories = mixed_data(rng, n_rows=6000, n_categories=levels)
    reference = model_fields(grow(kind, X, y, n_categories, n_threads=1)[0])
    assert model_fields(grow(kind, X, y, n_categories, n_threads=2)[0]) == reference
    try:
        for k in (2, 3, 5):
            _core._testing.set_row_shards(k)
            assert model_fields(grow(kind, X, y, n_categories, n_threads=2)[0]) == reference, k
    finally:
        _core._testing.set_row_shards(1)


def test_native_sets_beat_ordinal_codes_on_unordered_categories():
    """A target that depends on the category by an arbitrary table: sets find it in fewer leaves
    than thresholds over arbitrary codes can."""
    rng = np.random.default_rng(10)
    X, y, n_categories = mixed_data(rng, n_rows=8000, n_categories=60)
    X_test, y_test, _ = mixed_data(np.random.default_rng(10), n_rows=8000, n_categories=60)
    errors = {}
    for name, counts in (("native", n_categories), ("ordinal", [0, 0, 0])):
        model, _ = grow("gbdt", X, y, counts)
        errors[name] = np.sqrt(np.mean((model.predict_margin(X_test, 1, 0, -1).ravel() - y_test) ** 2))
    assert errors["native"] < 0.9 * errors["ordinal"], errors


def gini_gains(column, classes, n_categories):
    """Gini decrease times node weight of every (set, missing side), by enumeration."""
    codes = np.nan_to_num(column, nan=n_categories).astype(int)
    counts = np.zeros((n_categories + 1, 2))
    np.add.at(counts, (codes, classes), 1.0)
    impurity = lambda w: w.sum() - (w * w).sum() / w.sum() if w.sum() > 0 else 0.0  # noqa: E731
    total = counts.sum(axis=0)
    present = [c for c in range(n_categories) if counts[c].sum() > 0]
    gains = []
    for size in range(1, len(present)):
        for subset in itertools.combinations(present, size):
            for missing_left in (False, True):
                left = counts[list(subset) + ([n_categories] if missing_left else [])].sum(axis=0)
                if 0 < left.sum() < total.sum():
                    gains.append(impurity(total) - impurity(left) - impurity(total - left))
    return gains


@pytest.mark.parametrize("seed", range(8))
def test_two_class_set_search_is_the_best_over_every_subset(seed):
    """Breiman's order (by the share of one class) holds the best Gini split of two classes."""
    rng = np.random.default_rng(200 + seed)
    n_categories, n_rows = int(rng.integers(3, 9)), int(rng.integers(40, 300))
    column = categorical_column(rng, n_rows, n_categories, missing_rate=0.1)
    share = rng.uniform(size=n_categories + 1)[np.nan_to_num(column, nan=n_categories).astype(int)]
    classes = (rng.uniform(size=n_rows) < share).astype(np.int32)
    mapper, data = binned(column, n_categories)
    config = _set(_core.ForestConfig(), n_classes=2, criterion="gini", bootstrap=False, max_features=0,
                  max_depth=1, max_leaf_nodes=0, min_samples_leaf=1, max_cat_to_onehot=1, min_data_per_group=1)
    trainer = _core.ForestTrainer(config, mapper, data, classes=classes)
    trainer.grow(1)
    arrays = trainer.model().to_arrays()
    assert arrays["split_kind"][0] == 1
    assert arrays["gain"][0] == pytest.approx(max(gini_gains(column, classes, n_categories)), rel=1e-9)
