// Predictor: flattening of trees and the blocked, lock-step traversal kernels.
#include "model/predictor.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/parallel.hpp"

namespace treeforge {

namespace {
/// Rows per task: every tree is walked for the whole block, so its nodes are reused across it.
/// 512 rows, fewer for wide data so that a block's lane-major copy (kept per thread) stays
/// within 256 KiB; always whole lane groups.
std::size_t rows_per_block(std::size_t n_cols, int lanes) {
  constexpr std::size_t kMaxRows = 512, kMaxCopyBytes = 256 * 1024;
  const std::size_t rows = std::min(kMaxRows, kMaxCopyBytes / (std::max<std::size_t>(n_cols, 1) * sizeof(double)));
  return std::max<std::size_t>(lanes, rows / lanes * lanes);
}

/// Copies rows [lo, hi) of X into `groups` lane-major, as doubles: group g holds rows
/// lo + g*lanes .. + lanes - 1, the value of its lane i for feature f at [(g * n_cols + f) * lanes + i].
/// Lanes past hi repeat the last row, so every group is full. Returns whether the rows hold no NaN.
template <class T>
bool to_lane_groups(MatrixView<const T> X, std::size_t lo, std::size_t hi, int lanes, std::vector<double>& groups) {
  const std::size_t n_groups = n_blocks(hi - lo, lanes), n_cols = X.n_cols;
  groups.resize(n_groups * n_cols * lanes);
  bool none = true;
  for (std::size_t g = 0; g < n_groups; ++g) {
    double* group = groups.data() + g * n_cols * lanes;
    for (int i = 0; i < lanes; ++i) {
      const T* row = X.row(std::min(hi - 1, lo + g * lanes + i));
      for (std::size_t f = 0; f < n_cols; ++f) {
        const double v = static_cast<double>(row[f]);
        none &= !std::isnan(v);
        group[f * lanes + i] = v;
      }
    }
  }
  return none;
}

}  // namespace

Predictor::Predictor(const std::vector<Tree>& trees, const std::vector<int>& tree_output, int n_outputs,
                     const std::vector<int>& feature_bins)
    : tree_output_(tree_output), n_outputs_(n_outputs) {
  const bool any_sets = std::any_of(trees.begin(), trees.end(), [](const Tree& t) { return t.has_category_sets(); });
  for (const Tree& tree : trees) {
    const std::size_t base = nodes_.size();
    check(base + tree.n_nodes() < (1u << 31), "model has too many nodes");
    root_.push_back(static_cast<std::uint32_t>(2 * base));
    has_sets_.push_back(tree.has_category_sets() ? 1 : 0);
    std::vector<int> depth(tree.n_nodes(), 0);
    for (int i = 0; i < tree.n_nodes(); ++i) {
      const std::uint32_t self = static_cast<std::uint32_t>(base + i);
      if (tree.is_leaf(i)) {
        nodes_.push_back({std::numeric_limits<double>::infinity(), 0, 2 * self});
        default_left_.push_back(1);
        value_offset_.push_back(static_cast<std::int32_t>(values_.size()));
        first_value_.push_back(tree.value[static_cast<std::size_t>(i) * tree.leaf_dim]);
        values_.insert(values_.end(), tree.value.begin() + static_cast<std::ptrdiff_t>(i) * tree.leaf_dim,
                       tree.value.begin() + static_cast<std::ptrdiff_t>(i + 1) * tree.leaf_dim);
      } else {
        check(tree.right[i] == tree.left[i] + 1, "tree children must be adjacent");
        check(tree.feature[i] >= 0 && tree.feature[i] < (1 << 26), "tree feature index out of range");
        const std::uint32_t left = static_cast<std::uint32_t>(base + tree.left[i]);
        const bool is_set = tree.split_kind[i] == static_cast<std::uint8_t>(SplitKind::kCategorySet);
        nodes_.push_back({is_set ? 0.0 : tree.threshold[i], static_cast<std::uint32_t>(tree.feature[i]) * kLanes,
                          2 * left});
        default_left_.push_back(tree.default_left[i] ? 1 : 0);
        value_offset_.push_back(-1);
        first_value_.push_back(0.0);
        depth[tree.left[i]] = depth[tree.right[i]] = depth[i] + 1;
      }
      if (any_sets) add_split_kind(tree, i, feature_bins);
      tree_local_.push_back(i);
    }
    depth_.push_back(*std::max_element(depth.begin(), depth.end()));
  }
}

void Predictor::add_split_kind(const Tree& tree, int i, const std::vector<int>& feature_bins) {
  split_kind_.push_back(tree.split_kind[i]);
  const bool is_set = tree.split_kind[i] == static_cast<std::uint8_t>(SplitKind::kCategorySet);
  check(!is_set || tree.feature[i] < static_cast<int>(feature_bins.size()), "tree feature index out of range");
  n_categories_.push_back(is_set ? feature_bins[tree.feature[i]] : 0);
  cat_begin_.push_back(static_cast<std::uint32_t>(cat_words_.size()));
  cat_size_.push_back(static_cast<std::uint32_t>(tree.cat_size[i]));
  const auto words = tree.cat_words.begin() + tree.cat_begin[i];
  cat_words_.insert(cat_words_.end(), words, words + tree.cat_size[i]);
}

template <Predictor::Walk kWalk>
void Predictor::walk_group(const double* group, std::size_t tree, std::uint32_t* leaves) const {
  // A fixed lane count, so the lanes unroll and their node indices live in registers (a local
  // array: `leaves` might alias the nodes, which would force a store per step).
  std::uint32_t at[kLanes];
  for (int i = 0; i < kLanes; ++i) at[i] = root_[tree];
  for (int d = 0; d < depth_[tree]; ++d)
#pragma GCC unroll 16
    for (int i = 0; i < kLanes; ++i) at[i] = step<kWalk>(at[i], group + i);
  for (int i = 0; i < kLanes; ++i) leaves[i] = at[i] / 2;
}

template <Predictor::Walk kWalk>
void Predictor::walk_trees(const double* row, std::size_t first_tree, int n, std::uint32_t* leaves) const {
  int depth = 0;
  for (int j = 0; j < n; ++j) {
    leaves[j] = root_[first_tree + j];
    depth = std::max(depth, depth_[first_tree + j]);
  }
  for (int d = 0; d < depth; ++d)
    for (int j = 0; j < n; ++j) leaves[j] = step<kWalk, false>(leaves[j], row);
  for (int j = 0; j < n; ++j) leaves[j] /= 2;
}

template <class T, class Visit>
void Predictor::walk_blocks(MatrixView<const T> X, std::size_t tree_begin, std::size_t tree_end, int n_threads,
                            Visit&& visit) const {
  const std::size_t block = rows_per_block(X.n_cols, kLanes), group_size = X.n_cols * kLanes;
  parallel_for(n_blocks(X.n_rows, block), n_threads, [&](std::size_t b) {
    const std::size_t lo = b * block, hi = std::min(X.n_rows, lo + block);
    thread_local std::vector<double> groups;
    // Blocks without NaN (most, in most data) take the kernel with half the work per step.
    const bool no_nan = to_lane_groups(X, lo, hi, kLanes, groups);
    std::uint32_t leaves[kLanes];
    for (std::size_t t = tree_begin; t < tree_end; ++t) {
      const double* group = groups.data();
      const bool has_sets = has_sets_[t];
      for (std::size_t g = lo; g < hi; g += kLanes, group += group_size) {
        if (has_sets)
          walk_group<Walk::kAnyKind>(group, t, leaves);
        else if (no_nan)
          walk_group<Walk::kNumericNanFree>(group, t, leaves);
        else
          walk_group<Walk::kNumeric>(group, t, leaves);
        visit(t, g, static_cast<int>(std::min<std::size_t>(kLanes, hi - g)), leaves);
      }
    }
  });
}

template <class T>
void Predictor::add_margin(MatrixView<const T> X, std::size_t tree_begin, std::size_t tree_end, Span<double> out,
                           int n_threads) const {
  const int k = n_outputs_;
  if (X.n_rows < static_cast<std::size_t>(kLanes)) {
    // Too few rows to fill the lanes (a single-row request): the lanes walk trees instead, so
    // the cache misses on the nodes of different trees overlap.
    std::uint32_t leaves[kLanes];
    std::vector<double> row(X.n_cols);
    for (std::size_t i = 0; i < X.n_rows; ++i) {
      bool no_nan = true;
      for (std::size_t f = 0; f < X.n_cols; ++f) {
        row[f] = static_cast<double>(X(i, f));
        no_nan &= !std::isnan(row[f]);
      }
      double* o = out.data + i * k;
      for (std::size_t t = tree_begin; t < tree_end; t += kLanes) {
        const int n = static_cast<int>(std::min<std::size_t>(kLanes, tree_end - t));
        if (!split_kind_.empty() && std::any_of(has_sets_.begin() + t, has_sets_.begin() + t + n,
                                                [](std::uint8_t s) { return s != 0; }))
          walk_trees<Walk::kAnyKind>(row.data(), t, n, leaves);
        else if (no_nan)
          walk_trees<Walk::kNumericNanFree>(row.data(), t, n, leaves);
        else
          walk_trees<Walk::kNumeric>(row.data(), t, n, leaves);
        for (int j = 0; j < n; ++j) add_leaf(leaves[j], tree_output_[t + j], o);
      }
    }
    return;
  }
  walk_blocks(X, tree_begin, tree_end, n_threads,
              [&](std::size_t t, std::size_t g, int n, const std::uint32_t* leaves) {
                for (int i = 0; i < n; ++i) add_leaf(leaves[i], tree_output_[t], out.data + (g + i) * k);
              });
}

template <class T>
void Predictor::leaf_index(MatrixView<const T> X, std::size_t tree_begin, std::size_t tree_end,
                           Span<std::int32_t> out, int n_threads) const {
  const std::size_t n_trees = tree_end - tree_begin;
  walk_blocks(X, tree_begin, tree_end, n_threads,
              [&](std::size_t t, std::size_t g, int n, const std::uint32_t* leaves) {
                for (int i = 0; i < n; ++i) out[(g + i) * n_trees + (t - tree_begin)] = tree_local_[leaves[i]];
              });
}

template void Predictor::add_margin<float>(MatrixView<const float>, std::size_t, std::size_t, Span<double>, int) const;
template void Predictor::add_margin<double>(MatrixView<const double>, std::size_t, std::size_t, Span<double>,
                                            int) const;
template void Predictor::leaf_index<float>(MatrixView<const float>, std::size_t, std::size_t, Span<std::int32_t>,
                                           int) const;
template void Predictor::leaf_index<double>(MatrixView<const double>, std::size_t, std::size_t, Span<std::int32_t>,
                                            int) const;

}  // namespace treeforge
