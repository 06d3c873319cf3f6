// BinnedMatrix: bin codes by feature and by row of feature groups, bin counts, histogram layout.
#pragma once

#include <vector>

#include "core/common.hpp"

namespace treeforge {

/// Binned features of n_rows samples, feature-major (columns[feature * n_rows + row]) and, for
/// histogram building, row-major by feature group (group_codes[row * n_groups + group]).
///
/// Row-major because histogram building walks the rows of one node and adds every feature of a
/// row at once: one cache line of codes per row instead of n_features scattered reads. The
/// feature-major copy serves the row partition and tree traversal, which read one feature of
/// each row: one byte per row instead of a cache line (10% of training time on 800k x 28).
/// Feature f has n_bins[f] value bins (codes 0..n_bins[f]-1) and a missing bin, code n_bins[f];
/// its histogram slots are [hist_offset[f], hist_offset[f] + n_bins[f] + 1).
///
/// A group is one feature, or a bundle of features with few bins whose codes share one byte:
/// the group's code is the sum of code_f * code_stride[f] over its features, which fits when the
/// product of their slot counts is at most 256. Histogram building then adds one statistic per
/// group and row instead of one per feature, and spreads a bundle's combined slots over its
/// features' slots afterwards; the sums are integers, so the result is the same to the bit.
///
/// A wide feature, a categorical one of 256 or more categories, has codes of two bytes: its
/// column is wide_columns[wide_of[f] * n_rows + row] (its byte column is unused), and it is a
/// group of its own after the n_byte_groups groups of group_codes, read from that column.
/// Histograms and partitions read such columns through for_column.
struct BinnedMatrix {
  std::size_t n_rows = 0;
  int n_features = 0;
  std::vector<bin_t> columns;
  std::vector<int> n_bins;            ///< (n_features,) value bins per feature
  std::vector<int> hist_offset;       ///< (n_features + 1,) first histogram slot of each feature
  std::vector<std::uint8_t> has_nan;  ///< (n_features,) whether any code is the missing bin
  /// (n_features,) whether a feature is categorical: its codes are categories, split by sets.
  /// Empty: no feature is.
  std::vector<std::uint8_t> is_categorical;

  int n_groups = 0;
  std::vector<bin_t> group_codes;
  std::vector<int> group_begin;     ///< (n_groups + 1,) group g: group_features[group_begin[g], group_begin[g + 1])
  std::vector<int> group_features;  ///< every feature once, group after group, by increasing code_stride
  std::vector<int> group_of;        ///< (n_features,) the group of each feature
  std::vector<int> code_stride;     ///< (n_features,) weight of the feature's code in its group's code
  int n_byte_groups = 0;            ///< groups [0, n_byte_groups) have codes in group_codes, the rest are wide
  std::vector<int> wide_of;         ///< (n_features,) index of a wide feature's column, -1 for the others
  std::vector<wide_code_t> wide_columns;

  int missing_bin(int f) const { return n_bins[f]; }
  bool categorical(int f) const { return !is_categorical.empty() && is_categorical[f] != 0; }
  int n_slots(int f) const { return n_bins[f] + 1; }
  bool is_wide(int f) const { return wide_of[f] >= 0; }
  bool has_wide() const { return !wide_columns.empty(); }
  /// Calls fn with feature f's column: const bin_t* or, for a wide feature, const wide_code_t*.
  template <class Fn>
  decltype(auto) for_column(int f, Fn&& fn) const {
    if (is_wide(f)) return fn(wide_columns.data() + static_cast<std::size_t>(wide_of[f]) * n_rows);
    return fn(columns.data() + static_cast<std::size_t>(f) * n_rows);
  }
  int at(std::size_t i, int f) const {
    return for_column(f, [i](const auto* column) { return static_cast<int>(column[i]); });
  }
  const bin_t* group_row(std::size_t i) const { return group_codes.data() + i * n_byte_groups; }
  /// Codes of rows [lo, hi) row-major, n_features per row: for walking many trees over a block.
  /// Code: bin_t only when no feature is wide.
  template <class Code>
  void copy_rows(std::size_t lo, std::size_t hi, Code* out) const {
    for (int f = 0; f < n_features; ++f)
      for_column(f, [&](const auto* column) {
        for (std::size_t i = lo; i < hi; ++i) out[(i - lo) * n_features + f] = static_cast<Code>(column[i]);
      });
  }
  int n_hist_slots() const { return hist_offset.back(); }
  int group_size(int g) const { return group_begin[g + 1] - group_begin[g]; }
  /// Slots of a group's combined code: the product of its features' slot counts.
  int n_group_slots(int g) const {
    int n = 1;
    for (int k = group_begin[g]; k < group_begin[g + 1]; ++k) n *= n_slots(group_features[k]);
    return n;
  }

  /// Fills hist_offset, the feature groups and wide_of from n_bins: features of at most 16 slots
  /// are bundled greedily in feature order while the product of their slot counts stays <= 256;
  /// wide features (more than 256 slots) come last, a group each.
  void finalize_layout() {
    hist_offset.assign(n_features + 1, 0);
    for (int f = 0; f < n_features; ++f) hist_offset[f + 1] = hist_offset[f] + n_slots(f);
    constexpr int kMaxCombined = 256, kMaxBundled = 16;
    group_begin.assign(1, 0);
    group_features.clear();
    group_of.assign(n_features, 0);
    code_stride.assign(n_features, 1);
    wide_of.assign(n_features, -1);
    std::vector<int> bundle, wide;
    int product = 1;
    auto close_group = [&](const std::vector<int>& features) {
      int stride = 1;
      for (int f : features) {
        group_of[f] = static_cast<int>(group_begin.size()) - 1;
        code_stride[f] = stride;
        stride *= n_slots(f);
        group_features.push_back(f);
      }
      group_begin.push_back(static_cast<int>(group_features.size()));
    };
    for (int f = 0; f < n_features; ++f) {
      if (n_slots(f) > kMaxCombined) {
        wide_of[f] = static_cast<int>(wide.size());
        wide.push_back(f);
        continue;
      }
      if (n_slots(f) > kMaxBundled) {
        close_group({f});
        continue;
      }
      if (product * n_slots(f) > kMaxCombined) {
        close_group(bundle);
        bundle.clear();
        product = 1;
      }
      bundle.push_back(f);
      product *= n_slots(f);
    }
    if (!bundle.empty()) close_group(bundle);
    n_byte_groups = static_cast<int>(group_begin.size()) - 1;
    for (int f : wide) close_group({f});
    n_groups = static_cast<int>(group_begin.size()) - 1;
  }
};

}  // namespace treeforge
