"""Hashed word and character n-gram features of texts: :class:`HashingNGramVectorizer`."""

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

from ._counts import _load_kernels, _sequence_offsets


def _character_classes(codes):
    """uint8 table over code points 0..max(codes): 1 = word character (``\\w``), 2 = whitespace."""
    table = np.zeros(int(codes.max()) + 1 if codes.size else 1, dtype=np.uint8)
    for code in np.flatnonzero(np.bincount(codes)) if codes.size else ():
        char = chr(code)
        if char.isalnum() or char == "_":
            table[code] = 1
        elif char.isspace():
            table[code] = 2
    return table


def _check_ngram_range(value, name):
    if value is None:
        return np.zeros(2, dtype=np.int64)
    if (
        not isinstance(value, (tuple, list))
        or len(value) != 2
        or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value)
        or not 1 <= value[0] <= value[1]
    ):
        raise ValueError(
            f"{name} must be None or a pair (min_n, max_n) with 1 <= min_n <= max_n, got {value!r}"
        )
    return np.array(value, dtype=np.int64)


class HashingNGramVectorizer(TransformerMixin, BaseEstimator):
    """Texts to hashed word and/or character n-gram counts, as a SciPy CSR matrix.

    Words are maximal runs of word characters (``str.isalnum()`` or ``_``, as the regular
    expression ``\\w``); a word n-gram is its words joined by one space. Character n-grams run over
    the text with every whitespace run made one space. An n-gram's column is
    ``h mod n_features`` where ``h`` is the 64-bit FNV-1a hash of its code points (preceded by
    ``0x110001`` for word and ``0x110002`` for character n-grams) passed through the SplitMix64
    finaliser; its sign, with ``alternate_sign``, is the top bit of ``h``. Tokenising, hashing and
    counting run in Numba, one document per parallel task. The transformer is stateless.

    Parameters
    ----------
    n_features : int, default=2**20
        Number of columns.
    word_ngram_range : tuple (min_n, max_n) or None, default=(1, 1)
        Lengths of word n-grams counted; None counts none.
    char_ngram_range : tuple (min_n, max_n) or None, default=None
        Lengths of character n-grams counted; None counts none.
    lowercase : bool, default=True
        Lower-case texts (``str.lower``) before tokenising.
    alternate_sign : bool, default=False
        Count an n-gram as -1 when its hash's top bit is set, so collisions cancel on average.
    norm : {None, "l1", "l2"}, default=None
        Normalise each row.

    Notes
    -----
    treeforge's estimators train on this CSR matrix as it is, without a dense copy, so
    ``n_features`` may be as large as for scikit-learn's linear models (see the README's "Sparse
    and text data").

    Examples
    --------
    >>> vec = HashingNGramVectorizer(n_features=16, word_ngram_range=(1, 2))
    >>> X = vec.transform(["the cat sat", "the dog"])
    >>> X.shape, int(X.sum())
    ((2, 16), 8)
    """

    def __init__(
        self,
        n_features=2**20,
        word_ngram_range=(1, 1),
        char_ngram_range=None,
        lowercase=True,
        alternate_sign=False,
        norm=None,
    ):
        self.n_features = n_features
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.lowercase = lowercase
        self.alternate_sign = alternate_sign
        self.norm = norm

    def _validated_params(self):
        n_features = self.n_features
        if isinstance(n_features, bool) or not isinstance(n_features, numbers.Integral):
            raise TypeError(f"n_features must be an integer, got {type(n_features).__name__}")
        if not 1 <= n_features <= 2**62:
            raise ValueError(f"n_features must be in [1, 2**62], got {n_features}")
        word_range = _check_ngram_range(self.word_ngram_range, "word_ngram_range")
        char_range = _check_ngram_range(self.char_ngram_range, "char_ngram_range")
        if word_range[1] == 0 and char_range[1] == 0:
            raise ValueError("word_ngram_range and char_ngram_range cannot both be None")
        if self.norm not in (None, "l1", "l2"):
            raise ValueError(f"norm must be None, 'l1' or 'l2', got {self.norm!r}")
        return int(n_features), word_range, char_range

    def fit(self, X, y=None):
        """Check the parameters; nothing is learned. Returns self."""
        self._validated_params()
        return self

    def transform(self, X):
        """Hashed n-gram counts of the texts.

        Parameters
        ----------
        X : iterable of str, length n_documents
            The texts (a list, a 1-D array of str, a pandas Series, ...).

        Returns
        -------
        X_counts : scipy.sparse.csr_matrix of shape (n_documents, n_features), float64
            Counts (signed with ``alternate_sign``, normalised with ``norm``); no stored zeros.
        """
        n_features, word_range, char_range = self._validated_params()
        if isinstance(X, (str, bytes)):
            raise TypeError("expected an iterable of texts, got a single string")
        texts = list(X)
        for doc_idx, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"document {doc_idx} is not a string: {type(text).__name__}")
        if self.lowercase:
            texts = [text.lower() for text in texts]
        doc_ptr = _sequence_offsets(texts)
        codes = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        indptr, indices, data = _load_kernels().hashed_counts(
            codes,
            doc_ptr,
            _character_classes(codes),
            word_range,
            char_range,
            n_features,
            bool(self.alternate_sign),
        )
        X_counts = sp.csr_matrix((data, indices, indptr), shape=(len(texts), n_features))
        if self.norm is not None:
            from sklearn.preprocessing import normalize

            X_counts = normalize(X_counts, norm=self.norm, copy=False)
        return X_counts

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = False
        return tags
