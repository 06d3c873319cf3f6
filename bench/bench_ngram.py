"""N-gram counting: treeforge.ngram.count_ngrams beside collections.Counter and scikit-learn's
CountVectorizer, counting all 1..3-grams of a synthetic Zipf corpus.

The corpus has ``--tokens`` tokens over a 50,000-word vocabulary (Zipf exponent 1.1) in sentences
of 5 to 40 words. Each method runs ``--repeats`` times (after one untimed warm-up call for
treeforge, which loads or compiles its Numba kernels); the median wall time is reported with the
throughput, and every method's number of distinct n-grams per order is checked against
treeforge's. The peers are slow: ``--peer-repeats`` bounds the runs of the string-based methods
and ``--sklearn-repeats`` those of CountVectorizer (about 2 GB of n-gram strings at 10M tokens).

    python bench/bench_ngram.py                              # 10 million tokens (about 4 minutes)
    python bench/bench_ngram.py --tokens 1000000 --repeats 3 # quick look
"""

import argparse
import collections
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

from treeforge.ngram import count_ngrams  # noqa: E402

N_VOCAB = 50_000
ORDER = 3


def make_corpus(n_tokens, seed=0):
    """(ids int32 (n_tokens,), offsets int64 (n_sentences + 1,), words list of str)."""
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, N_VOCAB + 1)
    probs = ranks**-1.1 / np.sum(ranks**-1.1)
    ids = rng.choice(N_VOCAB, size=n_tokens, p=probs).astype(np.int32)
    lengths = rng.integers(5, 41, size=n_tokens // 5 + 1)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    offsets = np.append(offsets[offsets < n_tokens], n_tokens).astype(np.int64)
    words = [f"w{i}" for i in range(N_VOCAB)]
    return ids, offsets, words


def as_sentences(ids, offsets, words):
    tokens = np.array(words, dtype=object)[ids].tolist()
    return [tokens[offsets[s] : offsets[s + 1]] for s in range(offsets.size - 1)]


def counter_ngrams(sentences):
    counts = collections.Counter()
    for sentence in sentences:
        counts.update(sentence)
        counts.update(zip(sentence, sentence[1:]))
        counts.update(zip(sentence, sentence[1:], sentence[2:]))
    return counts


def count_vectorizer_ngrams(texts):
    from sklearn.feature_extraction.text import CountVectorizer

    vectorizer = CountVectorizer(ngram_range=(1, ORDER), token_pattern=r"\S+", lowercase=False)
    return vectorizer, vectorizer.fit_transform(texts)


def timed(fn, repeats):
    """(median seconds, last result)."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, result


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tokens", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=5, help="runs of treeforge on ids")
    parser.add_argument("--peer-repeats", type=int, default=3, help="runs of the string-based methods")
    parser.add_argument("--sklearn-repeats", type=int, default=1, help="runs of CountVectorizer")
    parser.add_argument("--skip", default="", help="comma-separated methods to skip: counter,sklearn")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    ids, offsets, words = make_corpus(args.tokens)
    sentences = as_sentences(ids, offsets, words)
    count_ngrams(ids[:1000], ORDER)  # load (or compile) the kernels outside the timings

    rows = []
    median, times, reference = timed(lambda: count_ngrams(ids, ORDER, offsets=offsets), args.repeats)
    distinct = [keys.size for keys in reference.keys]
    rows.append(("treeforge count_ngrams, int ids + offsets", median, times))
    median, times, result = timed(lambda: count_ngrams(sentences, ORDER), args.peer_repeats)
    assert [keys.size for keys in result.keys] == distinct
    rows.append(("treeforge count_ngrams, lists of str (incl. vocabulary)", median, times))
    if "counter" not in skip:
        median, times, result = timed(lambda: counter_ngrams(sentences), args.peer_repeats)
        by_order = collections.Counter(len(k) if isinstance(k, tuple) else 1 for k in result)
        assert [by_order[k] for k in range(1, ORDER + 1)] == distinct
        rows.append(("collections.Counter over zip()", median, times))
        del result
    if "sklearn" not in skip:
        texts = [" ".join(s) for s in sentences]
        median, times, (vectorizer, _) = timed(lambda: count_vectorizer_ngrams(texts), args.sklearn_repeats)
        assert len(vectorizer.vocabulary_) == sum(distinct)
        rows.append(("sklearn CountVectorizer(ngram_range=(1, 3)).fit_transform", median, times))

    print(f"\n{args.tokens:,} tokens, {offsets.size - 1:,} sentences, distinct 1/2/3-grams: "
          f"{distinct[0]:,} / {distinct[1]:,} / {distinct[2]:,}; load average {os.getloadavg()[0]:.1f}\n")
    print("| method | median s | M tokens/s | vs treeforge (ids) | runs (s) |")
    print("| --- | ---: | ---: | ---: | --- |")
    base = rows[0][1]
    for name, median, times in rows:
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(f"| {name} | {median:.2f} | {args.tokens / median / 1e6:.1f} | {median / base:.1f}x | {runs} |")


if __name__ == "__main__":
    main()
