// TreeGrower::Growth, one tree in the making: the tree, its schedule, its nodes' rows and bounds,
// and the steps of a split outside the forks. Private to grower.cpp, which alone includes it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "grow/grow_schedule.hpp"
#include "grow/grower.hpp"

namespace treeforge {

/// One tree in the making: the tree, its schedule, the rows of its nodes, and the three steps
/// of a split outside the forks: prepare (children's sums and buffers), enter (children's node
/// numbers) and finish (children to the schedule).
template <class Criterion>
class TreeGrower::Growth {
 public:
  Growth(TreeGrower& grower, const Criterion& criterion, const std::vector<int>& features, std::uint64_t seed)
      : criterion(criterion),
        finder(grower.X_, criterion),
        features(features),
        seed(seed),
        n_candidates(grower.config_.max_features >= 1.0
                         ? static_cast<int>(features.size())
                         : std::max(1, static_cast<int>(grower.config_.max_features * features.size()))),
        gains_follow_partitions(std::is_same_v<Criterion, GradientCriterion> && grower.config_.monotone.empty() &&
                                std::none_of(grower.X_.is_categorical.begin(), grower.X_.is_categorical.end(),
                                             [](std::uint8_t c) { return c != 0; })),
        // A participant's batches must be everyone's: picked by rank, never by its own rows.
        schedule(grower.config_, grower.n_threads_, grower.reduction_ != nullptr),
        grower_(grower),
        left_value_(criterion.leaf_dim()),
        right_value_(criterion.leaf_dim()) {
    tree.leaf_dim = criterion.leaf_dim();
  }

  bool may_deepen(int depth) const { return grower_.config_.max_depth == 0 || depth < grower_.config_.max_depth; }
  bool room_for_split() const { return grower_.config_.max_leaf_nodes == 0 || n_leaves < grower_.config_.max_leaf_nodes; }

  void add_root(const Sums& sums, std::size_t n_rows) {
    criterion.leaf_value(sums.data(), left_value_.data());
    tree.add_leaf(left_value_.data(), static_cast<double>(criterion.count(sums.data())), criterion.cover(sums.data()));
    record_rows(0, 0, n_rows, ValueBounds{});
  }

  /// Sets up the children of the parent's split from the parent's histogram: their sums, which
  /// of them may split, and their buffers (taken here, outside any fork). The children's rows
  /// are placed when the split is carried out, and they are numbered when it enters the tree.
  Expansion prepare(const OpenLeaf& parent) {
    const SplitInfo& s = parent.split;
    const int stride = criterion.n_channels();
    Sums left_sums = parent.hist ? finder.left_sums(parent.hist, s) : left_sums_of_rows(parent);
    Sums right_sums(stride);
    for (int c = 0; c < stride; ++c) right_sums[c] = parent.sums[c] - left_sums[c];
    Expansion e{OpenLeaf{-1, parent.depth + 1, parent.begin, parent.begin, std::move(left_sums), nullptr, SplitInfo{}},
                OpenLeaf{-1, parent.depth + 1, parent.begin, parent.end, std::move(right_sums), nullptr, SplitInfo{}},
                false, false, false, s, parent.hist};
    e.left_may = may_deepen(e.left.depth) && criterion.may_split(e.left.sums.data());
    e.right_may = may_deepen(e.right.depth) && criterion.may_split(e.right.sums.data());
    e.left_smaller = criterion.count(e.left.sums.data()) <= criterion.count(e.right.sums.data());
    e.parent_alive = parent.alive;
    constrain_children(parent, e);
    e.scan_rows = grower_.scans_rows(std::max(criterion.count(e.left.sums.data()), criterion.count(e.right.sums.data())),
                                     n_candidates);
    if (e.scan_rows) return e;  // no histograms: the parent's buffer goes back when the split is done
    // A smaller child that will not split needs no histogram of its own on one machine: its rows
    // are removed from the parent's directly.
    if (e.small_may() || (e.large_may() && !grower_.removes_rows())) e.small().hist = grower_.pool_.acquire();
    if (e.large_may()) e.large().hist = parent.hist;
    return e;
  }

  /// The children's value bounds (monotone constraints) and paths (interaction constraints).
  void constrain_children(const OpenLeaf& parent, Expansion& e) {
    const SplitInfo& s = e.split;
    if (grower_.interactions_.active()) e.left.path = e.right.path = with_feature(parent.path, s.feature);
    if (grower_.config_.monotone.empty()) return;
    criterion.leaf_value(e.left.sums.data(), left_value_.data(), s.extra_l2);
    criterion.leaf_value(e.right.sums.data(), right_value_.data(), s.extra_l2);
    const double left = parent.bounds.clamp(criterion.constrained_value(left_value_.data()));
    const double right = parent.bounds.clamp(criterion.constrained_value(right_value_.data()));
    std::tie(e.left.bounds, e.right.bounds) =
        parent.bounds.split(grower_.config_.monotone_direction(s.feature), left, right);
  }

