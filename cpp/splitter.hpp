// SplitFinder: the best split of a node from its histogram, scanning both directions for missing values.
#pragma once

#include <vector>

#include "config.hpp"
#include "dataset.hpp"
#include "histogram.hpp"

namespace treeforge {

/// A candidate split: rows with code <= bin go left, the missing bin follows default_left.
struct SplitInfo {
  double gain = 0.0;  ///< > 0 when the split is valid
  int feature = -1;
  int bin = 0;
  bool default_left = false;
  HistBin left;   ///< sums of the left child
  HistBin right;  ///< sums of the right child

  bool is_valid() const { return feature >= 0; }
};

/// Finds the best split of a node; stateless apart from references, thread-safe.
///
/// For every allowed feature it scans the value bins left to right once, trying each threshold
/// with the missing bin sent right and, when the node has missing values, sent left too. A
/// threshold whose bin is empty is skipped: it separates the rows exactly as the one before it.
/// Ties go to the lower feature, then the lower bin, then missing-right: results never depend on
/// the order in which features were evaluated.
class SplitFinder {
 public:
  SplitFinder(const BinnedMatrix& X, const TreeConfig& config, const GradScale& scale);

  /// Best split of a node with total sums `total` over the features in `features`.
  SplitInfo find(const HistBin* hist, const HistBin& total, const std::vector<int>& features) const;

  /// Best split on one feature (gain 0 and feature -1 when none is valid).
  SplitInfo find_on_feature(const HistBin* hist, const HistBin& total, int feature) const;

  /// Leaf weight of a node with sums `sums`, before shrinkage.
  double leaf_value(const HistBin& sums) const;

 private:
  const BinnedMatrix& X_;
  const TreeConfig& config_;
  const GradScale& scale_;
  // The scan runs in fixed-point units: sums stay integers, the constraints become integer
  // comparisons, and one factor converts gains back (see find_on_feature).
  std::int64_t min_hess_q_;  // min_child_weight in hessian units, rounded up
  double lambda_q_;          // lambda in hessian units
  double alpha_q_;           // alpha in gradient units
  double gain_factor_;       // hess_scale / grad_scale^2: quantised gain -> gain
};

}  // namespace treeforge
