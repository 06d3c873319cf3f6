// Tree: one decision tree as flat node arrays (split, children, values, counts, covers, gains).
#pragma once

#include <cstdint>
#include <vector>

#include "core/common.hpp"
#include "data/dataset.hpp"

namespace treeforge {

/// A binary tree in flat arrays indexed by node; node 0 is the root and children always have larger
/// indices than their parent (so a walk can never cycle). A leaf has feature == -1.
///
/// Internal node i sends a row left when its code is <= bin[i] (raw value <= threshold[i]); a
/// missing value (NaN, or the missing code) goes left when default_left[i].
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

  int n_nodes() const { return static_cast<int>(feature.size()); }
  bool is_leaf(int node) const { return feature[node] < 0; }
  int n_leaves() const;

  /// Appends a leaf and returns its index.
  int add_leaf(const double* values, double count, double cover);

  /// Turns leaf `node` into a split on (feature, bin, threshold) and appends its two children as
  /// leaves with the given values; returns the left child's index (the right one is next).
  int split_leaf(int node, int feature, int bin, double threshold, bool default_left, double gain,
                 const double* left_values, double left_count, double left_cover, const double* right_values,
                 double right_count, double right_cover);

  /// Leaf reached by row `row` of X (missing codes follow default_left).
  int leaf_of_row(const BinnedMatrix& X, std::size_t row) const {
    return leaf_of([&](int f) { return X.at(row, f); }, X);
  }

  /// Leaf reached by a row's codes, n_features of them (BinnedMatrix::copy_rows).
  int leaf_of_codes(const bin_t* codes, const BinnedMatrix& X) const {
    return leaf_of([codes](int f) { return codes[f]; }, X);
  }

  /// Leaf reached by the row whose code of feature f is code_of(f).
  template <class CodeOf>
  int leaf_of(CodeOf code_of, const BinnedMatrix& X) const {
    int node = 0;
    while (feature[node] >= 0) {
      const int f = feature[node];
      const int code = code_of(f);
      const bool go_left = code == X.missing_bin(f) ? default_left[node] != 0 : code <= bin[node];
      node = go_left ? left[node] : right[node];
    }
    return node;
  }

  /// Multiplies every node's values by `factor` (shrinkage, estimator weights).
  void scale_values(double factor);
};

}  // namespace treeforge