  /// Splits the parent in the tree and numbers its children.
  void enter(const OpenLeaf& parent, Expansion& e) {
    const SplitInfo& s = e.split;
    const std::int64_t* left_sums = e.left.sums.data();
    const std::int64_t* right_sums = e.right.sums.data();
    criterion.leaf_value(left_sums, left_value_.data(), s.extra_l2);
    criterion.leaf_value(right_sums, right_value_.data(), s.extra_l2);
    if (e.left.bounds.bounded() || e.right.bounds.bounded()) {  // monotone constraints
      criterion.clamp_value(left_value_.data(), e.left.bounds);
      criterion.clamp_value(right_value_.data(), e.right.bounds);
    }
    SplitTest test = s.test();
    if (s.kind == SplitKind::kNumeric) test.threshold = grower_.raw_threshold(s.feature, s.bin);
    const int l = tree.split_leaf(parent.node, s.feature, test, s.gain, left_value_.data(),
                                  static_cast<double>(criterion.count(left_sums)), criterion.cover(left_sums),
                                  right_value_.data(), static_cast<double>(criterion.count(right_sums)),
                                  criterion.cover(right_sums));
    ++n_leaves;
    e.left.node = l;
    e.right.node = l + 1;
  }

  /// Hands a carried-out split's children to the schedule, or closes them.
  void finish(Expansion& e) {
    record_rows(e.left.node, e.left.begin, e.left.end, e.left.bounds);
    record_rows(e.right.node, e.right.begin, e.right.end, e.right.bounds);
    if (e.left.hist != e.parent_hist && e.right.hist != e.parent_hist) grower_.pool_.release(e.parent_hist);
    open_or_close(e.left);
    open_or_close(e.right);
  }

  /// Leaves arrive here with their best split found (or none).
  void open_or_close(OpenLeaf& leaf) {
    if (leaf.split.is_valid())
      schedule.push(std::move(leaf));
    else
      grower_.pool_.release(leaf.hist);
  }

  /// Releases the buffers of the leaves left open, and of splits carried out early for them.
  void close_remaining() {
    for (OpenLeaf& leaf : schedule.remaining()) {
      if (leaf.done_early && leaf.done_early->small().hist) grower_.pool_.release(leaf.done_early->small().hist);
      grower_.pool_.release(leaf.hist);
    }
  }

  /// The leaves of the tree with their rows in the partition.
  std::vector<LeafRange> leaf_ranges() const {
    std::vector<LeafRange> leaves;
    for (int node = 0; node < tree.n_nodes(); ++node)
      if (tree.is_leaf(node))
        leaves.push_back({node, node_range_[node].first, node_range_[node].second, node_bounds_[node]});
    return leaves;
  }

  const Criterion& criterion;
  const SplitFinder<Criterion> finder;
  const std::vector<int>& features;
  const std::uint64_t seed;
  const int n_candidates;  ///< features drawn per node
  /// A split's gain is a function of its partition: gradient statistics (each side's integer
  /// sums, the sides' scores added in either order give the same sum), no categorical feature
  /// (set gains pay cat_l2) and no monotone constraint (the sides' order matters).
  const bool gains_follow_partitions;
  Tree tree;
  GrowSchedule schedule;
  int n_leaves = 1;

 private:
  /// The left sums of a leaf's split from its rows (a leaf scanned by rows has no histogram).
  Sums left_sums_of_rows(const OpenLeaf& parent) const {
    const RowScanner<Criterion> scanner(grower_.X_, criterion, finder);
    return scanner.left_sums(grower_.partition_.rows(parent.begin, parent.end), parent.split);
  }

  void record_rows(int node, std::size_t begin, std::size_t end, const ValueBounds& bounds) {
    if (static_cast<int>(node_range_.size()) <= node) {
      node_range_.resize(node + 1);
      node_bounds_.resize(node + 1);
    }
    node_range_[node] = {begin, end};
    node_bounds_[node] = bounds;
  }

  TreeGrower& grower_;
  std::vector<double> left_value_, right_value_;
  std::vector<std::pair<std::size_t, std::size_t>> node_range_;
  std::vector<ValueBounds> node_bounds_;
};

}  // namespace treeforge
