"""The n-gram language model: chain-rule sentence probabilities under maximum-likelihood, add-k or
interpolated Kneser-Ney smoothing, on the packed-key counts of ``treeforge.ngram``.

Model
-----
A sentence ``w_1 .. w_m`` is padded to ``<s>^(n-1) w_1 .. w_m </s>`` and scored by the chain rule
``p(w_1 .. w_m </s>) = prod_i p(w_i | w_{i-n+1} .. w_{i-1})``. Every token but ``<s>`` can be
predicted; call that set ``S`` (``|S| = n_vocab - 1``). Write ``c(h w)`` for counts in the padded
corpus, ``h'`` for the context ``h`` without its oldest token, and take every total over ``w in S``.

* ``"mle"``: ``c(h w) / sum_w c(h w)`` for the longest suffix ``h`` of the context that was seen
  followed by a token (the unigram distribution at worst).
* ``"add_k"``: ``(c(h w) + k) / (sum_w c(h w) + k |S|)`` with the full context (k = 1: Laplace).
* ``"kneser_ney"`` (interpolated, Chen & Goodman 1998, eq. 16 with one discount per order):
  ``p_k(w | h) = (max(a_k(h w) - D_k, 0) + D_k N_k(h) p_{k-1}(w | h')) / sum_w a_k(h w)``, where
  ``a_n = c`` at the highest order, ``a_k(h w) = |{v : c(v h w) > 0}|`` (continuation counts)
  below it, ``N_k(h) = |{w : a_k(h w) > 0}|``, ``p_0 = 1 / |S|``, and ``p_k = p_{k-1}`` when the
  total is zero. ``D_k = n1 / (n1 + 2 n2)`` from the numbers of k-grams with ``a_k`` equal to 1
  and 2 (0.75 if either is zero), unless ``discount`` is given.

Each distribution sums to 1 over ``S`` for every context.
"""

import numbers
import zipfile
import zlib

import numpy as np

from .._files import atomic_write
from ._counts import NGramCounts, Vocabulary, _as_token_lists, _check_order, _count_tables, _load_kernels

# What reading a damaged file may raise besides ValueError (a truncated or altered zip archive, its
# compressed data, an array header, a field of the wrong type or shape); load turns each into a ValueError.
_DAMAGED_FILE_ERRORS = (OSError, EOFError, zlib.error, zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError,
                        KeyError, TypeError, IndexError, AttributeError, OverflowError, MemoryError)
_SMOOTHINGS = {"mle": 0, "add_k": 1, "kneser_ney": 2}  # codes of _kernels
_FORMAT = "treeforge.ngram_language_model"
_VERSION = 1


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _suffix_rows(counts, order):
    """Row in the table of ``order - 1`` of each ``order``-gram without its first token."""
    table = counts.ngrams(order)
    rows = np.zeros(table.shape[0], dtype=np.int64)
    for k in range(1, order):
        keys = counts.keys[k - 1]
        wanted = table[:, k] if k == 1 else rows * counts.n_vocab + table[:, k]
        rows = np.searchsorted(keys, wanted)
        if np.any(rows >= keys.size) or np.any(keys[np.minimum(rows, keys.size - 1)] != wanted):
            raise ValueError(f"inconsistent n-gram tables: a {order}-gram's suffix is missing")
    return rows


