"""Token vocabularies and n-gram count tables, and the lazy loader of the Numba kernels shared by the
n-gram modules (helpers for token lists are here too)."""

import itertools
import numbers

import numpy as np


def _load_kernels():
    """The Numba kernels (``_kernels``), compiled or loaded from Numba's cache on first use."""
    from . import _kernels

    return _kernels


def _check_order(n, name="n"):
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"{name} must be at least 1, got {n}")
    return int(n)


def _as_token_lists(sequences, split_strings=False):
    """``sequences`` as a list of token lists; a string sequence is split on whitespace if allowed."""
    if isinstance(sequences, (str, bytes)):
        raise TypeError("expected an iterable of token sequences, got a single string")
    token_lists = []
    for seq_idx, seq in enumerate(sequences):
        if isinstance(seq, str):
            if not split_strings:
                raise TypeError(
                    f"sequence {seq_idx} is a string; pass lists of tokens (e.g. text.split())"
                )
            seq = seq.split()
        elif isinstance(seq, bytes) or not hasattr(seq, "__iter__"):
            raise TypeError(f"sequence {seq_idx} is not a sequence of tokens: {type(seq).__name__}")
        token_lists.append(list(seq))
    return token_lists


def _check_tokens_are_strings(tokens):
    for token in tokens:
        if not isinstance(token, str):
            raise TypeError(f"tokens must be strings, got {token!r} ({type(token).__name__})")


def _sequence_offsets(token_lists):
    offsets = np.zeros(len(token_lists) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists)), out=offsets[1:])
    return offsets


