"""Numba kernels behind ``treeforge.ngram``: radix-sorted n-gram tables, chained key look-ups,
smoothed conditional probabilities and hashed n-gram features.

Packed keys
-----------
The table of order ``k`` lists every distinct k-gram once, sorted lexicographically. A k-gram
``(w_1, ..., w_k)`` is stored as one int64 key::

    key_1 = w_1
    key_k = rank_{k-1}(w_1 .. w_{k-1}) * n_vocab + w_k        (k >= 2)

where ``rank_{k-1}`` is the row of the prefix in the table of order ``k - 1``. Because ranks follow
the lexicographic order, sorting keys sorts k-grams, and a key stays below
``n_tokens * n_vocab`` (a rank is below the number of tokens) whatever ``n``, far from int64's
limit. Looking a k-gram up is ``k`` binary searches, one per order.

This module imports Numba at import time; ``treeforge.ngram`` imports it only on first use.
"""

import numpy as np
from numba import njit, prange

from .._numba.splitmix import mix64

# FNV-1a (64 bit) over code points, then the SplitMix64 finaliser so the low bits mix well.
FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)
WORD_MARK = np.uint64(0x110001)  # one past the last code point: word n-grams
CHAR_MARK = np.uint64(0x110002)  # character n-grams
SPACE = np.uint64(32)
IS_WORD = np.uint8(1)
IS_SPACE = np.uint8(2)

# Smoothing codes shared with the Python side.
MAXIMUM_LIKELIHOOD = 0
ADD_K = 1
KNESER_NEY = 2


# --------------------------------------------------------------------------------------------
# Counting
# --------------------------------------------------------------------------------------------


@njit(cache=True)
def remaining_lengths(offsets, n_tokens):
    """Tokens left in each position's sequence, counting the position itself (int64 (n_tokens,))."""
    remaining = np.empty(n_tokens, dtype=np.int64)
    for seq_idx in range(offsets.size - 1):
        end = offsets[seq_idx + 1]
        for pos in range(offsets[seq_idx], end):
            remaining[pos] = end - pos
    return remaining


@njit(parallel=True, cache=True)
def unigram_table(token_ids, n_vocab):
    """Table of order 1 and the rank of every position's unigram in it.

    Returns ``keys`` (int64, the token ids that occur, ascending), ``counts`` (int64, same
    length) and ``rank`` (int64 (n_tokens,), row of ``token_ids[pos]`` in ``keys``).
    """
    counts_by_id = np.zeros(n_vocab, dtype=np.int64)
    for pos in range(token_ids.size):
        counts_by_id[token_ids[pos]] += 1
    row_of_id = np.full(n_vocab, -1, dtype=np.int64)
    n_rows = 0
    for token in range(n_vocab):
        if counts_by_id[token] > 0:
            row_of_id[token] = n_rows
            n_rows += 1
    keys = np.empty(n_rows, dtype=np.int64)
    counts = np.empty(n_rows, dtype=np.int64)
    for token in range(n_vocab):
        row = row_of_id[token]
        if row >= 0:
            keys[row] = token
            counts[row] = counts_by_id[token]
    rank = np.empty(token_ids.size, dtype=np.int64)
    for pos in prange(token_ids.size):
        rank[pos] = row_of_id[token_ids[pos]]
    return keys, counts, rank


RADIX_BITS = 11
RADIX_MASK = (1 << RADIX_BITS) - 1


@njit(cache=True)
def radix_sort_pairs(keys, values):
    """Sort non-negative ``keys`` and carry ``values`` along; LSD radix, 11 bits per pass.

    Small digits keep each scatter within a few thousand buckets, which stays in cache; passes
    whose digit is the same for every key are skipped. Returns the sorted (keys, values), which
    may be the input buffers or new ones.
    """
    n_items = keys.size
    max_key = keys.max() if n_items else 0
    spare_keys = np.empty_like(keys)
    spare_values = np.empty_like(values)
    shift = 0
    while (max_key >> shift) > 0:
        bucket_start = np.zeros((1 << RADIX_BITS) + 1, dtype=np.int64)
        for i in range(n_items):
            bucket_start[((keys[i] >> shift) & RADIX_MASK) + 1] += 1
        if bucket_start.max() < n_items:
            for digit in range(1 << RADIX_BITS):
                bucket_start[digit + 1] += bucket_start[digit]
            for i in range(n_items):
                digit = (keys[i] >> shift) & RADIX_MASK
                spare_keys[bucket_start[digit]] = keys[i]
                spare_values[bucket_start[digit]] = values[i]
                bucket_start[digit] += 1
            keys, spare_keys = spare_keys, keys
            values, spare_values = spare_values, values
        shift += RADIX_BITS
    return keys, values


