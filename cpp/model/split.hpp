// The split predicate goes_left: where a row goes at a split node, numeric threshold or category set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace treeforge {

/// What a split node tests. Stored as one byte per node (model format version 2, `split_kind`).
enum class SplitKind : std::uint8_t {
  kNumeric = 0,      ///< code <= bin (raw value <= threshold) goes left
  kCategorySet = 1,  ///< a category in the node's set goes left
};

/// A set of categories as a bitset of 32-bit words; a view, valid while the words' owner (a Tree,
/// the Predictor, ModelArrays) lives.
///
///   word:      0                          1
///   bit:       31 ........ 2  1  0        63 ....... 33 32
///   category c is bit c % 32 of word c / 32; past the last word, no category is in the set.
///
/// In bin space a categorical feature's code is its category (the binning maps category v to bin
/// v), so one bitset serves training (codes) and prediction (raw values).
///
/// A feature of K categories knows the raw values 0, 1, ..., K - 1; any other value (NaN,
/// negative, non-integral, K or more: a category unseen in training) is missing, in bin space
/// (the binning gives it the missing code) and in raw values alike (category_of).
struct CategorySet {
  const std::uint32_t* words = nullptr;
  std::size_t n_words = 0;

  bool contains(std::uint32_t category) const {
    return category / 32 < n_words && ((words[category / 32] >> (category % 32)) & 1u) != 0;
  }

};

/// A set of bin-space categories held by value while a split is being chosen, in CategorySet's bit
/// order, with no trailing zero word (empty: no word). Grows with the largest category inserted:
/// numeric splits carry an empty one, and a feature may hold kMaxCategories categories.
struct CategoryBits {
  std::vector<std::uint32_t> words;

  void insert(int category) {
    const std::size_t word = static_cast<std::size_t>(category) / 32;
    if (word >= words.size()) words.resize(word + 1, 0);
    words[word] |= 1u << (category % 32);
  }
  bool contains(int category) const { return view().contains(static_cast<std::uint32_t>(category)); }
  CategorySet view() const { return {words.data(), words.size()}; }
};

/// The category of raw value `value` of a feature of n_categories categories, or -1 when the value
/// is none of them (and so missing).
inline int category_of(double value, int n_categories) {
  if (!(value >= 0.0 && value < static_cast<double>(n_categories))) return -1;  // NaN fails too
  const int category = static_cast<int>(value);
  return static_cast<double>(category) == value ? category : -1;
}

/// The test of one split node, as every reader of trees sees it: the partition (codes), the tree
/// walk of training (codes), the predictor (raw values), the model validation and, in Python,
/// the tests' reference walk. Missing values (the missing code, NaN) go left iff default_left.
struct SplitTest {
  SplitKind kind = SplitKind::kNumeric;
  /// Where missing values go: 1 left, 0 right. The stored byte rather than a bool: converting
  /// the byte costs the predictor's numeric step a compare and a partial-register merge on its
  /// critical path (measured 7% slower on blocks with NaN).
  std::uint8_t default_left = 0;
  int bin = 0;              ///< kNumeric: codes <= bin go left
  double threshold = 0.0;   ///< kNumeric: raw values <= threshold go left (the upper edge of bin)
  CategorySet categories;   ///< kCategorySet: the categories that go left
  int n_categories = 0;     ///< kCategorySet, raw values: the feature's categories are 0..n_categories-1

  static SplitTest numeric(int bin, double threshold, std::uint8_t default_left) {
    SplitTest s;
    s.bin = bin;
    s.threshold = threshold;
    s.default_left = default_left;
    return s;
  }
};

/// Bin space: whether a row whose code is `code` goes left; `missing_code` is the feature's
/// missing code (n_bins of the feature). kKind is the split's kind, known to the caller: a hot
/// loop over one node's rows picks it once, and the numeric form stays one comparison and one
/// select, without branch.
template <SplitKind kKind>
inline bool goes_left(const SplitTest& split, int code, int missing_code) {
  if constexpr (kKind == SplitKind::kNumeric) {
    return code == missing_code ? split.default_left != 0 : code <= split.bin;
  } else {
    return code == missing_code ? split.default_left != 0
                                : split.categories.contains(static_cast<std::uint32_t>(code));
  }
}

/// Bin space, any kind.
inline bool goes_left(const SplitTest& split, int code, int missing_code) {
  return split.kind == SplitKind::kNumeric ? goes_left<SplitKind::kNumeric>(split, code, missing_code)
                                           : goes_left<SplitKind::kCategorySet>(split, code, missing_code);
}

/// Raw values: whether `value` goes left (NaN, and at a set split any value that is not a
/// category, iff default_left). The numeric form is branch-free: a NaN fails `<=`, so it goes
/// left only through default_left.
template <SplitKind kKind>
inline bool goes_left(const SplitTest& split, double value) {
  if constexpr (kKind == SplitKind::kNumeric) {
    const bool is_nan = value != value;
    return (value <= split.threshold) | (is_nan & split.default_left);
  } else {
    const int category = category_of(value, split.n_categories);
    return category < 0 ? split.default_left != 0 : split.categories.contains(static_cast<std::uint32_t>(category));
  }
}

/// Raw values, any kind.
inline bool goes_left(const SplitTest& split, double value) {
  return split.kind == SplitKind::kNumeric ? goes_left<SplitKind::kNumeric>(split, value)
                                           : goes_left<SplitKind::kCategorySet>(split, value);
}

}  // namespace treeforge
