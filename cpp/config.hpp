// One plain struct per learner with its defaults and validate(): the only place parameters are checked in C++.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "common.hpp"

namespace treeforge {

/// How the grower picks the next node to split.
enum class GrowPolicy {
  kLossGuide,  ///< best-first: the open leaf with the largest gain (LightGBM's leaf-wise)
  kDepthWise,  ///< level by level: the shallowest open leaf first (XGBoost's depthwise)
};

inline GrowPolicy parse_grow_policy(const std::string& name) {
  if (name == "lossguide") return GrowPolicy::kLossGuide;
  if (name == "depthwise") return GrowPolicy::kDepthWise;
  throw std::invalid_argument("grow_policy must be 'lossguide' or 'depthwise', got '" + name + "'");
}

/// Parameters of growing one histogram tree; shared by boosting, forests and AdaBoost.
struct TreeConfig {
  int max_leaf_nodes = 31;         ///< 0 = unlimited
  int max_depth = 0;               ///< 0 = unlimited; the root has depth 0
  int min_samples_leaf = 20;       ///< rows in each child, at least
  int min_samples_split = 2;       ///< rows in a node for it to be split, at least
  double min_child_weight = 1e-3;  ///< sum of hessians in each child, at least
  double l2_regularization = 0.0;  ///< lambda
  double l1_regularization = 0.0;  ///< alpha
  double min_split_gain = 0.0;     ///< gamma: a split must gain strictly more
  double max_features = 1.0;       ///< fraction of the tree's features drawn at every node, (0, 1]
  GrowPolicy grow_policy = GrowPolicy::kLossGuide;

  void validate() const {
    check(max_leaf_nodes == 0 || max_leaf_nodes >= 2, "max_leaf_nodes must be 0 (unlimited) or >= 2");
    check(max_depth >= 0, "max_depth must be >= 0 (0 = unlimited)");
    check(min_samples_leaf >= 1, "min_samples_leaf must be >= 1");
    check(min_samples_split >= 2, "min_samples_split must be >= 2");
    check(std::isfinite(min_child_weight) && min_child_weight >= 0, "min_child_weight must be finite and >= 0");
    check(std::isfinite(l2_regularization) && l2_regularization >= 0, "l2_regularization must be finite and >= 0");
    check(std::isfinite(l1_regularization) && l1_regularization >= 0, "l1_regularization must be finite and >= 0");
    check(std::isfinite(min_split_gain) && min_split_gain >= 0, "min_split_gain must be finite and >= 0");
    check(max_features > 0 && max_features <= 1, "max_features must be in (0, 1]");
  }
};

/// Parameters of a gradient boosting run.
struct GbdtConfig {
  std::string objective = "squared_error";
  int n_outputs = 1;  ///< trees per iteration: 1, or the number of classes for multiclass_softmax
  double learning_rate = 0.1;
  double subsample = 1.0;         ///< fraction of rows drawn without replacement per iteration
  double colsample_bytree = 1.0;  ///< fraction of features drawn per tree
  std::uint64_t seed = 0;
  int n_threads = 1;
  TreeConfig tree;

  void validate() const {
    tree.validate();
    check(n_outputs >= 1, "n_outputs must be >= 1");
    check(std::isfinite(learning_rate) && learning_rate > 0, "learning_rate must be finite and > 0");
    check(subsample > 0 && subsample <= 1, "subsample must be in (0, 1]");
    check(colsample_bytree > 0 && colsample_bytree <= 1, "colsample_bytree must be in (0, 1]");
    check(n_threads >= 1, "n_threads must be >= 1");
  }
};

}  // namespace treeforge