@njit(cache=True)
def extend_table(token_ids, remaining, prefix_rank, n_vocab, order, with_rank):
    """Table of ``order`` from the ranks of its prefixes, by a radix sort of packed keys.

    Positions whose sequence has fewer than ``order`` tokens left start no n-gram.

    Returns ``keys`` (int64 (n_rows,), strictly increasing), ``counts`` (int64 (n_rows,)) and
    ``rank`` (int64 (n_tokens,), the row of the n-gram starting at each position, -1 if none;
    empty unless ``with_rank``, as the highest order needs no ranks).
    """
    n_tokens = token_ids.size
    last = order - 1
    n_valid = 0
    for pos in range(n_tokens):
        if remaining[pos] >= order:
            n_valid += 1
    keys = np.empty(n_valid, dtype=np.int64)
    positions = np.empty(n_valid, dtype=np.int64)
    i = 0
    for pos in range(n_tokens):
        if remaining[pos] >= order:
            keys[i] = prefix_rank[pos] * n_vocab + token_ids[pos + last]
            positions[i] = pos
            i += 1
    keys, positions = radix_sort_pairs(keys, positions)
    # Runs of equal keys are the distinct n-grams; compact them to the front of ``keys``.
    counts = np.zeros(n_valid, dtype=np.int64)
    rank = np.full(n_tokens if with_rank else 0, -1, dtype=np.int64)
    n_rows = 0
    for i in range(n_valid):
        if n_rows == 0 or keys[i] != keys[n_rows - 1]:
            keys[n_rows] = keys[i]
            n_rows += 1
        counts[n_rows - 1] += 1
        if with_rank:
            rank[positions[i]] = n_rows - 1
    return keys[:n_rows].copy(), counts[:n_rows].copy(), rank


# --------------------------------------------------------------------------------------------
# Look-ups and language-model probabilities
# --------------------------------------------------------------------------------------------


