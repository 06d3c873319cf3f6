"""Tests of treeforge.ngram: counts against collections.Counter, language-model normalisation and
a slow Kneser-Ney reference, and the hashed vectorizer against a pure-Python reference."""

import collections
import math
import re

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from treeforge.ngram import (
    HashingNGramVectorizer,
    NGramLanguageModel,
    Vocabulary,
    count_ngrams,
)

# ---------------------------------------------------------------------------------------------
# References
# ---------------------------------------------------------------------------------------------


def counter_of_ngrams(sequences, n):
    """collections.Counter of all 1..n-grams (tuples), never crossing a sequence."""
    counter = collections.Counter()
    for seq in sequences:
        seq = list(seq)
        for k in range(1, n + 1):
            counter.update(tuple(seq[i : i + k]) for i in range(len(seq) - k + 1))
    return counter


class ReferenceLanguageModel:
    """Dictionary-based n-gram model, written from the formulas of treeforge.ngram._language_model."""

    def __init__(self, sentences, n, smoothing, k=1.0):
        self.n, self.smoothing, self.k = n, smoothing, k
        words = {w for s in sentences for w in s}
        self.vocab = {"<unk>", "<s>", "</s>"} | words
        self.outcomes = sorted(self.vocab - {"<s>"})
        padded = [["<s>"] * (n - 1) + list(s) + ["</s>"] for s in sentences]
        raw = [None] + [collections.Counter() for _ in range(n)]
        for s in padded:
            for order in range(1, n + 1):
                raw[order].update(tuple(s[i : i + order]) for i in range(len(s) - order + 1))
        self.event = [None]
        for order in range(1, n + 1):
            if smoothing == "kneser_ney" and order < n:
                event = collections.Counter(gram[1:] for gram in raw[order + 1])
            else:
                event = collections.Counter(raw[order])
            self.event.append({g: c for g, c in event.items() if g[-1] != "<s>"})
        self.total = [None] + [collections.Counter() for _ in range(n)]
        self.types = [None] + [collections.Counter() for _ in range(n)]
        self.discount = [None]
        for order in range(1, n + 1):
            for gram, c in self.event[order].items():
                self.total[order][gram[:-1]] += c
                self.types[order][gram[:-1]] += 1
            values = list(self.event[order].values())
            n1, n2 = values.count(1), values.count(2)
            self.discount.append(n1 / (n1 + 2 * n2) if n1 and n2 else 0.75)

    def prob(self, context, word):
        if word == "<s>":
            return 0.0
        context = tuple(context)
        if self.smoothing == "add_k":
            total = self.total[self.n].get(context, 0)
            count = self.event[self.n].get(context + (word,), 0)
            return (count + self.k) / (total + self.k * len(self.outcomes))
        prob = 1.0 / len(self.outcomes)
        for order in range(1, self.n + 1):
            h = context[len(context) - (order - 1) :] if order > 1 else ()
            total = self.total[order].get(h, 0)
            if total == 0:
                continue
            count = self.event[order].get(h + (word,), 0)
            if self.smoothing == "mle":
                prob = count / total
            else:
                d = self.discount[order]
                prob = (max(count - d, 0) + d * self.types[order][h] * prob) / total
        return prob

    def perplexity(self, sentences):
        log_sum, n_tokens = 0.0, 0
        for s in sentences:
            s = [w if w in self.vocab else "<unk>" for w in s]
            padded = ["<s>"] * (self.n - 1) + s + ["</s>"]
            for i in range(self.n - 1, len(padded)):
                log_sum += math.log(self.prob(padded[i - self.n + 1 : i], padded[i]))
                n_tokens += 1
        return math.exp(-log_sum / n_tokens)


def markov_corpus(n_sentences, seed, n_words=25):
    """Sentences from one random first-order Markov chain, so n-grams repeat like in text."""
    words = [f"w{i}" for i in range(n_words)]
    transition = np.random.default_rng(1234).dirichlet(np.full(n_words, 0.3), size=n_words)
    rng = np.random.default_rng(seed)
    sentences = []
    for _ in range(n_sentences):
        word = rng.integers(n_words)
        sentence = []
        for _ in range(rng.integers(1, 12)):
            sentence.append(words[word])
            word = rng.choice(n_words, p=transition[word])
        sentences.append(sentence)
    return sentences


