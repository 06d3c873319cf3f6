// Tree: one decision tree as flat node arrays (split, children, values, counts, covers, gains).
#pragma once

#include <cstdint>
#include <vector>

#include "core/common.hpp"
#include "data/dataset.hpp"
#include "model/split.hpp"

namespace treeforge {

/// A binary tree in flat arrays indexed by node; node 0 is the root and children always have larger
/// indices than their parent (so a walk can never cycle). A leaf has feature == -1.
///
/// Internal node i sends a row left when goes_left(split(i), ...) says so: a numeric split when
/// its code is <= bin[i] (raw value <= threshold[i]), a category-set split when its category is in
/// the node's set; a missing value (NaN, or the missing code) goes left when default_left[i].
/// value holds leaf_dim numbers per node (value[i * leaf_dim + k]); internal nodes keep the value
/// they would have as a leaf, which explanations (TreeSHAP, later) need.
struct Tree {
  int leaf_dim = 1;
  std::vector<std::int32_t> feature;
  std::vector<std::int32_t> bin;
  std::vector<double> threshold;
  std::vector<std::uint8_t> default_left;
  std::vector<std::int32_t> left;
  std::vector<std::int32_t> right;
  std::vector<double> value;
  std::vector<double> count;  ///< rows that reached the node in training (weighted count for forests later)
  std::vector<double> cover;  ///< sum of hessians (or weights) of those rows
  std::vector<double> gain;   ///< split gain; 0 at leaves
  std::vector<std::uint8_t> split_kind;  ///< SplitKind of each node; kNumeric at leaves
  /// Node i's category set is the cat_size[i] words from cat_words[cat_begin[i]]: none unless i
  /// is a set split. Words are appended as set splits are made (files store them in node order).
  std::vector<std::int32_t> cat_begin, cat_size;
  std::vector<std::uint32_t> cat_words;

  int n_nodes() const { return static_cast<int>(feature.size()); }
  bool is_leaf(int node) const { return feature[node] < 0; }
  int n_leaves() const;
  /// Whether any node splits on a category set (a non-empty set has at least one word).
  bool has_category_sets() const { return !cat_words.empty(); }

  /// The test of internal node `node`; its category set views this tree's words.
  SplitTest split(int node) const {
    SplitTest s = SplitTest::numeric(bin[node], threshold[node], default_left[node]);
    s.kind = static_cast<SplitKind>(split_kind[node]);
    s.categories = {cat_words.data() + cat_begin[node], static_cast<std::size_t>(cat_size[node])};
    return s;
  }

  /// Appends a leaf and returns its index.
  int add_leaf(const double* values, double count, double cover);

  /// Turns leaf `node` into a split on `feature` by `test` (a numeric test's bin and threshold,
  /// or a set test's categories, copied) and appends its two children as leaves with the given
  /// values; returns the left child's index (the right one is next).
  int split_leaf(int node, int feature, const SplitTest& test, double gain, const double* left_values,
                 double left_count, double left_cover, const double* right_values, double right_count,
                 double right_cover);

  /// Leaf reached by row `row` of X (missing codes follow default_left).
  int leaf_of_row(const BinnedMatrix& X, std::size_t row) const {
    return leaf_of([&](int f) { return X.at(row, f); }, X);
  }

  /// Leaf reached by a row's codes, n_features of them (BinnedMatrix::copy_rows).
  template <class Code>
  int leaf_of_codes(const Code* codes, const BinnedMatrix& X) const {
    return leaf_of([codes](int f) { return codes[f]; }, X);
  }

  /// Leaf reached by the row whose code of feature f is code_of(f).
  template <class CodeOf>
  int leaf_of(CodeOf code_of, const BinnedMatrix& X) const {
    // Trees without set splits (all of them until categorical splits are grown) take the walk
    // that reads no split kind.
    return has_category_sets() ? walk<true>(code_of, X) : walk<false>(code_of, X);
  }

  /// Multiplies every node's values by `factor` (shrinkage, estimator weights).
  void scale_values(double factor);

 private:
  /// The walk of leaf_of; kAnyKind: nodes may be set splits, so each reads its kind.
  template <bool kAnyKind, class CodeOf>
  int walk(CodeOf code_of, const BinnedMatrix& X) const {
    int node = 0;
    while (feature[node] >= 0) {
      const int f = feature[node];
      bool go_left;
      if constexpr (kAnyKind) {
        go_left = goes_left(split(node), code_of(f), X.missing_bin(f));
      } else {
        const SplitTest s = SplitTest::numeric(bin[node], 0.0, default_left[node]);
        go_left = goes_left<SplitKind::kNumeric>(s, code_of(f), X.missing_bin(f));
      }
      node = go_left ? left[node] : right[node];
    }
    return node;
  }
};

}  // namespace treeforge
