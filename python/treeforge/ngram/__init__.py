"""N-gram counts, vocabularies, an n-gram language model and hashed n-gram features, with the
counting loops in Numba.

Numba is imported on the first call that needs a kernel, so ``import treeforge.ngram`` costs only
NumPy, SciPy and scikit-learn. The modules here are private:

- ``_counts``: :class:`Vocabulary`, :class:`NGramCounts`, :func:`count_ngrams` and the token-list
  helpers and kernel loader the other modules share.
- ``_language_model``: :class:`NGramLanguageModel` (its docstring holds the smoothing formulas).
- ``_vectorizer``: :class:`HashingNGramVectorizer`.
- ``_kernels``: the Numba kernels (packed-key tables, look-ups, probabilities, hashing).

Examples
--------
>>> from treeforge.ngram import count_ngrams
>>> counts = count_ngrams([["a", "b", "a", "b"]], n=2)
>>> counts.to_dict(order=2)
{('a', 'b'): 2, ('b', 'a'): 1}
"""

from ._counts import NGramCounts, Vocabulary, count_ngrams
from ._language_model import NGramLanguageModel
from ._vectorizer import HashingNGramVectorizer

__all__ = [
    "HashingNGramVectorizer",
    "NGramCounts",
    "NGramLanguageModel",
    "Vocabulary",
    "count_ngrams",
]