MASK64 = (1 << 64) - 1


def reference_feature(gram, mark, n_features):
    """(column, sign) of an n-gram string, as documented by HashingNGramVectorizer."""
    h = 0xCBF29CE484222325
    for unit in [mark, *map(ord, gram)]:
        h = ((h ^ unit) * 0x100000001B3) & MASK64
    h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & MASK64
    h ^= h >> 31
    return h % n_features, -1.0 if h >> 63 else 1.0


def reference_hashed_counts(texts, n_features, word_range, char_range, lowercase, alternate_sign):
    out = np.zeros((len(texts), n_features))
    for row, text in enumerate(texts):
        text = text.lower() if lowercase else text
        grams = []
        if word_range:
            words = re.findall(r"\w+", text)
            for k in range(word_range[0], word_range[1] + 1):
                grams += [(" ".join(words[i : i + k]), 0x110001) for i in range(len(words) - k + 1)]
        if char_range:
            squeezed = re.sub(r"\s+", " ", text)
            for k in range(char_range[0], char_range[1] + 1):
                grams += [(squeezed[i : i + k], 0x110002) for i in range(len(squeezed) - k + 1)]
        for gram, mark in grams:
            column, sign = reference_feature(gram, mark, n_features)
            out[row, column] += sign if alternate_sign else 1.0
    return out


# ---------------------------------------------------------------------------------------------
# Counting
# ---------------------------------------------------------------------------------------------

tokens = st.sampled_from(["a", "b", "c", "dd", "é", "x y", ""])


@settings(max_examples=60, deadline=None)
@given(corpus=st.lists(st.lists(tokens, max_size=12), min_size=1, max_size=8), n=st.integers(1, 4))
def test_string_counts_equal_counter(corpus, n):
    if not any(corpus):
        with pytest.raises(ValueError, match="empty"):
            count_ngrams(corpus, n)
        return
    assert count_ngrams(corpus, n).to_dict() == counter_of_ngrams(corpus, n)


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 15), min_size=1, max_size=10),
    n=st.integers(1, 5),
    n_vocab=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_integer_counts_equal_counter(lengths, n, n_vocab, seed):
    if sum(lengths) == 0:
        return
    ids = np.random.default_rng(seed).integers(0, n_vocab, sum(lengths))
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    counts = count_ngrams(ids, n, offsets=offsets)
    sequences = [ids[offsets[s] : offsets[s + 1]].tolist() for s in range(len(lengths))]
    assert counts.to_dict() == counter_of_ngrams(sequences, n)
    for order in range(1, n + 1):
        assert np.all(np.diff(counts.keys[order - 1]) > 0)  # sorted, distinct packed keys
        table = counts.ngrams(order)
        assert [tuple(r) for r in table.tolist()] == sorted(map(tuple, table.tolist()))


def test_large_vocabulary_and_order_do_not_overflow():
    # n_vocab ** n far beyond int64: packed keys use ranks, not powers of the vocabulary size.
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 2_000_000_000, 3000)
    ids[1000:1010] = ids[2000:2010]
    counts = count_ngrams(ids, 8)
    assert counts.count(ids[1000:1008]) == 2
    assert counts.to_dict(order=8) == {
        g: c for g, c in counter_of_ngrams([ids.tolist()], 8).items() if len(g) == 8
    }


def test_lookup_most_common_and_unknown_token():
    corpus = [["the", "cat", "sat"], ["the", "cat", "ran"], ["a", "dog", "sat"]]
    counts = count_ngrams(corpus, 2)
    assert counts.count(["the", "cat"]) == 2
    assert counts.count(["cat", "the"]) == 0
    assert counts.most_common(1, 2) == [(("cat",), 2), (("sat",), 2)]
    rare = count_ngrams(corpus, 2, min_count=2)
    assert rare.vocabulary.tokens_ == ["<unk>", "cat", "sat", "the"]
    assert rare.to_dict(order=1) == {("<unk>",): 3, ("cat",): 2, ("sat",): 2, ("the",): 2}
    assert rare.count(["<unk>", "sat"]) == 1


