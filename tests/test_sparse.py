"""Sparse input (#25): scipy matrices of every format are binned and trained on without being made
dense, and the same data given dense and sparse grows the identical model, for every learner."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy import sparse

import treeforge as tf
from treeforge import _core


def sparse_data(n=600, n_features=40, density=0.15, seed=0, nan=True):
    """CSR of counts, negatives, wide-ranging values, explicit zeros and (optionally) explicit NaN."""
    rng = np.random.default_rng(seed)
    X = sparse.random(n, n_features, density=density, format="csr", random_state=seed, dtype=np.float64)
    kinds = rng.integers(0, 3, size=X.nnz)
    X.data = np.where(kinds == 0, np.round(X.data * 6) - 2, np.where(kinds == 1, X.data * 1e3, -X.data))
    X.data[::29] = 0.0  # explicit zeros: the value 0, as the absent ones
    if nan:
        X.data[::53] = np.nan
    dense = X.toarray()
    y = np.nan_to_num(dense[:, :8]) @ rng.normal(size=8) + 0.1 * rng.normal(size=n)
    return X, dense, y


def model_fields(estimator):
    return estimator._model.to_arrays()


def assert_same_model(a, b):
    fa, fb = model_fields(a), model_fields(b)
    assert fa.keys() == fb.keys()
    for name in fa:
        if isinstance(fa[name], np.ndarray):
            np.testing.assert_array_equal(fa[name], fb[name], err_msg=name)
        else:
            assert fa[name] == fb[name], name


def _labels(y, kind):
    if kind == "binary":
        return (y > np.median(y)).astype(int)
    if kind == "multiclass":
        return np.digitize(y, np.quantile(y, [0.33, 0.66]))
    if kind == "poisson":
        return np.floor(np.exp(np.clip(y, -3, 3)))
    if kind == "multioutput":
        return np.column_stack([y, -y + 0.5 * np.abs(y)])
    return y


LEARNERS = {
    "hgb_binary": (lambda: tf.HistGradientBoostingClassifier(max_iter=15, max_leaf_nodes=15, random_state=0), "binary"),
    "hgb_multiclass": (lambda: tf.HistGradientBoostingClassifier(max_iter=8, max_depth=4, random_state=0),
                       "multiclass"),
    "hgb_regression_subsample": (lambda: tf.HistGradientBoostingRegressor(
        max_iter=15, subsample=0.7, max_features=0.5, random_state=0), "regression"),
    "hgb_absolute_error": (lambda: tf.HistGradientBoostingRegressor(loss="absolute_error", max_iter=8, random_state=0),
                           "regression"),
    "hgb_poisson_early_stopping": (lambda: tf.HistGradientBoostingRegressor(
        loss="poisson", max_iter=30, early_stopping=True, validation_fraction=0.2, n_iter_no_change=3,
        random_state=0), "poisson"),
    "forest_classifier_oob": (lambda: tf.RandomForestClassifier(n_estimators=8, oob_score=True, random_state=0),
                              "binary"),
    "forest_regressor": (lambda: tf.RandomForestRegressor(n_estimators=6, max_features=0.5, random_state=0),
                         "regression"),
    "forest_absolute_error": (lambda: tf.RandomForestRegressor(n_estimators=3, criterion="absolute_error",
                                                               max_depth=6, random_state=0), "regression"),
    "forest_multioutput": (lambda: tf.RandomForestRegressor(n_estimators=4, random_state=0), "multioutput"),
    "adaboost_classifier": (lambda: tf.AdaBoostClassifier(n_estimators=8, random_state=0), "multiclass"),
    "adaboost_regressor": (lambda: tf.AdaBoostRegressor(n_estimators=8, random_state=0), "regression"),
}


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_dense_and_sparse_grow_the_identical_model(name):
    make, kind = LEARNERS[name]
    X, dense, y = sparse_data()
    target = _labels(y, kind)
    from_dense, from_sparse = make().fit(dense, target), make().fit(X, target)
    assert_same_model(from_dense, from_sparse)
    for method in ("predict", "predict_proba", "decision_function", "apply"):
        if hasattr(from_dense, method):
            np.testing.assert_array_equal(getattr(from_dense, method)(dense), getattr(from_sparse, method)(X))
    if hasattr(from_dense, "oob_score_"):
        assert from_dense.oob_score_ == from_sparse.oob_score_


def test_ranker_on_sparse_queries():
    X, dense, y = sparse_data(n=400)
    relevance = np.digitize(y, np.quantile(y, [0.5, 0.8]))
    group = [20] * 20
    make = lambda: tf.HistGradientBoostingRanker(max_iter=10, random_state=0)  # noqa: E731
    a, b = make().fit(dense, relevance, group=group), make().fit(X, relevance, group=group)
    assert_same_model(a, b)
    np.testing.assert_array_equal(a.predict(dense), b.predict(X))


def test_categorical_columns_of_a_sparse_matrix():
    X, dense, y = sparse_data(nan=False)
    X.data = np.abs(np.round(X.data)) % 7  # small non-negative integers: categories
    dense = X.toarray()
    make = lambda: tf.HistGradientBoostingRegressor(max_iter=10, categorical_features=[0, 5, 9],  # noqa: E731
                                                    random_state=0)
    a, b = make().fit(dense, y), make().fit(X, y)
    assert_same_model(a, b)
    np.testing.assert_array_equal(a.is_categorical_, b.is_categorical_)
    np.testing.assert_array_equal(a.predict(dense), b.predict(X.tocsc()))


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "lil", "dok", "bsr", "dia"])
def test_every_sparse_format_is_accepted(fmt):
    X, dense, y = sparse_data(nan=False)  # dok, lil and dia hold NaN awkwardly; NaN is tested above
    model = tf.HistGradientBoostingRegressor(max_iter=5, random_state=0).fit(X.asformat(fmt), y)
    reference = tf.HistGradientBoostingRegressor(max_iter=5, random_state=0).fit(dense, y)
    assert_same_model(model, reference)
    np.testing.assert_array_equal(model.predict(X.asformat(fmt)), reference.predict(dense))
    np.testing.assert_array_equal(model.predict(sparse.csr_array(X)), reference.predict(dense))


def test_duplicates_and_unsorted_columns_are_summed_without_changing_the_callers_matrix():
    rows, cols = np.array([0, 0, 1, 2, 2]), np.array([3, 1, 2, 0, 0])
    values = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    X = sparse.csr_matrix((values, cols, [0, 2, 3, 5]), shape=(3, 4))  # row 0 unsorted, row 2 duplicated
    assert not X.has_canonical_format
    before = X.indices.copy()
    y = np.array([0.0, 1.0, 2.0])
    model = tf.HistGradientBoostingRegressor(max_iter=3, min_samples_leaf=1, random_state=0).fit(X, y)
    reference = tf.HistGradientBoostingRegressor(max_iter=3, min_samples_leaf=1, random_state=0).fit(X.toarray(), y)
    assert_same_model(model, reference)
    np.testing.assert_array_equal(X.indices, before)
    del rows


def test_absent_elements_are_zero_and_stored_nan_is_missing():
    # Feature 0 separates y only if its absent elements are read as 0 (and not as missing).
    X = sparse.csr_matrix(np.array([[0.0], [0.0], [1.0], [1.0], [np.nan], [np.nan]]))
    y = np.array([0.0, 0.0, 10.0, 10.0, 5.0, 5.0])
    model = tf.HistGradientBoostingRegressor(max_iter=1, learning_rate=1.0, min_samples_leaf=1,
                                             max_leaf_nodes=3, random_state=0).fit(X, y)
    np.testing.assert_allclose(model.predict(X), y, atol=1e-9)


def test_binning_of_sparse_rows_matches_the_dense_binning():
    X, dense, _ = sparse_data(n=3000, n_features=30)
    for subsample in (200_000, 700):  # all rows, and a sample of them
        for values, dtype in ((X, np.float64), (X.astype(np.float32), np.float32)):
            dense_mapper = _core.BinMapper(31, subsample, 3).fit(dense.astype(dtype), 2)
            sparse_mapper = _core.BinMapper(31, subsample, 3).fit(values, 2)
            for a, b in zip(dense_mapper.bin_edges, sparse_mapper.bin_edges):
                np.testing.assert_array_equal(a, b)
            binned = dense_mapper.transform(values, 2)
            assert binned.is_sparse and binned.n_stored <= X.nnz
            np.testing.assert_array_equal(binned.codes(), dense_mapper.transform(dense.astype(dtype), 2).codes())
            rows = [7, 3, 2999, 0, 7]
            np.testing.assert_array_equal(dense_mapper.transform(values, 2, rows=rows).codes(),
                                          dense_mapper.transform(dense.astype(dtype), 2, rows=rows).codes())


@pytest.mark.parametrize("k", [2, 3])
def test_sparse_histograms_sync_across_row_shards(k):
    X, _, y = sparse_data()
    make = lambda: tf.HistGradientBoostingClassifier(max_iter=6, random_state=0)  # noqa: E731
    reference = make().fit(X, y > 0)
    _core._testing.set_row_shards(k)
    try:
        sharded = make().fit(X, y > 0)
    finally:
        _core._testing.set_row_shards(1)
    assert_same_model(reference, sharded)


def test_a_malformed_csr_is_a_clear_error():
    mapper = _core.BinMapper(15).fit(np.zeros((3, 2)), 1)

    class Csr:  # what the core reads of a scipy CSR matrix, broken on purpose
        format = "csr"

        def __init__(self, indptr, indices, data, shape):
            self.indptr, self.indices, self.data, self.shape = (np.asarray(indptr), np.asarray(indices),
                                                                 np.asarray(data, dtype=float), shape)

    with pytest.raises(ValueError, match="not strictly ascending"):
        mapper.transform(Csr([0, 2, 2, 2], [1, 0], [1.0, 2.0], (3, 2)), 1)
    with pytest.raises(ValueError, match="out of range"):
        mapper.transform(Csr([0, 1, 1, 1], [5], [1.0], (3, 2)), 1)
    with pytest.raises(ValueError, match="out of range"):
        mapper.transform(Csr([0, 1, 1, 1], np.array([2**40], dtype=np.int64), [1.0], (3, 2)), 1)
    with pytest.raises(ValueError, match="indptr"):
        mapper.transform(Csr([0, 1, 3, 2], [0, 1, 0], [1.0, 1.0, 1.0], (3, 2)), 1)
    with pytest.raises(ValueError, match="indptr"):
        mapper.transform(Csr([0, 1], [0], [1.0], (3, 2)), 1)


_PEAK_MEMORY_SCRIPT = textwrap.dedent("""
    import resource, sys
    import numpy as np
    from scipy import sparse
    import treeforge as tf
    n, width, per_row = 20_000, 1 << 18, 30
    rng = np.random.default_rng(0)
    columns = rng.integers(0, width, size=n * per_row)
    X = sparse.csr_matrix((np.ones(n * per_row), columns, np.arange(0, n * per_row + 1, per_row)), shape=(n, width))
    X.sum_duplicates()
    y = (X[:, :2000].sum(axis=1).A1 > 0).astype(int)
    model = tf.HistGradientBoostingClassifier(max_iter=5, random_state=0).fit(X, y)
    model.predict_proba(X)
    model.apply(X)
    tf.RandomForestClassifier(n_estimators=2, max_depth=8, random_state=0).fit(X, y).predict(X)
    # This process's own peak (VmHWM): ru_maxrss keeps the forking pytest's across exec.
    with open("/proc/self/status") as status:
        peak = [int(line.split()[1]) for line in status if line.startswith("VmHWM:")]
    print((peak or [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss])[0] // 1024)
""")


def test_memory_follows_the_non_zeros():
    # Dense, this X would take 20,000 x 262,144 x 8 bytes = 42 GB; its non-zeros take 7 MB.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", _PEAK_MEMORY_SCRIPT], capture_output=True, text=True, env=env,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    peak_mib = int(out.stdout.split()[-1])
    assert peak_mib < 1024, f"peak resident memory {peak_mib} MiB"


def test_features_too_rare_to_split_are_left_out_and_the_model_is_unchanged():
    # Feature 0 has exactly min_samples_leaf non-zero rows, which carry the signal: it must split.
    # Features 1.. have one row fewer each: no split of theirs could leave min_samples_leaf rows on
    # the non-zero side, so the sparse training matrix leaves them out; the model is the dense one's.
    rng = np.random.default_rng(3)
    n, min_leaf, n_rare = 200, 5, 300
    rows = [rng.choice(n, size=min_leaf, replace=False)] + [rng.choice(n, size=min_leaf - 1, replace=False)
                                                           for _ in range(n_rare)]
    X = sparse.csr_matrix((np.ones(sum(len(r) for r in rows)), (np.concatenate(rows),
                           np.repeat(np.arange(n_rare + 1), [len(r) for r in rows]))), shape=(n, n_rare + 1))
    y = 10.0 * X[:, 0].toarray().ravel() + rng.normal(0, 0.01, n)
    make = lambda: tf.HistGradientBoostingRegressor(max_iter=3, min_samples_leaf=min_leaf, random_state=0)  # noqa: E731
    from_sparse, from_dense = make().fit(X, y), make().fit(X.toarray(), y)
    assert_same_model(from_sparse, from_dense)
    assert model_fields(from_sparse)["feature"].max() == 0  # every split is on feature 0
    mapper = from_sparse._model.bin_mapper
    assert mapper.transform(X, 1, min_stored=min_leaf).n_active == 1
    assert mapper.transform(X, 1, min_stored=min_leaf - 1).n_active == n_rare + 1


def test_hashed_ngrams_go_straight_into_the_trees():
    # The README's text pipeline on made-up documents: a topic word decides the class, behind noise.
    from sklearn.pipeline import make_pipeline

    from treeforge.ngram import HashingNGramVectorizer

    rng = np.random.default_rng(0)
    noise = [f"w{k}" for k in range(300)]
    labels = rng.integers(0, 2, size=600)
    texts = [" ".join(list(rng.choice(noise, size=12)) + [("orbit launch" if c else "engine brake")])
             for c in labels]
    model = make_pipeline(
        HashingNGramVectorizer(n_features=2**20, word_ngram_range=(1, 2), char_ngram_range=(3, 5)),
        tf.HistGradientBoostingClassifier(max_iter=20, random_state=0),
    )
    model.fit(texts[:400], labels[:400])
    binned_columns = model[-1]._model.n_features
    assert binned_columns == 2**20  # 400 x 2**20 would be 3.4 GB dense
    assert (model.predict(texts[400:]) == labels[400:]).mean() == 1.0


@pytest.mark.parametrize("make", [
    lambda n_jobs: tf.HistGradientBoostingClassifier(max_iter=8, random_state=0, n_jobs=n_jobs),
    lambda n_jobs: tf.RandomForestClassifier(n_estimators=4, random_state=0, n_jobs=n_jobs),
], ids=["boosting", "forest"])
def test_sparse_models_are_identical_on_any_thread_count(make):
    # Per-thread winners, alive features concatenated in thread order, scattered partition columns.
    X, _, y = sparse_data(n=3000, n_features=300, density=0.05)
    assert_same_model(make(1).fit(X, y > 0), make(2).fit(X, y > 0))
