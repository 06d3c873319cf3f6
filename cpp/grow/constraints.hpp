// Split constraints: bounds on leaf values from monotone splits, and the features interaction groups allow.
#pragma once

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

#include "core/config.hpp"

namespace treeforge {

/// Bounds on every leaf value of a node's subtree (the basic method of monotone constraints, as
/// LightGBM's "basic"): a split on a feature constrained to increase sends the left subtree below,
/// and the right one above, the middle of its two children's values, so that any two rows that
/// differ only in that feature end in leaves in the right order. Unbounded at the root.
struct ValueBounds {
  double lower = -std::numeric_limits<double>::infinity();
  double upper = std::numeric_limits<double>::infinity();

  bool bounded() const { return lower > -std::numeric_limits<double>::infinity() ||
                                upper < std::numeric_limits<double>::infinity(); }
  double clamp(double value) const { return std::min(std::max(value, lower), upper); }

  /// The children's bounds after a split of a node with these bounds on a feature of monotone
  /// `direction` (+1, -1 or 0), whose children take the values left_value and right_value.
  std::pair<ValueBounds, ValueBounds> split(int direction, double left_value, double right_value) const {
    ValueBounds left = *this, right = *this;
    const double mid = 0.5 * (left_value + right_value);
    if (direction > 0) left.upper = right.lower = mid;
    if (direction < 0) left.lower = right.upper = mid;
    return {left, right};
  }
};

/// Interaction constraints: which features a node may split on, given the features split on
/// along its path from the root: those of every group that holds all of the path's features.
class InteractionGroups {
 public:
  InteractionGroups(const std::vector<std::vector<int>>& groups, int n_features);

  bool active() const { return !groups_.empty(); }
  /// (n_features,) 1 for each feature a node whose path used `path` (sorted) may split on.
  std::vector<char> allowed(const std::vector<int>& path) const;

 private:
  std::vector<std::vector<char>> groups_;  ///< per group, a feature mask
  int n_features_;
};

/// `path` (sorted, unique) with `feature` added.
std::vector<int> with_feature(std::vector<int> path, int feature);

}  // namespace treeforge
