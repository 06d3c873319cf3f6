"""Sparse text data (#25): hashed n-grams of generated documents, treeforge beside LightGBM and XGBoost
on the same CSR matrix, same rounds, leaves and threads.

Documents are drawn from a Zipf vocabulary of made-up words (seeded); a document is positive with
the probability of a logistic score summed over the "signal" words and word pairs it contains (a
few hundred of them). ``HashingNGramVectorizer`` turns them into word 1-2-grams and character
3-5-grams hashed into ``--columns`` columns (counts, CSR float32); no library sees a dense matrix.

Each fit runs in a fresh process (peak RSS from ``os.wait4``), libraries round-robin, medians of
``--repeats``; held-out AUC of every library, and the vectorizer's documents per second beside
scikit-learn's ``HashingVectorizer`` on the same documents.

    python bench/bench_sparse.py                       # 200,000 documents
    python bench/bench_sparse.py --data onehot         # 1,000,000 rows, 10 fields of 1,000 levels
    python bench/bench_sparse.py --rows 20000 --repeats 1 --no-write
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

import common

N_THREADS = 2
ROUNDS, LEAVES, LEARNING_RATE = 100, 255, 0.1


def documents(n_docs, seed=0, vocabulary=30_000, n_signal=300):
    """(texts, labels): Zipf-distributed made-up words, labels from a few hundred signal n-grams."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    lengths = rng.integers(3, 10, size=vocabulary)
    words = np.array(["".join(rng.choice(letters, size=k)) for k in lengths])
    frequency = 1.0 / np.arange(1, vocabulary + 1) ** 1.05
    frequency /= frequency.sum()
    signal = rng.choice(np.arange(10, 2000), size=n_signal, replace=False)  # neither rare nor stop words
    weight = np.zeros(vocabulary)
    weight[signal] = rng.normal(0, 2.0, size=n_signal)
    pair_weight = {(int(a), int(b)): w for a, b, w in zip(signal[:100], signal[100:200], rng.normal(0, 2, 100))}
    texts, scores = [], np.empty(n_docs)
    for d in range(n_docs):
        ids = rng.choice(vocabulary, size=int(rng.integers(8, 40)), p=frequency)
        score = weight[np.unique(ids)].sum()
        score += sum(pair_weight.get((int(a), int(b)), 0.0) for a, b in zip(ids[:-1], ids[1:]))
        scores[d] = score
        texts.append(" ".join(words[ids]))
    labels = (rng.random(n_docs) < 1 / (1 + np.exp(-(scores - np.median(scores))))).astype(np.int32)
    return texts, labels


def one_hot(n_rows, seed=0, n_fields=10, levels=1000):
    """(X, labels): n_fields categorical fields of `levels` Zipf-distributed levels each, one-hot
    encoded into n_fields * levels columns (one non-zero per field and row); positive with the
    probability of a logistic score of per-level effects and one interaction of two fields."""
    from scipy import sparse

    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, levels + 1) ** 1.1
    p /= p.sum()
    codes = np.stack([rng.choice(levels, size=n_rows, p=p) for _ in range(n_fields)], axis=1)
    effect = rng.normal(0, 1, size=(n_fields, levels)) * (rng.random((n_fields, levels)) < 0.2)
    score = effect[np.arange(n_fields), codes].sum(axis=1)
    score += 1.5 * ((codes[:, 0] < 20) & (codes[:, 1] % 3 == 0))
    labels = (rng.random(n_rows) < 1 / (1 + np.exp(-(score - np.median(score))))).astype(np.int32)
    columns = codes + levels * np.arange(n_fields)
    X = sparse.csr_matrix((np.ones(codes.size, dtype=np.float32), columns.ravel(),
                           np.arange(0, codes.size + 1, n_fields)), shape=(n_rows, n_fields * levels))
    return X, labels


def vectorizer(columns):
    from treeforge.ngram import HashingNGramVectorizer

    return HashingNGramVectorizer(n_features=columns, word_ngram_range=(1, 2), char_ngram_range=(3, 5))


def make_data(data, n_rows, columns, cache_dir):
    path = os.path.join(cache_dir, f"sparse-{data}-{n_rows}-{columns}-v2.npz")
    if not os.path.exists(path):
        if data == "text":
            texts, labels = documents(n_rows)
            X = vectorizer(columns).transform(texts).astype(np.float32)
        else:
            X, labels = one_hot(n_rows)
        n_train = n_rows * 4 // 5
        np.savez(path, data=X.data, indices=X.indices, indptr=X.indptr, shape=X.shape, y=labels, n_train=n_train)
    return path


def load(path):
    from scipy import sparse

    z = np.load(path)
    X = sparse.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
    n_train = int(z["n_train"])
    return X[:n_train], z["y"][:n_train], X[n_train:], z["y"][n_train:]


def fit_one(library, path):
    """One fit in this process: fit seconds and held-out AUC."""
    from sklearn.metrics import roc_auc_score

    X, y, X_test, y_test = load(path)
    if library == "treeforge":
        import treeforge as tf

        model = tf.HistGradientBoostingClassifier(max_iter=ROUNDS, max_leaf_nodes=LEAVES, learning_rate=LEARNING_RATE,
                                                  early_stopping=False, min_samples_leaf=20, n_jobs=N_THREADS)
    elif library == "lightgbm":
        import lightgbm

        model = lightgbm.LGBMClassifier(n_estimators=ROUNDS, num_leaves=LEAVES, learning_rate=LEARNING_RATE,
                                        min_child_samples=20, n_jobs=N_THREADS, verbose=-1)
    else:
        import xgboost

        model = xgboost.XGBClassifier(n_estimators=ROUNDS, max_leaves=LEAVES, max_depth=0, grow_policy="lossguide",
                                      learning_rate=LEARNING_RATE, tree_method="hist", n_jobs=N_THREADS)
    start = time.perf_counter()
    model.fit(X, y)
    seconds = time.perf_counter() - start
    auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])
    return {"fit_s": seconds, "auc": auc}