def test_vocabulary_round_trip():
    vocab = Vocabulary(min_count=2, specials=("<s>",))
    ids, offsets = vocab.fit_encode([["b", "a", "b"], ["c", "a"]])
    assert vocab.tokens_ == ["<unk>", "<s>", "a", "b"]
    assert vocab.decode(ids) == ["b", "a", "b", "<unk>", "a"]
    assert offsets.tolist() == [0, 3, 5]
    again, _ = vocab.encode([["b", "a", "b"], ["c", "a"]])
    np.testing.assert_array_equal(ids, again)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: count_ngrams([["a"]], 0), ValueError, "at least 1"),
        (lambda: count_ngrams([["a"]], 2.0), TypeError, "integer"),
        (lambda: count_ngrams([], 2), ValueError, "empty"),
        (lambda: count_ngrams([[], []], 2), ValueError, "empty"),
        (lambda: count_ngrams(["a b c"], 2), TypeError, "string"),
        (lambda: count_ngrams([["a", 3]], 2), TypeError, "strings"),
        (lambda: count_ngrams(np.array([0, 1, -1]), 2), ValueError, "non-negative"),
        (lambda: count_ngrams(np.array([0.5, 1.0]), 2), TypeError, "integer"),
        (lambda: count_ngrams(np.array([0, 1, 2]), 2, offsets=[0, 2]), ValueError, "offsets"),
        (lambda: count_ngrams(np.array([0, 1, 2]), 2, offsets=[0, 2, 1, 3]), ValueError, "offsets"),
        (lambda: count_ngrams(np.array([0, 5]), 2, n_vocab=3), ValueError, "n_vocab"),
    ],
)
def test_bad_counting_input_raises(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---------------------------------------------------------------------------------------------
# Language model
# ---------------------------------------------------------------------------------------------

SMOOTHINGS = ["mle", "add_k", "kneser_ney"]


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_every_context_distribution_sums_to_one(smoothing, n):
    train = markov_corpus(80, seed=n)
    lm = NGramLanguageModel(n=n, smoothing=smoothing, k=0.5).fit(train)
    contexts = {tuple(s[max(0, i - n + 1) : i]) for s in train for i in range(len(s) + 1)}
    contexts |= {("w1", "never-seen"), ("never-seen",), ("w3", "w3", "w3")}
    for context in sorted(contexts):
        probs = lm.next_token_distribution(list(context))
        assert probs.shape == (len(lm.vocabulary_),)
        assert np.all(probs >= 0)
        assert probs[lm.vocabulary_.id_of("<s>")] == 0
        assert abs(probs.sum() - 1.0) < 1e-9, context


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
def test_perplexity_matches_slow_reference(smoothing):
    train, held_out = markov_corpus(300, seed=7), markov_corpus(40, seed=8)
    held_out[3] = held_out[3] + ["unseen-word"]
    if smoothing == "mle":  # unseen events give probability 0: score the training text
        held_out = train[:40]
    lm = NGramLanguageModel(n=3, smoothing=smoothing, k=0.5).fit(train)
    reference = ReferenceLanguageModel(train, 3, smoothing, k=0.5)
    assert lm.perplexity(held_out) == pytest.approx(reference.perplexity(held_out), rel=1e-10)
    if smoothing == "kneser_ney":
        np.testing.assert_allclose(lm.discounts_, reference.discount[1:])


def test_kneser_ney_beats_add_one_on_held_out_text():
    train, held_out = markov_corpus(400, seed=3), markov_corpus(60, seed=4)
    kn = NGramLanguageModel(n=3).fit(train).perplexity(held_out)
    laplace = NGramLanguageModel(n=3, smoothing="add_k").fit(train).perplexity(held_out)
    assert kn < laplace


def test_log_prob_is_the_chain_rule():
    lm = NGramLanguageModel(n=3).fit(markov_corpus(100, seed=5))
    sentence = ["w1", "w2", "w3", "w9"]
    expected = 0.0
    for i, word in enumerate(sentence + ["</s>"]):
        probs = lm.next_token_distribution(sentence[:i])
        expected += math.log(probs[lm.vocabulary_.id_of(word)])
    assert lm.log_prob(sentence) == pytest.approx(expected, rel=1e-12)
    assert lm.log_prob(" ".join(sentence)) == lm.log_prob(sentence)


def test_generate_is_seeded_and_stops_at_the_end_marker():
    lm = NGramLanguageModel(n=2).fit(markov_corpus(100, seed=6))
    first = lm.generate(["w1"], length=30, random_state=11)
    assert first == lm.generate(["w1"], length=30, random_state=11)
    assert len(first) <= 30 and set(first) <= set(lm.vocabulary_.tokens_) - {"<s>", "</s>"}
    mle = NGramLanguageModel(n=3, smoothing="mle").fit(["a b c d"])
    assert {tuple(mle.generate([], 10, seed)) for seed in range(5)} == {("a", "b", "c", "d")}
    assert mle.generate([], 2, 0) == ["a", "b"]


def test_save_load_round_trip_and_corrupted_file(tmp_path):
    train = markov_corpus(60, seed=9)
    lm = NGramLanguageModel(n=3, min_count=2).fit(train)
    path = tmp_path / "lm.npz"
    lm.save(path)
    loaded = NGramLanguageModel.load(path)
    held_out = markov_corpus(10, seed=10)
    assert loaded.perplexity(held_out) == lm.perplexity(held_out)
    np.testing.assert_array_equal(loaded.next_token_distribution(["w2"]), lm.next_token_distribution(["w2"]))
    # A table whose keys point past the table below must be refused, not indexed.
    with np.load(path) as archive:
        arrays = dict(archive)
    arrays["keys_3"] = arrays["keys_3"] + arrays["keys_2"].size * len(lm.vocabulary_)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="order 3"):
        NGramLanguageModel.load(tmp_path / "bad.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a treeforge"):
        NGramLanguageModel.load(tmp_path / "junk.npz")


