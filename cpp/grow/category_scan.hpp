// Set splits of a categorical feature: the candidate sets every criterion shares, scored by the criterion.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/config.hpp"
#include "grow/criterion.hpp"

namespace treeforge {

/// The best set split of one categorical feature of a node, from its slots (n_bins categories,
/// then the missing slot) and the node's sums. The candidates:
/// - at most max_cat_to_onehot categories present in the node: each one alone against the rest;
/// - more: the present categories in each order the criterion gives (Fisher's result: for
///   gradient statistics the order of G / H holds the best split as a prefix, as it does for two
///   classes under Gini or entropy), every cut of an order into a prefix and the rest, with the
///   smaller side at most max_cat_threshold categories and each side at least
///   min_data_per_group rows of its categories.
/// Missing rows are tried on both sides. Of a chosen cut the side with fewer categories becomes
/// the set that goes left (missing rows following), so that sets stay short; categories absent
/// from the node are in no set: unseen there, they go where unseen categories go.
///
/// The criterion gives `category_orders(slots, present)` (permutations of `present`) and
/// `set_gain(left_sums, total, many_vs_many)`, the gain of sending left_sums left in real units
/// (-inf when a constraint forbids it). Ties go to the earlier candidate: the result depends on
/// the histogram alone.
template <class Criterion>
ScanResult scan_category_sets(const Criterion& criterion, const std::int64_t* slots, int n_bins,
                              const std::int64_t* total, const TreeConfig& config) {
  const int stride = criterion.n_channels();
  auto slot = [&](int c) { return slots + static_cast<std::size_t>(c) * stride; };
  const std::int64_t* missing = slot(n_bins);
  const bool has_missing = criterion.count(missing) > 0;
  std::vector<int> present;
  for (int c = 0; c < n_bins; ++c)
    if (criterion.count(slot(c)) > 0) present.push_back(c);
  const int n = static_cast<int>(present.size());
  const std::int64_t category_rows = criterion.count(total) - criterion.count(missing);

  ScanResult best;
  double best_gain = std::max(config.min_split_gain, 0.0);
  const int* best_first = nullptr;
  int best_size = 0;
  Sums left(stride), with_missing(stride);
  // The categories [first, first + size) with sums `left` go left; missing rows right, then left.
  auto consider = [&](const int* first, int size, bool many_vs_many) {
    for (int m = 0; m <= static_cast<int>(has_missing); ++m) {
      for (int c = 0; c < stride; ++c) with_missing[c] = left[c] + (m ? missing[c] : 0);
      const double gain = criterion.set_gain(with_missing.data(), total, many_vs_many);
      if (gain > best_gain) {
        best_gain = gain;
        best_first = first;
        best_size = size;
        best.default_left = m != 0;
        best.left_count = criterion.count(with_missing.data());
      }
    }
  };

  std::vector<std::vector<int>> orders;
  if (n <= config.max_cat_to_onehot) {
    for (int i = 0; i < n; ++i) {
      std::copy(slot(present[i]), slot(present[i]) + stride, left.begin());
      consider(&present[i], 1, false);
    }
  } else {
    orders = criterion.category_orders(slots, present);
    for (const std::vector<int>& order : orders) {
      std::fill(left.begin(), left.end(), 0);
      std::int64_t left_rows = 0;
      for (int k = 1; k < n; ++k) {
        const std::int64_t* s = slot(order[k - 1]);
        for (int c = 0; c < stride; ++c) left[c] += s[c];
        left_rows += criterion.count(s);
        if (std::min(k, n - k) > config.max_cat_threshold) continue;
        if (left_rows < config.min_data_per_group || category_rows - left_rows < config.min_data_per_group) continue;
        consider(order.data(), k, true);
      }
    }
  }
  if (best_first == nullptr) return best;
  best.gain = best_gain;
  best.bin = 0;
  best.kind = SplitKind::kCategorySet;
  if (2 * best_size <= n) {
    for (int i = 0; i < best_size; ++i) best.categories.insert(best_first[i]);
  } else {  // the other side is shorter: it becomes the set, and missing rows change sides
    for (int c : present) best.categories.insert(c);
    for (int i = 0; i < best_size; ++i) best.categories.erase(best_first[i]);
    best.default_left = !best.default_left;
    best.left_count = criterion.count(total) - best.left_count;
  }
  return best;
}

}  // namespace treeforge
