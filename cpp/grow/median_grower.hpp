// MedianGrower: regression trees split by the weighted absolute deviation from the median (criterion='absolute_error').
#pragma once

#include <cstdint>
#include <vector>

#include "core/config.hpp"
#include "data/binning.hpp"
#include "grow/grower.hpp"
#include "model/tree.hpp"

namespace treeforge {

/// Grows one regression tree whose splits minimise sum_i w_i |y_i - median| summed over the two
/// children (scikit-learn's criterion='absolute_error') and whose nodes hold weighted medians.
///
/// The criterion needs the order of a node's targets, not sums of them, so no histogram serves:
/// the grower works row by row. A node's rows stay sorted by target (the root's rows are sorted
/// once, and stable partitions keep the order). A feature's thresholds are swept bin by bin, each
/// bin's rows entering the left child in a Fenwick tree over the node's target order; the node's
/// own Fenwick tree minus the left one is the right child. Either side's weighted median and
/// absolute deviation then take O(log rows), so a node costs O(rows log rows) per candidate
/// feature, as scikit-learn's splitter does. Rows with missing values are tried on either side.
/// Ties go to the lower feature, then the lower threshold, then missing-right; gains within 1e-9
/// of the node's risk are ties, since the deviation is piecewise linear and rounding would pick.
///
/// Numeric features and one target (TreeFitter refuses the rest). Single-threaded: forests grow
/// trees side by side. Limits of `config`: max_depth, max_leaf_nodes (then best-first),
/// min_samples_split, min_samples_leaf, min_child_weight (weight of each child), min_split_gain
/// (a split must decrease the deviation by at least this) and max_features (per-node draws).
class MedianGrower {
 public:
  /// X and mapper must outlive the grower; mapper gives the raw thresholds of bins.
  MedianGrower(const BinnedMatrix& X, const BinMapper& mapper, const TreeConfig& config)
      : X_(X), mapper_(mapper), config_(config) {}

  /// Grows a tree on `rows` (all rows if empty; weights[i] > 0 for each) of targets y, with
  /// features `features` (ascending); `seed` drives the per-node feature draws.
  Tree grow(Span<const double> y, Span<const double> weights, Span<const row_t> rows, const std::vector<int>& features,
            std::uint64_t seed);

  /// Leaves of the last tree; their rows are indices()[begin, end).
  const std::vector<LeafRange>& leaves() const { return leaves_; }
  const std::vector<row_t>& indices() const { return indices_; }
  /// Each node's risk, sum w |y - median| over its rows (minimal cost-complexity pruning).
  const std::vector<double>& node_risk() const { return risk_; }

 private:
  struct Candidate;
  struct Node;

  /// Node `node` of rows indices_[begin, end), its risk and best split found.
  Node open_node(int node, std::size_t begin, std::size_t end, int depth, const std::vector<int>& features);
  Candidate best_split(const Node& node, const std::vector<int>& features) const;
  void sweep(const Node& node, int feature, Candidate& best) const;
  /// Splits node's rows by its split, stably (both children stay sorted by target); the first
  /// right position.
  std::size_t partition(const Node& node);
  /// The weighted median of rows indices_[begin, end), whose weights sum to `total`.
  double weighted_median(std::size_t begin, std::size_t end, double total) const;
  double weight_of(std::size_t begin, std::size_t end) const;

  const BinnedMatrix& X_;
  const BinMapper& mapper_;
  TreeConfig config_;
  std::uint64_t seed_ = 0;
  std::vector<double> y_;  // the targets less `shift_` (the root's median): deviations keep their precision
  double shift_ = 0;
  Span<const double> w_;
  std::vector<row_t> indices_, scratch_;
  std::vector<LeafRange> leaves_;
  std::vector<double> risk_;
};

}  // namespace treeforge