@pytest.mark.parametrize(
    "params, corpus, message",
    [
        ({"n": 0}, ["a b"], "at least 1"),
        ({"smoothing": "witten_bell"}, ["a b"], "smoothing"),
        ({"smoothing": "add_k", "k": 0}, ["a b"], "k must"),
        ({"discount": 1.5}, ["a b"], "discount"),
        ({}, [], "empty"),
        ({}, ["", ""], "empty"),
        ({}, ["a <s> b"], "markers"),
    ],
)
def test_bad_language_model_input_raises(params, corpus, message):
    with pytest.raises(ValueError, match=message):
        NGramLanguageModel(**params).fit(corpus)


def test_unfitted_model_raises():
    with pytest.raises(ValueError, match="not fitted"):
        NGramLanguageModel().perplexity(["a"])


# ---------------------------------------------------------------------------------------------
# Hashed vectorizer
# ---------------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    texts=st.lists(st.text(max_size=40), max_size=6),
    word_range=st.sampled_from([None, (1, 1), (1, 3), (2, 2)]),
    char_range=st.sampled_from([None, (1, 1), (2, 4)]),
    lowercase=st.booleans(),
    alternate_sign=st.booleans(),
)
def test_vectorizer_equals_python_reference(texts, word_range, char_range, lowercase, alternate_sign):
    if word_range is None and char_range is None:
        return
    vec = HashingNGramVectorizer(
        n_features=37,
        word_ngram_range=word_range,
        char_ngram_range=char_range,
        lowercase=lowercase,
        alternate_sign=alternate_sign,
    )
    X = vec.fit_transform(texts)
    assert sp.issparse(X) and X.format == "csr" and X.shape == (len(texts), 37)
    assert np.all(X.data != 0)
    expected = reference_hashed_counts(texts, 37, word_range, char_range, lowercase, alternate_sign)
    np.testing.assert_array_equal(X.toarray(), expected)