def run_child(library, path):
    """(result, peak RSS MiB) of one fit in a fresh process, spawned from common's lean launcher so
    that its peak is its own and not this (large) parent's."""
    out = subprocess.run([sys.executable, "-c", common._LAUNCHER, sys.executable, __file__, "--child", library, path],
                         capture_output=True, text=True, env=common.child_env(N_THREADS))
    lines = out.stdout.strip().splitlines()
    _, maxrss_kib, status = lines[-1].split()
    if int(status) != 0:
        raise RuntimeError(f"{library} child failed ({status}): {out.stderr[-2000:]}")
    return json.loads(lines[-2]), int(maxrss_kib) / 1024


def vectorizer_throughput(n_docs, columns):
    from sklearn.feature_extraction.text import HashingVectorizer

    texts, _ = documents(n_docs, seed=1)
    vectorizer(columns).transform(texts[:100])  # compile the Numba kernels first
    rates = {}
    for name, vec in (("treeforge", vectorizer(columns)),):
        start = time.perf_counter()
        vec.transform(texts)
        rates[name] = n_docs / (time.perf_counter() - start)
    words = HashingVectorizer(n_features=columns, ngram_range=(1, 2), alternate_sign=False, norm=None)
    chars = HashingVectorizer(n_features=columns, analyzer="char", ngram_range=(3, 5), alternate_sign=False,
                              norm=None)
    start = time.perf_counter()
    words.transform(texts) + chars.transform(texts)
    rates["scikit-learn"] = n_docs / (time.perf_counter() - start)
    return rates


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=["text", "onehot"], default="text")
    parser.add_argument("--rows", type=int, help="documents (text, default 200,000) or rows (onehot, default 1,000,000)")
    parser.add_argument("--columns", type=int, default=2**18, help="hashed columns of the text data")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--libraries", default="treeforge,lightgbm,xgboost")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("LIBRARY", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(fit_one(*args.child)))
        return
    args.rows = args.rows or (200_000 if args.data == "text" else 1_000_000)
    os.makedirs(common.CACHE_DIR, exist_ok=True)
    path = make_data(args.data, args.rows, args.columns, common.CACHE_DIR)
    libraries = args.libraries.split(",")
    runs = {lib: [] for lib in libraries}
    for _ in range(args.repeats):
        for lib in libraries:
            result, peak = run_child(lib, path)
            runs[lib].append((result["fit_s"], result["auc"], peak))
            print(lib, f"fit {result['fit_s']:.2f} s  AUC {result['auc']:.4f}  peak {peak:.0f} MiB", flush=True)
    z = np.load(path)
    rates = vectorizer_throughput(20_000, args.columns) if args.data == "text" else {}
    if rates:
        print("vectorizer documents/s:", {k: round(v) for k, v in rates.items()})
    report(args, runs, rates, int(z["indptr"][-1]), tuple(z["shape"]))


def report(args, runs, rates, nnz, shape):
    fit = {lib: statistics.median(r[0] for r in rs) for lib, rs in runs.items()}
    title = ("hashed word 1-2-grams and character 3-5-grams of generated documents" if args.data == "text"
             else "one-hot encoded fields")
    lines = [
        f"### Sparse {args.data}: {shape[0]:,} x {shape[1]:,}, {title}",
        "",
        f"- command: `python bench/bench_sparse.py --data {args.data} --rows {args.rows} --repeats {args.repeats}` "
        "(from the repository root)",
        f"- machine: {common.machine_info()}",
        f"- treeforge: {common.treeforge_revision()}",
        f"- data: CSR float32, {nnz:,} stored values ({nnz / shape[0]:.0f} a row); 80 % train, 20 % test; "
        f"{ROUNDS} rounds, {LEAVES} leaves, learning rate {LEARNING_RATE}, at least 20 rows a leaf, {N_THREADS} "
        "threads; each fit in a fresh process (peak RSS includes loading the matrix)",
        "",
        "| library | fit (s), median | fit / treeforge's | fit / LightGBM's | fit / XGBoost's | peak RSS (MiB) "
        "| held-out AUC | every fit (s) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for lib, rs in runs.items():
        ratios = [f"{fit[lib] / fit[peer]:.2f}" if peer in fit else "-" for peer in ("treeforge", "lightgbm", "xgboost")]
        lines.append(f"| {lib} | {fit[lib]:.2f} | {' | '.join(ratios)} | {statistics.median(r[2] for r in rs):.0f} | "
                     f"{statistics.median(r[1] for r in rs):.4f} | {', '.join(f'{r[0]:.2f}' for r in rs)} |")
    if rates:
        lines += ["", "Vectorizer, documents per second (word 1-2-grams and character 3-5-grams, 20,000 documents, "
                  "one thread for scikit-learn): " + ", ".join(f"{k} {v:,.0f}" for k, v in rates.items())]
    text = "\n".join(lines + [""])
    print(text)
    if not args.no_write:
        common.write_section(f"sparse-{args.data}-{args.rows}", text)


if __name__ == "__main__":
    main()