class Vocabulary:
    """Mapping between string tokens and integer ids, with a minimum count and an unknown token.

    Id 0 is the unknown token, the ``specials`` come next, then the tokens of the fitting corpus
    seen at least ``min_count`` times, by decreasing count (ties in string order). Tokens outside
    the vocabulary encode as the unknown token.

    Parameters
    ----------
    min_count : int, default=1
        Tokens seen fewer times than this in the fitting corpus become the unknown token.
    unknown_token : str, default="<unk>"
        The token of id 0.
    specials : sequence of str, default=()
        Tokens always in the vocabulary whatever their count (e.g. sentence markers).

    Attributes
    ----------
    tokens_ : list of str
        Token of each id.
    counts_ : ndarray of shape (n_tokens,), int64
        Number of occurrences of each id in the fitting corpus (after unknown-token mapping).

    Examples
    --------
    >>> vocab = Vocabulary(min_count=2)
    >>> ids, offsets = vocab.fit_encode([["a", "b", "a"], ["c", "a", "b"]])
    >>> vocab.tokens_
    ['<unk>', 'a', 'b']
    >>> ids.tolist(), offsets.tolist()
    ([1, 2, 1, 0, 1, 2], [0, 3, 6])
    """

    def __init__(self, min_count=1, unknown_token="<unk>", specials=()):
        self.min_count = min_count
        self.unknown_token = unknown_token
        self.specials = specials

    def _reserved(self):
        _check_order(self.min_count, "min_count")
        reserved = [self.unknown_token, *self.specials]
        _check_tokens_are_strings(reserved)
        if len(set(reserved)) != len(reserved):
            raise ValueError(f"unknown_token and specials must be distinct, got {reserved}")
        return reserved

    def fit(self, sequences):
        """Build the vocabulary from ``sequences`` (an iterable of lists of str); returns self."""
        self.fit_encode(sequences)
        return self

    def fit_encode(self, sequences):
        """Build the vocabulary and encode ``sequences`` in one pass over the tokens.

        Parameters
        ----------
        sequences : iterable of list of str
            The corpus, one token list per sequence.

        Returns
        -------
        ids : ndarray of shape (n_tokens,), int32
            Token ids of all sequences, concatenated.
        offsets : ndarray of shape (n_sequences + 1,), int64
            Sequence ``s`` is ``ids[offsets[s]:offsets[s + 1]]``.
        """
        reserved = self._reserved()
        token_lists = _as_token_lists(sequences)
        offsets = _sequence_offsets(token_lists)
        # Provisional ids in order of first appearance, then one remap by frequency.
        first_seen = {}
        provisional = np.fromiter(
            (first_seen.setdefault(t, len(first_seen)) for t in itertools.chain.from_iterable(token_lists)),
            dtype=np.int64,
            count=int(offsets[-1]),
        )
        distinct = list(first_seen)
        _check_tokens_are_strings(distinct)
        seen_counts = np.bincount(provisional, minlength=len(distinct))
        reserved_id = {token: idx for idx, token in enumerate(reserved)}
        kept = sorted(
            (i for i, t in enumerate(distinct) if t not in reserved_id and seen_counts[i] >= self.min_count),
            key=lambda i: (-seen_counts[i], distinct[i]),
        )
        self.tokens_ = reserved + [distinct[i] for i in kept]
        final_id = np.zeros(len(distinct), dtype=np.int32)
        final_id[kept] = np.arange(len(reserved), len(self.tokens_), dtype=np.int32)
        for i, token in enumerate(distinct):
            if token in reserved_id:
                final_id[i] = reserved_id[token]
        self._index = {token: idx for idx, token in enumerate(self.tokens_)}
        ids = final_id[provisional]
        self.counts_ = np.bincount(ids, minlength=len(self.tokens_)).astype(np.int64)
        return ids, offsets

    def encode(self, sequences):
        """Token ids of ``sequences`` (an iterable of lists of str), unknown tokens as id 0.

        Returns
        -------
        ids : ndarray of shape (n_tokens,), int32
        offsets : ndarray of shape (n_sequences + 1,), int64
        """
        self._check_fitted()
        token_lists = _as_token_lists(sequences)
        offsets = _sequence_offsets(token_lists)
        get = self._index.get
        ids = np.fromiter(
            (get(t, -1) for t in itertools.chain.from_iterable(token_lists)),
            dtype=np.int32,
            count=int(offsets[-1]),
        )
        missing = np.flatnonzero(ids < 0)
        if missing.size:
            flat = list(itertools.chain.from_iterable(token_lists))
            _check_tokens_are_strings({flat[i] for i in missing})
            ids[missing] = 0
        return ids, offsets

    def decode(self, ids):
        """Tokens of ``ids`` (array-like of int), as a list of str."""
        self._check_fitted()
        ids = np.asarray(ids, dtype=np.int64).ravel()
        if ids.size and (ids.min() < 0 or ids.max() >= len(self.tokens_)):
            raise ValueError(f"ids must lie in [0, {len(self.tokens_)}), got {ids.min()}..{ids.max()}")
        return [self.tokens_[i] for i in ids]

    def id_of(self, token):
        """Id of ``token``; 0 (the unknown token) if it is not in the vocabulary."""
        self._check_fitted()
        if not isinstance(token, str):
            raise TypeError(f"tokens must be strings, got {token!r}")
        return self._index.get(token, 0)

    def __len__(self):
        self._check_fitted()
        return len(self.tokens_)

    def _check_fitted(self):
        if not hasattr(self, "tokens_"):
            raise ValueError("this Vocabulary is not fitted yet; call fit or fit_encode first")

    @classmethod
    def _from_tokens(cls, tokens, min_count, unknown_token, specials):
        """A fitted vocabulary from its id -> token list (used when loading a model)."""
        vocab = cls(min_count=min_count, unknown_token=unknown_token, specials=tuple(specials))
        reserved = vocab._reserved()
        tokens = [str(t) for t in tokens]
        if tokens[: len(reserved)] != reserved or len(set(tokens)) != len(tokens):
            raise ValueError("vocabulary tokens must be distinct and start with the reserved tokens")
        vocab.tokens_ = tokens
        vocab._index = {token: idx for idx, token in enumerate(tokens)}
        vocab.counts_ = np.zeros(len(tokens), dtype=np.int64)
        return vocab


