// Set splits of a categorical feature: the candidate sets every criterion shares, scored by the criterion.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/config.hpp"
#include "grow/criterion.hpp"

namespace treeforge {

/// The best set split of one categorical feature of a node, from its slots (n_bins categories,
/// then the missing slot) and the node's sums. The candidates:
/// - at most max_cat_to_onehot categories present in the node: each one alone against the rest;
/// - more: the categories of at least cat_smooth rows (the others stay out of every set), in
///   each order the criterion gives (Fisher's result: for gradient statistics the order of G / H
///   holds the best split as a prefix, as it does for two classes under Gini or entropy). Sets
///   are the prefixes of an order read from either end, of at most max_cat_threshold categories
///   and at most half of them; along a reading, a prefix is tried once it has gathered
///   min_data_per_group rows since the last one tried, and only while the rest holds as many.
///   These sets split the node more finely than a threshold, so their children pay cat_l2 more
///   in gain and leaf values (ScanResult::extra_l2).
/// Missing rows are tried on both sides. Categories absent from the node are in no set: unseen
/// there, they go where unseen categories go.
///
/// The criterion gives `n_category_orders()` orders by `category_key(slot, order)` (ascending,
/// ties by category) and `set_gain(left_sums, total, extra_l2)`, the gain of sending left_sums left in real units
/// (-inf when a constraint forbids it). Ties go to the earlier candidate: the result depends on
/// the histogram alone.
/// Puts the `ends` smallest and the `ends` largest of `keyed` at its two ends in sorted order, as
/// a full sort would (keys and categories make a total order); the middle, which no set of at most
/// `ends` categories read from either end reaches, stays unordered. A node's up to 4,096
/// categories then cost a linear selection instead of a sort.
inline void sort_both_ends(std::vector<std::pair<double, int>>& keyed, int ends) {
  const auto n = static_cast<std::ptrdiff_t>(keyed.size());
  if (2 * static_cast<std::ptrdiff_t>(ends) >= n) {
    std::sort(keyed.begin(), keyed.end());
    return;
  }
  const auto front = keyed.begin() + ends, back = keyed.end() - ends;
  std::nth_element(keyed.begin(), front, keyed.end());
  std::sort(keyed.begin(), front);
  std::nth_element(front, back, keyed.end());
  std::sort(back, keyed.end());
}

template <class Criterion>
ScanResult scan_category_sets(const Criterion& criterion, const std::int64_t* slots, int n_bins,
                              const std::int64_t* total, const TreeConfig& config) {
  const int stride = criterion.n_channels();
  auto slot = [&](int c) { return slots + static_cast<std::size_t>(c) * stride; };
  const std::int64_t* missing = slot(n_bins);
  const bool has_missing = criterion.count(missing) > 0;
  std::vector<int> present(n_bins);  // n_bins <= kMaxCategories
  int n_present = 0;
  for (int c = 0; c < n_bins; ++c)
    if (criterion.count(slot(c)) > 0) present[n_present++] = c;
  const bool one_vs_rest = n_present <= config.max_cat_to_onehot;
  const double extra_l2 = one_vs_rest ? 0.0 : config.cat_l2;

  ScanResult best;
  double best_gain = std::max(config.min_split_gain, 0.0);
  bool found = false;
  Sums left(stride), with_missing(stride);
  // The categories [first, first + size) (a stride of `step` apart) with sums `left` go left;
  // missing rows right, then left.
  auto consider = [&](const int* first, int size, int step) {
    for (int m = 0; m <= static_cast<int>(has_missing); ++m) {
      for (int c = 0; c < stride; ++c) with_missing[c] = left[c] + (m ? missing[c] : 0);
      const double gain = criterion.set_gain(with_missing.data(), total, extra_l2);
      if (gain > best_gain) {
        found = true;
        best_gain = gain;
        best.categories = CategoryBits{};
        for (int i = 0; i < size; ++i) best.categories.insert(first[i * step]);
        best.default_left = m != 0;
        best.left_count = criterion.count(with_missing.data());
      }
    }
  };

  if (one_vs_rest) {
    for (int i = 0; i < n_present; ++i) {
      std::copy(slot(present[i]), slot(present[i]) + stride, left.begin());
      consider(present.data() + i, 1, 1);
    }
  } else {
    int n = 0;  // the included categories, in present[0, n)
    for (int i = 0; i < n_present; ++i)
      if (static_cast<double>(criterion.count(slot(present[i]))) >= config.cat_smooth) present[n++] = present[i];
    const int max_size = std::min(config.max_cat_threshold, (n + 1) / 2);
    const std::int64_t n_rows = criterion.count(total);
    std::vector<std::pair<double, int>> keyed(n);
    std::vector<int> order(n);
    // Fewer than two included categories make no set (and an empty order has no back to read from).
    for (int o = 0; n >= 2 && o < criterion.n_category_orders(); ++o) {
      for (int i = 0; i < n; ++i) keyed[i] = {criterion.category_key(slot(present[i]), o), present[i]};
      sort_both_ends(keyed, max_size);
      for (int i = 0; i < n; ++i) order[i] = keyed[i].second;
      for (int step : {1, -1}) {  // from the front, then from the back
        const int* first = step == 1 ? order.data() : order.data() + n - 1;
        std::fill(left.begin(), left.end(), 0);
        std::int64_t left_rows = 0, since_tried = 0;
        for (int k = 1; k <= max_size && k < n; ++k) {
          const std::int64_t* s = slot(first[(k - 1) * step]);
          for (int c = 0; c < stride; ++c) left[c] += s[c];
          left_rows += criterion.count(s);
          since_tried += criterion.count(s);
          if (n_rows - left_rows < config.min_data_per_group) break;
          if (since_tried < config.min_data_per_group) continue;
          since_tried = 0;
          consider(first, k, step);
        }
      }
    }
  }
  if (!found) return best;
  best.gain = best_gain;
  best.bin = 0;
  best.kind = SplitKind::kCategorySet;
  best.extra_l2 = extra_l2;
  return best;
}

}  // namespace treeforge