def test_vectorizer_on_known_text():
    vec = HashingNGramVectorizer(n_features=2**20, word_ngram_range=(1, 2), char_ngram_range=(3, 3))
    X = vec.transform(["The cat,  the\tCAT!"])
    # words: the cat the cat -> 4 unigrams, 3 bigrams; characters: "the cat, the cat!" -> 15 trigrams
    assert X.sum() == 4 + 3 + 15
    the = reference_feature("the", 0x110001, 2**20)[0]
    the_cat = reference_feature("the cat", 0x110001, 2**20)[0]
    assert X[0, the] >= 2 and X[0, the_cat] >= 2
    l2 = HashingNGramVectorizer(n_features=64, norm="l2").transform(["a b a"])
    assert np.sum(l2.data**2) == pytest.approx(1.0)


def synthetic_reviews(n_docs, seed):
    """Two-class texts: both classes draw from one vocabulary with different word weights."""
    rng = np.random.default_rng(seed)
    words = ["".join(rng.choice(list("abcdefghij"), rng.integers(2, 7))) for _ in range(300)]
    background = rng.dirichlet(np.ones(300))
    tilts = [rng.dirichlet(np.full(300, 0.2)) for _ in range(2)]
    labels = rng.integers(0, 2, n_docs)
    texts = []
    for label in labels:
        weights = 0.7 * background + 0.3 * tilts[label]
        texts.append(" ".join(rng.choice(words, rng.integers(15, 40), p=weights)))
    return texts, labels


def test_classifier_on_hashed_features_scores_like_sklearn_hashing_vectorizer():
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.linear_model import LogisticRegression

    texts, labels = synthetic_reviews(1200, seed=0)
    train, test = slice(0, 800), slice(800, None)
    n_features = 2**10
    ours = HashingNGramVectorizer(n_features=n_features, word_ngram_range=(1, 2)).fit_transform(texts)
    theirs = HashingVectorizer(
        n_features=n_features, ngram_range=(1, 2), alternate_sign=False, norm=None, token_pattern=r"\w+"
    ).fit_transform(texts)
    scores = {}
    for name, X in [("ours", ours), ("sklearn", theirs)]:
        model = LogisticRegression(C=0.1, max_iter=2000).fit(X[train], labels[train])
        scores[name] = model.score(X[test], labels[test])
    assert scores["ours"] > 0.85  # the task is learnable from these features
    assert scores["ours"] >= scores["sklearn"] - 0.02
    import treeforge

    if hasattr(treeforge, "HistGradientBoostingClassifier"):
        # The boosting estimators take the CSR matrix (densified inside, see the vectorizer's Notes).
        small = HashingNGramVectorizer(n_features=256).fit_transform(texts)
        clf = treeforge.HistGradientBoostingClassifier(max_iter=50, random_state=0)
        clf.fit(small[train], labels[train])
        assert clf.score(small[test], labels[test]) > 0.75


def test_vectorizer_is_a_stateless_sklearn_transformer():
    from sklearn.base import clone

    vec = HashingNGramVectorizer(n_features=8, char_ngram_range=(1, 2))
    assert clone(vec).get_params() == vec.get_params()
    assert vec.fit(["x"]) is vec
    np.testing.assert_array_equal(vec.transform(["ab"]).toarray(), vec.fit_transform(["ab"]).toarray())
    assert vec.transform([]).shape == (0, 8)


@pytest.mark.parametrize(
    "params, texts, error, message",
    [
        ({}, "one text", TypeError, "single string"),
        ({}, ["ok", 3], TypeError, "document 1"),
        ({"n_features": 0}, ["a"], ValueError, "n_features"),
        ({"n_features": 8.0}, ["a"], TypeError, "n_features"),
        ({"word_ngram_range": (2, 1)}, ["a"], ValueError, "word_ngram_range"),
        ({"word_ngram_range": None}, ["a"], ValueError, "both be None"),
        ({"norm": "max"}, ["a"], ValueError, "norm"),
    ],
)
def test_bad_vectorizer_input_raises(params, texts, error, message):
    with pytest.raises(error, match=message):
        HashingNGramVectorizer(**params).transform(texts)