class NGramCounts:
    """Counts of all 1..n-grams of a corpus: for each order, one sorted table of packed keys.

    The k-gram ``(w_1, ..., w_k)`` has the key ``w_1`` for ``k = 1`` and
    ``r * n_vocab + w_k`` otherwise, where ``r`` is the row of ``(w_1, ..., w_{k-1})`` in the
    table of order ``k - 1``; keys therefore sort like the k-grams themselves.

    Attributes
    ----------
    n : int
        Highest order counted.
    n_vocab : int
        Number of token ids (ids lie in ``[0, n_vocab)``).
    keys : list of n ndarrays of shape (n_rows_k,), int64
        Strictly increasing packed keys of the distinct k-grams, ``keys[k - 1]`` for order ``k``.
    counts : list of n ndarrays of shape (n_rows_k,), int64
        Occurrences of each k-gram (all positive).
    vocabulary : Vocabulary or None
        Set when the corpus was given as strings; n-grams are then reported as strings.
    """

    def __init__(self, n, n_vocab, keys, counts, vocabulary=None):
        self.n = n
        self.n_vocab = n_vocab
        self.keys = keys
        self.counts = counts
        self.vocabulary = vocabulary

    def _check_order(self, order):
        order = _check_order(order, "order")
        if order > self.n:
            raise ValueError(f"order must be at most n={self.n}, got {order}")
        return order

    def ngrams(self, order):
        """Token ids of the distinct n-grams of ``order``, in table (lexicographic) order.

        Returns
        -------
        ngrams : ndarray of shape (n_rows, order), int64
        """
        order = self._check_order(order)
        table = self.keys[0][:, None]
        for k in range(2, order + 1):
            keys = self.keys[k - 1]
            table = np.column_stack([table[keys // self.n_vocab], keys % self.n_vocab])
        return table

    def count(self, ngram):
        """Occurrences of ``ngram`` (a sequence of tokens, or of ids for integer corpora)."""
        if isinstance(ngram, str):
            raise TypeError("ngram must be a sequence of tokens, not a string")
        tokens = list(ngram)
        self._check_order(len(tokens))
        if self.vocabulary is not None:
            ids = [self.vocabulary.id_of(t) for t in tokens]
        else:
            ids = [int(t) for t in tokens]
        row = 0
        for k, token in enumerate(ids, start=1):
            if not 0 <= token < self.n_vocab:
                return 0
            key = row * self.n_vocab + token if k > 1 else token
            keys = self.keys[k - 1]
            row = int(np.searchsorted(keys, key))
            if row == keys.size or keys[row] != key:
                return 0
        return int(self.counts[len(ids) - 1][row])

    def to_dict(self, order=None):
        """``{ngram tuple: count}`` for one order, or for all orders when ``order`` is None."""
        orders = range(1, self.n + 1) if order is None else [self._check_order(order)]
        out = {}
        for k in orders:
            table = self.ngrams(k)
            if self.vocabulary is not None:
                names = np.array(self.vocabulary.tokens_, dtype=object)[table]
            else:
                names = table
            out.update(zip(map(tuple, names.tolist()), self.counts[k - 1].tolist()))
        return out

    def most_common(self, order, k=10):
        """The ``k`` most frequent n-grams of ``order`` as ``[(ngram tuple, count), ...]``."""
        order = self._check_order(order)
        counts = self.counts[order - 1]
        top = np.argsort(-counts, kind="stable")[: _check_order(k, "k")]
        table = self.ngrams(order)[top]
        if self.vocabulary is not None:
            table = np.array(self.vocabulary.tokens_, dtype=object)[table]
        return [(tuple(row), int(c)) for row, c in zip(table.tolist(), counts[top].tolist())]


def _count_tables(ids, offsets, n, n_vocab):
    """Packed-key tables of orders 1..n (lists of keys and counts) of an encoded corpus."""
    kernels = _load_kernels()
    remaining = kernels.remaining_lengths(offsets, ids.size)
    if n_vocab <= 2 * ids.size + 65536:
        keys, counts, rank = kernels.unigram_table(ids, n_vocab)
    else:  # sparse ids: sort them (an order-1 table under an empty prefix) instead of a bincount
        no_prefix = np.zeros(ids.size, dtype=np.int64)
        keys, counts, rank = kernels.extend_table(ids, remaining, no_prefix, n_vocab, 1, n > 1)
    all_keys, all_counts = [keys], [counts]
    for order in range(2, n + 1):
        keys, counts, rank = kernels.extend_table(ids, remaining, rank, n_vocab, order, order < n)
        all_keys.append(keys)
        all_counts.append(counts)
    return all_keys, all_counts


def _check_encoded(ids, offsets, n_vocab):
    """Validated (ids int32, offsets int64, n_vocab) of an integer corpus."""
    ids = np.asarray(ids)
    if ids.ndim != 1 or not (np.issubdtype(ids.dtype, np.integer) or ids.size == 0):
        raise TypeError(f"token ids must be a 1-D integer array, got {ids.dtype} with shape {ids.shape}")
    if ids.size and ids.min() < 0:
        raise ValueError("token ids must be non-negative")
    max_id = int(ids.max()) if ids.size else -1
    if n_vocab is None:
        n_vocab = max_id + 1
    elif isinstance(n_vocab, bool) or not isinstance(n_vocab, numbers.Integral) or n_vocab <= max_id:
        raise ValueError(f"n_vocab must be an integer above the largest id {max_id}, got {n_vocab}")
    if max_id >= np.iinfo(np.int32).max:
        raise ValueError("token ids must fit in int32")
    offsets = np.asarray([0, ids.size] if offsets is None else offsets)
    if offsets.ndim != 1 or offsets.size < 1 or not np.issubdtype(offsets.dtype, np.integer):
        raise TypeError("offsets must be a 1-D integer array of shape (n_sequences + 1,)")
    if offsets[0] != 0 or offsets[-1] != ids.size or np.any(np.diff(offsets) < 0):
        raise ValueError("offsets must start at 0, never decrease and end at len(token ids)")
    return ids.astype(np.int32, copy=False), offsets.astype(np.int64, copy=False), int(n_vocab)


def count_ngrams(sequences, n, *, offsets=None, n_vocab=None, min_count=1, unknown_token="<unk>"):
    """Count every 1..n-gram of a corpus, never crossing a sequence boundary.

    The counting is a radix sort of packed integer keys in Numba, one pass per order, linear in
    the number of tokens; only the string-to-id encoding of string corpora runs in Python.

    Parameters
    ----------
    sequences : iterable of list of str, or ndarray of shape (n_tokens,), int
        Token lists, or the token ids of all sequences concatenated (then see ``offsets``).
    n : int
        Highest order counted (>= 1).
    offsets : ndarray of shape (n_sequences + 1,), int, optional
        For integer input: sequence ``s`` is ``sequences[offsets[s]:offsets[s + 1]]``. Default:
        one sequence.
    n_vocab : int, optional
        For integer input: number of ids (default: largest id + 1).
    min_count : int, default=1
        For string input: tokens seen fewer times become ``unknown_token``.
    unknown_token : str, default="<unk>"
        For string input: the token of rare words.

    Returns
    -------
    NGramCounts
        Counts per order; n-grams come back as strings for string input.

    Raises
    ------
    ValueError
        If ``n < 1``, the corpus has no token, or ids/offsets are inconsistent.
    TypeError
        If tokens are not strings or ids not integers.
    """
    n = _check_order(n)
    vocabulary = None
    if isinstance(sequences, np.ndarray) and sequences.dtype != object:
        ids, offsets, n_vocab = _check_encoded(sequences, offsets, n_vocab)
    else:
        if offsets is not None or n_vocab is not None:
            raise TypeError("offsets and n_vocab apply to integer id arrays only")
        vocabulary = Vocabulary(min_count=min_count, unknown_token=unknown_token)
        ids, offsets = vocabulary.fit_encode(sequences)
        n_vocab = len(vocabulary)
    if ids.size == 0:
        raise ValueError("the corpus is empty: there is no token to count")
    keys, counts = _count_tables(ids, offsets, n, n_vocab)
    return NGramCounts(n, n_vocab, keys, counts, vocabulary)