class NGramLanguageModel:
    """N-gram language model with sentence markers and a choice of smoothing.

    See the module docstring of ``treeforge.ngram._language_model`` for the exact formulas.

    Parameters
    ----------
    n : int, default=3
        Order of the model: each token is predicted from the ``n - 1`` before it.
    smoothing : {"kneser_ney", "add_k", "mle"}, default="kneser_ney"
        Interpolated Kneser-Ney, add-k (Laplace for ``k=1``) or maximum likelihood.
    k : float, default=1.0
        Pseudo-count of ``"add_k"``.
    discount : float in (0, 1] or None, default=None
        Kneser-Ney discount for every order; None estimates one per order.
    min_count : int, default=1
        Words seen fewer times in the training corpus become ``unknown_token``.
    unknown_token, bos_token, eos_token : str
        Unknown word, sentence start and sentence end markers.

    Attributes
    ----------
    vocabulary_ : treeforge.ngram.Vocabulary
        Token ids; probability arrays are indexed like ``vocabulary_.tokens_``.
    counts_ : treeforge.ngram.NGramCounts
        Counts of the padded training corpus.
    discounts_ : ndarray of shape (n,), float64
        Kneser-Ney discount of each order (zeros for other smoothings).

    Examples
    --------
    >>> lm = NGramLanguageModel(n=2).fit(["the cat sat", "the dog sat"])
    >>> round(float(sum(lm.next_token_distribution(["the"]))), 6)
    1.0
    >>> lm.generate(["the"], length=5, random_state=0)[-1] == "sat"
    True
    """

    def __init__(
        self,
        n=3,
        smoothing="kneser_ney",
        k=1.0,
        discount=None,
        min_count=1,
        unknown_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
    ):
        self.n = n
        self.smoothing = smoothing
        self.k = k
        self.discount = discount
        self.min_count = min_count
        self.unknown_token = unknown_token
        self.bos_token = bos_token
        self.eos_token = eos_token

    # -- fitting -----------------------------------------------------------------------------

    def _check_params(self):
        _check_order(self.n)
        if self.smoothing not in _SMOOTHINGS:
            raise ValueError(f"smoothing must be one of {sorted(_SMOOTHINGS)}, got {self.smoothing!r}")
        if not isinstance(self.k, numbers.Real) or not self.k > 0:
            raise ValueError(f"k must be a positive number, got {self.k!r}")
        if self.discount is not None and (
            not isinstance(self.discount, numbers.Real) or not 0 < self.discount <= 1
        ):
            raise ValueError(f"discount must be None or in (0, 1], got {self.discount!r}")

    def fit(self, corpus):
        """Count the n-grams of a corpus and build the smoothed statistics.

        Parameters
        ----------
        corpus : iterable of (list of str or str)
            Sentences; a string sentence is split on whitespace. They must not contain the
            sentence markers.

        Returns
        -------
        self
        """
        self._check_params()
        self.vocabulary_ = Vocabulary(
            min_count=self.min_count,
            unknown_token=self.unknown_token,
            specials=(self.bos_token, self.eos_token),
        )
        sentences = _as_token_lists(corpus, split_strings=True)
        ids, offsets = self.vocabulary_.fit_encode(sentences)
        if ids.size == 0:
            raise ValueError("the corpus is empty: it has no token")
        padded, padded_offsets = self._pad(ids, offsets)
        keys, counts = _count_tables(padded, padded_offsets, self.n, len(self.vocabulary_))
        self._set_counts(NGramCounts(self.n, len(self.vocabulary_), keys, counts, self.vocabulary_))
        return self

    def _pad(self, ids, offsets):
        """Sentences ``ids`` framed as ``<s>^(n-1) ids </s>``; returns (padded ids, offsets)."""
        bos, eos = self.vocabulary_.id_of(self.bos_token), self.vocabulary_.id_of(self.eos_token)
        if np.any((ids == bos) | (ids == eos)):
            raise ValueError(f"sentences must not contain the markers {self.bos_token!r}, {self.eos_token!r}")
        n_sentences = offsets.size - 1
        padded_offsets = offsets + self.n * np.arange(n_sentences + 1)
        padded = np.full(padded_offsets[-1], bos, dtype=np.int32)
        padded[padded_offsets[1:] - 1] = eos
        sentence_of_token = np.repeat(np.arange(n_sentences), np.diff(offsets))
        padded[np.arange(ids.size) + self.n * sentence_of_token + self.n - 1] = ids
        return padded, padded_offsets

    def _set_counts(self, counts):
        """Event counts, context totals and discounts of every order, flattened for the kernel."""
        n, n_vocab = self.n, counts.n_vocab
        bos = self.vocabulary_.id_of(self.bos_token)
        kneser_ney = self.smoothing == "kneser_ney"
        events, totals, types = [], [], []
        self.discounts_ = np.zeros(n)
        for order in range(1, n + 1):
            keys = counts.keys[order - 1]
            if kneser_ney and order < n:
                event = np.bincount(_suffix_rows(counts, order + 1), minlength=keys.size)
            else:
                event = counts.counts[order - 1]
            event = event.astype(np.float64)
            event[keys % n_vocab == bos] = 0.0  # <s> is never predicted
            context = keys // n_vocab if order > 1 else np.zeros(keys.size, dtype=np.int64)
            n_contexts = counts.keys[order - 2].size if order > 1 else 1
            events.append(event)
            totals.append(np.bincount(context, weights=event, minlength=n_contexts))
            types.append(np.bincount(context, weights=event > 0, minlength=n_contexts))
            if kneser_ney:
                n1, n2 = np.sum(event == 1), np.sum(event == 2)
                estimated = n1 / (n1 + 2.0 * n2) if n1 > 0 and n2 > 0 else 0.75
                self.discounts_[order - 1] = estimated if self.discount is None else self.discount
        key_ptr = np.concatenate([[0], np.cumsum([keys.size for keys in counts.keys])])
        context_ptr = np.concatenate([[0], np.cumsum([t.size for t in totals])])
        self.counts_ = counts
        self._tables = (
            np.concatenate(counts.keys).astype(np.int64),
            key_ptr.astype(np.int64),
            np.concatenate(events),
            np.concatenate(totals),
            np.concatenate(types),
            context_ptr.astype(np.int64),
            self.discounts_.copy(),
        )

    # -- probabilities -----------------------------------------------------------------------

    def _check_fitted(self):
        if not hasattr(self, "_tables"):
            raise ValueError("this NGramLanguageModel is not fitted yet; call fit first")

    def _conditional_probs(self, contexts, targets):
        """p(targets[i] | contexts[i]); contexts int64 (m, n - 1), targets int64 (m,)."""
        return _load_kernels().conditional_probs(
            np.ascontiguousarray(contexts, dtype=np.int64),
            np.ascontiguousarray(targets, dtype=np.int64),
            self._tables,
            self.n,
            len(self.vocabulary_),
            self.vocabulary_.id_of(self.bos_token),
            _SMOOTHINGS[self.smoothing],
            float(self.k),
        )

    def _token_probs(self, sentences):
        """Probability of every predicted token (words and ``</s>``) of the sentences, in order."""
        ids, offsets = self.vocabulary_.encode(_as_token_lists(sentences, split_strings=True))
        padded, padded_offsets = self._pad(ids, offsets)
        # Window starts: the n - 1 first positions of each padded sentence are context only.
        n_predicted = np.diff(offsets) + 1
        first_window = np.repeat(padded_offsets[:-1], n_predicted)
        sentence_start = np.repeat(np.cumsum(n_predicted) - n_predicted, n_predicted)
        starts = first_window + np.arange(n_predicted.sum()) - sentence_start
        windows = padded[starts[:, None] + np.arange(self.n)]
        return self._conditional_probs(windows[:, :-1], windows[:, -1])

    def log_prob(self, sentence):
        """Natural log of the probability of a sentence, its end marker included.

        Parameters
        ----------
        sentence : list of str or str

        Returns
        -------
        float
            ``-inf`` when a token has probability 0 (possible with ``"mle"``).
        """
        self._check_fitted()
        with np.errstate(divide="ignore"):
            return float(np.sum(np.log(self._token_probs([sentence]))))

    def perplexity(self, corpus):
        """``exp(-sum log p / N)`` over the N predicted tokens (words and end markers) of a corpus.

        Parameters
        ----------
        corpus : iterable of (list of str or str)

        Returns
        -------
        float
        """
        self._check_fitted()
        sentences = _as_token_lists(corpus, split_strings=True)
        if not sentences:
            raise ValueError("the corpus is empty: perplexity needs at least one sentence")
        probs = self._token_probs(sentences)
        with np.errstate(divide="ignore"):
            return float(np.exp(-np.mean(np.log(probs))))

    def _context_ids(self, context):
        if isinstance(context, str):
            context = context.split()
        ids, _ = self.vocabulary_.encode([list(context)])
        bos = self.vocabulary_.id_of(self.bos_token)
        if np.any(ids == self.vocabulary_.id_of(self.eos_token)):
            raise ValueError(f"a context cannot contain the end marker {self.eos_token!r}")
        # A context shorter than n - 1 tokens is the start of a sentence.
        history = np.full(self.n - 1, bos, dtype=np.int64)
        tail = ids[max(ids.size - (self.n - 1), 0) :]
        history[history.size - tail.size :] = tail
        return history

    def next_token_distribution(self, context=()):
        """p(w | context) for every token w of the vocabulary.

        Parameters
        ----------
        context : list of str or str, default=()
            Preceding tokens; only the last ``n - 1`` matter, and a shorter context is taken as the
            start of a sentence.

        Returns
        -------
        probs : ndarray of shape (n_vocab,), float64
            Indexed like ``vocabulary_.tokens_``; sums to 1 (0 for the start marker).
        """
        self._check_fitted()
        return self._distribution(self._context_ids(context))

    def _distribution(self, history):
        """p(w | last n - 1 ids of ``history``) for every id w, float64 (n_vocab,)."""
        history = np.asarray(history[len(history) - (self.n - 1) :] if self.n > 1 else [], dtype=np.int64)
        n_vocab = len(self.vocabulary_)
        return self._conditional_probs(np.broadcast_to(history, (n_vocab, history.size)), np.arange(n_vocab))

    def generate(self, context=(), length=20, random_state=None):
        """Sample up to ``length`` tokens after ``context``, stopping at the end marker.

        Parameters
        ----------
        context : list of str or str, default=()
            Preceding tokens (see ``next_token_distribution``).
        length : int, default=20
            Maximum number of tokens drawn.
        random_state : int, numpy.random.Generator or None
            Seed of the draws.

        Returns
        -------
        tokens : list of str
            The drawn tokens, without the end marker.
        """
        self._check_fitted()
        if not _is_int(length) or length < 0:
            raise ValueError(f"length must be a non-negative integer, got {length!r}")
        rng = np.random.default_rng(random_state)
        history = list(self._context_ids(context))
        eos = self.vocabulary_.id_of(self.eos_token)
        drawn = []
        for _ in range(length):
            probs = self._distribution(history)
            token = int(np.searchsorted(np.cumsum(probs), rng.random() * probs.sum(), side="right"))
            token = min(token, probs.size - 1)
            if token == eos:
                break
            drawn.append(token)
            history.append(token)
        return self.vocabulary_.decode(drawn)

    # -- persistence -------------------------------------------------------------------------

    def save(self, path):
        """Write the model to ``path`` (a NumPy ``.npz`` archive, replaced atomically as model files are:
        see ``treeforge._files``)."""
        self._check_fitted()
        arrays = {
            "format": np.array(_FORMAT),
            "version": np.array(_VERSION),
            "n": np.array(self.n),
            "smoothing": np.array(self.smoothing),
            "k": np.array(float(self.k)),
            "discount": np.array(np.nan if self.discount is None else float(self.discount)),
            "min_count": np.array(self.min_count),
            "markers": np.array([self.unknown_token, self.bos_token, self.eos_token]),
            "tokens": np.array(self.vocabulary_.tokens_),
        }
        for order in range(1, self.n + 1):
            arrays[f"keys_{order}"] = self.counts_.keys[order - 1]
            arrays[f"counts_{order}"] = self.counts_.counts[order - 1]
        atomic_write(path, lambda handle: np.savez_compressed(handle, **arrays))

    @classmethod
    def load(cls, path):
        """Read a model written by ``save``; every field and table is validated first.

        Raises
        ------
        ValueError
            If the file is not such a model, is damaged (truncated, altered bytes, a member of the wrong
            type or shape) or its tables are inconsistent; the message names the problem and the
            original error, if any, is its ``__cause__``.
        """
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
        except (ValueError, RuntimeError, *_DAMAGED_FILE_ERRORS) as exc:  # RuntimeError: an 'encrypted' flag
            raise ValueError(f"{path!r} is not a treeforge n-gram model: {type(exc).__name__}: {exc}") from exc
        try:
            return cls._from_arrays(arrays, path)
        except _DAMAGED_FILE_ERRORS as exc:
            raise ValueError(f"malformed n-gram model file {path!r}: {type(exc).__name__}: {exc}") from exc

    @classmethod
    def _from_arrays(cls, arrays, path):
        """The model of a file's arrays, every field and table validated; ValueError for a bad one."""
        if arrays.get("format", np.array("")).item() != _FORMAT:
            raise ValueError(f"{path!r} is not a treeforge n-gram model")
        if arrays.get("version", np.array(-1)).item() != _VERSION:
            raise ValueError(f"unsupported model version {arrays.get('version')}")
        markers = [str(m) for m in arrays["markers"]]
        discount = float(arrays["discount"])
        model = cls(
            n=int(arrays["n"]),
            smoothing=str(arrays["smoothing"]),
            k=float(arrays["k"]),
            discount=None if np.isnan(discount) else discount,
            min_count=int(arrays["min_count"]),
            unknown_token=markers[0],
            bos_token=markers[1],
            eos_token=markers[2],
        )
        model._check_params()
        model.vocabulary_ = Vocabulary._from_tokens(
            arrays["tokens"].tolist(), model.min_count, markers[0], markers[1:]
        )
        keys = [arrays[f"keys_{order}"] for order in range(1, model.n + 1)]
        counts = [arrays[f"counts_{order}"] for order in range(1, model.n + 1)]
        n_vocab = len(model.vocabulary_)
        n_rows_below = n_vocab
        for order, (key, count) in enumerate(zip(keys, counts), start=1):
            if (
                key.ndim != 1
                or key.shape != count.shape
                or not np.issubdtype(key.dtype, np.integer)
                or not np.issubdtype(count.dtype, np.integer)
                or (key.size and (key[0] < 0 or key[-1] >= n_rows_below * (n_vocab if order > 1 else 1)))
                or np.any(np.diff(key) <= 0)
                or np.any(count <= 0)
            ):
                raise ValueError(f"malformed n-gram table of order {order}")
            n_rows_below = key.size
        model._set_counts(
            NGramCounts(
                model.n,
                n_vocab,
                [k.astype(np.int64) for k in keys],
                [c.astype(np.int64) for c in counts],
                model.vocabulary_,
            )
        )
        return model
