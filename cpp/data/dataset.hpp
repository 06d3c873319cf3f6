// BinnedMatrix: bin codes by feature and by row of feature groups, bin counts, histogram layout.
#pragma once

#include <algorithm>
#include <numeric>
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
///
/// A sparse matrix (binned from CSR input) has no columns and no group codes: every feature is a
/// group of its own, and row i lists only its codes that are not its features' zero codes (the
/// code of the value 0), as histogram slots hist_offset[f] + code, ascending, in
/// sparse_slot[sparse_begin[i], sparse_begin[i + 1]). Memory follows the non-zeros; a feature's
/// zero slot in a histogram is what the node's totals leave over its other slots.
struct SparseColumn;

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

  std::vector<std::size_t> sparse_begin;  ///< (n_rows + 1,) sparse only: each row's entries
  std::vector<std::uint32_t> sparse_slot; ///< sparse only: the rows' non-zero codes as slots
  std::vector<int> zero_code;             ///< (n_features,) sparse only: the code of the value 0
  /// Sparse training matrices only (BinMapper::transform with min_stored): the same entries by
  /// feature, feature f's rows (ascending) and codes in [column_begin[f], column_begin[f + 1]),
  /// for partitions of nodes that hold many rows against the split feature's entries.
  std::vector<std::size_t> column_begin;
  std::vector<row_t> column_rows;
  std::vector<wide_code_t> column_codes;

  bool is_sparse() const { return !sparse_begin.empty(); }
  /// Whether feature f has histogram slots and a group. Every feature of a dense matrix does; a
  /// sparse one leaves out the features of too few non-zero codes to split (BinMapper::transform's
  /// min_stored): they store no entries and take no slots, so no histogram, scan or candidate
  /// list ever meets them, and their column reads as all zero codes.
  bool active(int f) const { return group_of[f] >= 0; }
  /// Statistics a histogram adds per row: one per group, or per stored entry of sparse rows.
  std::size_t updates_per_row() const {
    if (!is_sparse()) return static_cast<std::size_t>(n_groups);
    return std::max<std::size_t>(1, sparse_slot.size() / std::max<std::size_t>(1, n_rows));
  }
  int missing_bin(int f) const { return n_bins[f]; }
  bool categorical(int f) const { return !is_categorical.empty() && is_categorical[f] != 0; }
  int n_slots(int f) const { return n_bins[f] + 1; }
  bool is_wide(int f) const { return wide_of[f] >= 0; }
  bool has_wide() const { return !wide_columns.empty(); }
  /// Calls fn with feature f's column, indexed by row: const bin_t*, for a wide feature const
  /// wide_code_t*, or for a sparse matrix a SparseColumn.
  template <class Fn>
  decltype(auto) for_column(int f, Fn&& fn) const;
  int at(std::size_t i, int f) const;
  const bin_t* group_row(std::size_t i) const { return group_codes.data() + i * n_byte_groups; }
  /// Codes of rows [lo, hi) row-major, n_features per row: for walking many trees over a block.
  /// Code: bin_t only when no feature is wide.
  template <class Code>
  void copy_rows(std::size_t lo, std::size_t hi, Code* out) const;
  int n_hist_slots() const { return hist_offset.back(); }
  /// Sparse rows met in a scattered order miss the cache twice (a row's bounds, then its slots):
  /// a walk at rows[i] fetches the bounds of a row far ahead and the slots of a nearer one, whose
  /// bounds have arrived.
  void prefetch_sparse(const row_t* rows, std::size_t i, std::size_t end) const {
    constexpr std::size_t kAhead = 16;
    if (i + 2 * kAhead < end) prefetch(sparse_begin.data() + rows[i + 2 * kAhead]);
    if (i + kAhead < end) prefetch(sparse_slot.data() + sparse_begin[rows[i + kAhead]]);
  }
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
    if (is_sparse()) return finalize_sparse_layout({});
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

  /// The sparse layout: every active feature (all when `active` is empty) a group of its own, in
  /// feature order, none in bytes, so that a block of groups is a range of features and of slots.
  void finalize_sparse_layout(const std::vector<std::uint8_t>& active) {
    hist_offset.assign(n_features + 1, 0);
    group_begin.assign(1, 0);
    group_features.clear();
    group_of.assign(n_features, -1);
    for (int f = 0; f < n_features; ++f) {
      const bool on = active.empty() || active[f] != 0;
      hist_offset[f + 1] = hist_offset[f] + (on ? n_slots(f) : 0);
      if (!on) continue;
      group_of[f] = static_cast<int>(group_features.size());
      group_features.push_back(f);
      group_begin.push_back(static_cast<int>(group_features.size()));
    }
    code_stride.assign(n_features, 1);
    wide_of.assign(n_features, -1);
    n_byte_groups = 0;
    n_groups = static_cast<int>(group_features.size());
  }
};

/// Feature f of a sparse BinnedMatrix as a column: column[row] finds the row's entry of the
/// feature by bisection among the row's slots, or gives the zero code.
struct SparseColumn {
  const BinnedMatrix* X;
  std::uint32_t first_slot, end_slot;  ///< the feature's slots
  int zero;

  void prefetch_ahead(const row_t* rows, std::size_t i, std::size_t end) const { X->prefetch_sparse(rows, i, end); }

  int operator[](std::size_t row) const {
    const std::uint32_t* base = X->sparse_slot.data() + X->sparse_begin[row];
    const std::uint32_t* end = X->sparse_slot.data() + X->sparse_begin[row + 1];
    std::size_t n = static_cast<std::size_t>(end - base);
    if (n == 0) return zero;
    // Bisection without branches (a conditional move per step): rows are met in no order that
    // a branch predictor could learn.
    while (n > 1) {
      const std::size_t half = n / 2;
      base = base[half] < first_slot ? base + half : base;
      n -= half;
    }
    const std::uint32_t* at = base + (*base < first_slot);
    return at != end && *at < end_slot ? static_cast<int>(*at - first_slot) : zero;
  }
};

template <class Fn>
decltype(auto) BinnedMatrix::for_column(int f, Fn&& fn) const {
  if (is_sparse())
    return fn(SparseColumn{this, static_cast<std::uint32_t>(hist_offset[f]),
                           static_cast<std::uint32_t>(hist_offset[f + 1]), zero_code[f]});
  if (is_wide(f)) return fn(wide_columns.data() + static_cast<std::size_t>(wide_of[f]) * n_rows);
  return fn(columns.data() + static_cast<std::size_t>(f) * n_rows);
}

inline int BinnedMatrix::at(std::size_t i, int f) const {
  return for_column(f, [i](const auto& column) { return static_cast<int>(column[i]); });
}

template <class Code>
void BinnedMatrix::copy_rows(std::size_t lo, std::size_t hi, Code* out) const {
  for (int f = 0; f < n_features; ++f)
    for_column(f, [&](const auto& column) {
      for (std::size_t i = lo; i < hi; ++i) out[(i - lo) * n_features + f] = static_cast<Code>(column[i]);
    });
}

}  // namespace treeforge