@njit(cache=True)
def find_row(keys, key_ptr, order, prefix_row, token, n_vocab):
    """Row of the n-gram (prefix row, token) in the table of ``order`` (1-based), or -1."""
    lo = key_ptr[order - 1]
    hi = key_ptr[order]
    key = prefix_row * n_vocab + token if order > 1 else token
    while lo < hi:
        mid = (lo + hi) // 2
        if keys[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    if lo < key_ptr[order] and keys[lo] == key:
        return lo - key_ptr[order - 1]
    return -1


@njit(cache=True)
def find_ngram(keys, key_ptr, tokens, start, stop, n_vocab):
    """Row of ``tokens[start:stop]`` in the table of order ``stop - start``; 0 if empty, -1 if absent."""
    row = 0
    for j in range(start, stop):
        row = find_row(keys, key_ptr, j - start + 1, row, tokens[j], n_vocab)
        if row < 0:
            return -1
    return row


@njit(cache=True)
def _conditional_prob(context, target, keys, key_ptr, event_counts, context_totals, context_types,
                      context_ptr, discounts, n, n_vocab, bos_id, smoothing, add_k):
    """p(target | context) for one (n - 1)-token context; see ``conditional_probs``."""
    if target == bos_id:
        return 0.0
    n_outcomes = n_vocab - 1  # every token but the start marker can be predicted
    if smoothing == ADD_K:
        context_row = find_ngram(keys, key_ptr, context, 0, n - 1, n_vocab)
        numerator = add_k
        denominator = add_k * n_outcomes
        if context_row >= 0:
            denominator += context_totals[context_ptr[n - 1] + context_row]
            row = find_row(keys, key_ptr, n, context_row, target, n_vocab)
            if row >= 0:
                numerator += event_counts[key_ptr[n - 1] + row]
        return numerator / denominator
    prob = 1.0 / n_outcomes
    for order in range(1, n + 1):
        # Context of this order: the last order - 1 tokens of the full context.
        context_row = find_ngram(keys, key_ptr, context, n - order, n - 1, n_vocab)
        if context_row < 0:
            break  # a longer context ends with this one, so it is unseen too
        total = context_totals[context_ptr[order - 1] + context_row]
        if total == 0.0:
            continue
        row = find_row(keys, key_ptr, order, context_row, target, n_vocab)
        count = event_counts[key_ptr[order - 1] + row] if row >= 0 else 0.0
        if smoothing == MAXIMUM_LIKELIHOOD:
            prob = count / total
        else:
            discount = discounts[order - 1]
            n_types = context_types[context_ptr[order - 1] + context_row]
            prob = (max(count - discount, 0.0) + discount * n_types * prob) / total
    return prob


@njit(parallel=True, cache=True)
def conditional_probs(contexts, targets, tables, n, n_vocab, bos_id, smoothing, add_k):
    """p(targets[i] | contexts[i]) for every i.

    Parameters
    ----------
    contexts : ndarray of shape (n_queries, n - 1), int64
        Token ids of each context, oldest first.
    targets : ndarray of shape (n_queries,), int64
        Token id predicted after each context.
    tables : tuple
        Flat statistics built by ``NGramLanguageModel``: the keys of all orders and ``key_ptr``
        (n + 1,) (order ``k`` is ``keys[key_ptr[k - 1]:key_ptr[k]]``), the event count of each
        key row, per-context totals and distinct-follower counts indexed through
        ``context_ptr`` (n + 1,), and the per-order discounts (n,).
    smoothing : int
        ``MAXIMUM_LIKELIHOOD``, ``ADD_K`` or ``KNESER_NEY``.

    Returns
    -------
    probs : ndarray of shape (n_queries,), float64
    """
    # Arrays go one by one: a tuple argument would cost a reference count per array and query.
    keys, key_ptr, event_counts, context_totals, context_types, context_ptr, discounts = tables
    probs = np.empty(targets.size, dtype=np.float64)
    for i in prange(targets.size):
        probs[i] = _conditional_prob(
            contexts[i], targets[i], keys, key_ptr, event_counts, context_totals, context_types, context_ptr,
            discounts, n, n_vocab, bos_id, smoothing, add_k,
        )
    return probs


# --------------------------------------------------------------------------------------------
# Hashed n-gram features
# --------------------------------------------------------------------------------------------


@njit(cache=True)
def _fnv(state, unit):
    return (state ^ unit) * FNV_PRIME


@njit(cache=True)
def _feature_key(state, n_features):
    """Column times two plus the sign bit (1 = negative) of a finished n-gram hash."""
    mixed = mix64(state)
    column = np.int64(mixed % np.uint64(n_features))
    return column * 2 + np.int64(mixed >> np.uint64(63))


@njit(cache=True)
def _tokenise(codes, start, stop, char_class, token_start, token_stop):
    """Word tokens (maximal runs of word characters) of ``codes[start:stop]``; returns their count."""
    n_words = 0
    in_word = False
    for pos in range(start, stop):
        is_word = char_class[codes[pos]] == IS_WORD
        if is_word and not in_word:
            token_start[n_words] = pos
            in_word = True
        elif not is_word and in_word:
            token_stop[n_words] = pos
            n_words += 1
            in_word = False
    if in_word:
        token_stop[n_words] = stop
        n_words += 1
    return n_words


@njit(cache=True)
def _squeeze_spaces(codes, start, stop, char_class, out):
    """Copy ``codes[start:stop]`` into ``out`` with each whitespace run made one space; returns length."""
    length = 0
    previous_space = False
    for pos in range(start, stop):
        if char_class[codes[pos]] == IS_SPACE:
            if not previous_space:
                out[length] = 32
                length += 1
            previous_space = True
        else:
            out[length] = codes[pos]
            length += 1
            previous_space = False
    return length


@njit(cache=True)
def _n_grams_in(length, lo, hi):
    total = 0
    for k in range(lo, hi + 1):
        total += max(length - k + 1, 0)
    return total


@njit(cache=True)
def _document_keys(codes, start, stop, char_class, word_range, char_range, n_features, out):
    """Write the feature key of every n-gram occurrence of one document into ``out``; returns count."""
    n_keys = 0
    length = stop - start
    if word_range[1] > 0:
        token_start = np.empty(length + 1, dtype=np.int64)
        token_stop = np.empty(length + 1, dtype=np.int64)
        n_words = _tokenise(codes, start, stop, char_class, token_start, token_stop)
        for first in range(n_words):
            state = _fnv(FNV_OFFSET, WORD_MARK)
            for k in range(1, min(word_range[1], n_words - first) + 1):
                word = first + k - 1
                if k > 1:
                    state = _fnv(state, SPACE)
                for pos in range(token_start[word], token_stop[word]):
                    state = _fnv(state, np.uint64(codes[pos]))
                if k >= word_range[0]:
                    out[n_keys] = _feature_key(state, n_features)
                    n_keys += 1
    if char_range[1] > 0:
        text = np.empty(length, dtype=np.uint32)
        n_chars = _squeeze_spaces(codes, start, stop, char_class, text)
        for first in range(n_chars):
            state = _fnv(FNV_OFFSET, CHAR_MARK)
            for k in range(1, min(char_range[1], n_chars - first) + 1):
                state = _fnv(state, np.uint64(text[first + k - 1]))
                if k >= char_range[0]:
                    out[n_keys] = _feature_key(state, n_features)
                    n_keys += 1
    return n_keys


@njit(cache=True)
def _max_keys(codes, start, stop, char_class, word_range, char_range):
    """Upper bound on the n-gram occurrences of one document (word and character)."""
    total = 0
    if word_range[1] > 0:
        n_words = 0
        in_word = False
        for pos in range(start, stop):
            is_word = char_class[codes[pos]] == IS_WORD
            if is_word and not in_word:
                n_words += 1
            in_word = is_word
        total += _n_grams_in(n_words, word_range[0], word_range[1])
    if char_range[1] > 0:
        total += _n_grams_in(stop - start, char_range[0], char_range[1])
    return total


@njit(parallel=True, cache=True)
def hashed_counts(codes, doc_ptr, char_class, word_range, char_range, n_features, alternate_sign):
    """CSR arrays of hashed n-gram counts, one row per document.

    Parameters
    ----------
    codes : ndarray of shape (n_code_points,), uint32
        The code points of all documents, concatenated.
    doc_ptr : ndarray of shape (n_documents + 1,), int64
        Document ``d`` is ``codes[doc_ptr[d]:doc_ptr[d + 1]]``.
    char_class : ndarray of shape (max_code_point + 1,), uint8
        ``IS_WORD``, ``IS_SPACE`` or 0 for every code point that occurs.
    word_range, char_range : ndarray of shape (2,), int64
        Inclusive n-gram length ranges; ``(0, 0)`` turns the kind off.
    n_features : int
        Number of columns.
    alternate_sign : bool
        Add -1 instead of +1 for n-grams whose hash has its top bit set.

    Returns
    -------
    indptr : ndarray of shape (n_documents + 1,), int64
    indices : ndarray of shape (nnz,), int64
        Sorted columns within each row.
    data : ndarray of shape (nnz,), float64
        Non-zero (signed) counts.
    """
    n_docs = doc_ptr.size - 1
    slot_ptr = np.zeros(n_docs + 1, dtype=np.int64)
    for d in prange(n_docs):
        slot_ptr[d + 1] = _max_keys(codes, doc_ptr[d], doc_ptr[d + 1], char_class, word_range, char_range)
    for d in range(n_docs):
        slot_ptr[d + 1] += slot_ptr[d]
    keys = np.empty(slot_ptr[n_docs], dtype=np.int64)
    values = np.empty(slot_ptr[n_docs], dtype=np.float64)
    row_nnz = np.zeros(n_docs + 1, dtype=np.int64)
    for d in prange(n_docs):
        lo = slot_ptr[d]
        segment = keys[lo : slot_ptr[d + 1]]
        n_keys = _document_keys(
            codes, doc_ptr[d], doc_ptr[d + 1], char_class, word_range, char_range, n_features, segment
        )
        segment[:n_keys].sort()
        # Compact runs of one column in place: keys[lo + j] becomes the j-th column of the row.
        nnz = 0
        i = 0
        while i < n_keys:
            column = segment[i] >> 1
            total = 0.0
            while i < n_keys and (segment[i] >> 1) == column:
                total += -1.0 if (alternate_sign and (segment[i] & 1) == 1) else 1.0
                i += 1
            if total != 0.0:
                segment[nnz] = column
                values[lo + nnz] = total
                nnz += 1
        row_nnz[d + 1] = nnz
    indptr = np.cumsum(row_nnz)
    indices = np.empty(indptr[n_docs], dtype=np.int64)
    data = np.empty(indptr[n_docs], dtype=np.float64)
    for d in prange(n_docs):
        out = indptr[d]
        for j in range(row_nnz[d + 1]):
            indices[out + j] = keys[slot_ptr[d] + j]
            data[out + j] = values[slot_ptr[d] + j]
    return indptr, indices, data
