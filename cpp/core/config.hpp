// One plain struct per learner with its defaults and validate(): the only place parameters are checked in C++.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/common.hpp"

namespace treeforge {

/// How the grower picks the next node to split.
enum class GrowPolicy {
  kLossGuide,  ///< best-first: the open leaf with the largest gain (LightGBM's leaf-wise)
  kDepthWise,  ///< level by level: the shallowest open leaf first (XGBoost's depthwise)
  /// the newest open leaf first (scikit-learn's DepthFirstTreeBuilder): only the pending siblings
  /// along one path hold histograms, so fully grown trees (no leaf limit) need O(depth) of them
  kDepthFirst,
};

inline GrowPolicy parse_grow_policy(const std::string& name) {
  if (name == "lossguide") return GrowPolicy::kLossGuide;
  if (name == "depthwise") return GrowPolicy::kDepthWise;
  if (name == "depthfirst") return GrowPolicy::kDepthFirst;
  throw std::invalid_argument("grow_policy must be 'lossguide', 'depthwise' or 'depthfirst', got '" + name + "'");
}

inline const char* grow_policy_name(GrowPolicy policy) {
  switch (policy) {
    case GrowPolicy::kLossGuide: return "lossguide";
    case GrowPolicy::kDepthWise: return "depthwise";
    case GrowPolicy::kDepthFirst: return "depthfirst";
  }
  return "";
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
  // Categorical (set) splits, LightGBM's names and defaults.
  double cat_smooth = 10.0;       ///< added to a category's hessian when categories are ordered by gradient / hessian
  double cat_l2 = 10.0;           ///< added to lambda in the gain of many-vs-many set splits
  int max_cat_threshold = 32;     ///< categories sent to one side, at most
  int max_cat_to_onehot = 4;      ///< a feature with at most this many categories in the node splits one-vs-rest
  int min_data_per_group = 100;   ///< rows on each side of a many-vs-many set split, at least
  /// Per feature: +1 the tree's values may only increase with it, -1 only decrease, 0 free.
  /// Empty: no monotone constraint. Gradient statistics only (a single output).
  std::vector<std::int8_t> monotone;
  /// Groups of features a root-to-leaf path may combine (a path's features all lie in one group);
  /// every feature is in at least one. Empty: any combination.
  std::vector<std::vector<int>> interaction_groups;
  /// Gradient statistics are (-w y, w) of counts y >= 0 and a split gains the decrease of half the
  /// Poisson deviance (forests' criterion='poisson') instead of the second-order gain.
  bool poisson_gain = false;

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
    check(std::isfinite(cat_smooth) && cat_smooth >= 0, "cat_smooth must be finite and >= 0");
    check(std::isfinite(cat_l2) && cat_l2 >= 0, "cat_l2 must be finite and >= 0");
    check(max_cat_threshold >= 1, "max_cat_threshold must be >= 1");
    check(max_cat_to_onehot >= 1, "max_cat_to_onehot must be >= 1");
    check(min_data_per_group >= 1, "min_data_per_group must be >= 1");
    for (std::int8_t m : monotone) check(m >= -1 && m <= 1, "monotone constraints must be -1, 0 or 1");
    for (const auto& group : interaction_groups)
      for (int f : group) check(f >= 0, "interaction groups must hold feature indices >= 0");
  }

  /// The monotone constraint of feature f (0 when there is none).
  int monotone_direction(int f) const { return monotone.empty() ? 0 : monotone[f]; }
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

/// What the trees of a forest or of AdaBoost fit, and how their splits are scored.
enum class TreeCriterion {
  kSquaredError,  ///< regression: leaves hold weighted means, gain = decrease of the weighted SSE
  kGini,          ///< classification: leaves hold class distributions, gain = Gini decrease x weight
  kEntropy,       ///< classification: same with the entropy in bits (scikit-learn's 'log_loss')
  kPoisson,       ///< regression of counts: leaves hold weighted means, gain = decrease of half Poisson deviance
  /// regression: leaves hold weighted medians, gain = decrease of sum w |y - median| (MedianGrower)
  kAbsoluteError,
};

/// Whether trees of this criterion hold a mean (one value) rather than class distributions.
inline bool is_regression(TreeCriterion criterion) {
  return criterion == TreeCriterion::kSquaredError || criterion == TreeCriterion::kPoisson ||
         criterion == TreeCriterion::kAbsoluteError;
}

inline TreeCriterion parse_tree_criterion(const std::string& name) {
  if (name == "squared_error") return TreeCriterion::kSquaredError;
  if (name == "gini") return TreeCriterion::kGini;
  if (name == "entropy" || name == "log_loss") return TreeCriterion::kEntropy;
  if (name == "poisson") return TreeCriterion::kPoisson;
  if (name == "absolute_error") return TreeCriterion::kAbsoluteError;
  throw std::invalid_argument("criterion must be 'squared_error', 'poisson', 'absolute_error', 'gini' or 'entropy', got '" +
                              name + "'");
}

inline const char* tree_criterion_name(TreeCriterion criterion) {
  switch (criterion) {
    case TreeCriterion::kSquaredError: return "squared_error";
    case TreeCriterion::kGini: return "gini";
    case TreeCriterion::kEntropy: return "entropy";
    case TreeCriterion::kPoisson: return "poisson";
    case TreeCriterion::kAbsoluteError: return "absolute_error";
  }
  return "";
}

/// Parameters of a random forest. The tree's own limits live in `tree`; min_child_weight,
/// min_split_gain and max_features of `tree` are ignored and derived per tree from the fields below.
struct ForestConfig {
  TreeCriterion criterion = TreeCriterion::kSquaredError;
  int n_classes = 0;                      ///< classes of the targets (>= 2) for gini/entropy; 0 for regression
  int n_targets = 1;                      ///< columns of y; with several, n_classes is the largest count of any
  bool bootstrap = true;                  ///< draw each tree's rows; false: every row with its sample weight
  bool with_replacement = true;           ///< bootstrap draws with replacement (scikit-learn), else a subsample
  std::int64_t n_samples_bootstrap = 0;   ///< rows drawn per tree; 0 = n_rows
  int max_features = 0;                   ///< candidate features drawn at every node; 0 = all
  double min_weight_fraction_leaf = 0.0;  ///< child weight >= this fraction of the tree's total weight
  double min_impurity_decrease = 0.0;     ///< split gain >= this times the tree's total weight (scikit-learn's N_t/N rule)
  double ccp_alpha = 0.0;                 ///< minimal cost-complexity pruning of each tree (scikit-learn's units)
  bool balanced_subsample = false;        ///< reweight classes to balance each tree's bootstrap sample
  std::uint64_t seed = 0;
  int n_threads = 1;
  TreeConfig tree;

  void validate() const {
    tree.validate();
    check(treeforge::is_regression(criterion) ? n_classes == 0 : n_classes >= 2,
          "n_classes must be >= 2 for a classification criterion and 0 for squared_error or poisson");
    check(n_targets >= 1, "n_targets must be >= 1");
    check(n_targets == 1 || criterion != TreeCriterion::kPoisson, "criterion='poisson' fits one target, not ",
          n_targets);
    check(n_targets == 1 || criterion != TreeCriterion::kAbsoluteError,
          "criterion='absolute_error' fits one target, not ", n_targets);
    check(n_targets == 1 || tree.monotone.empty(), "monotone constraints need one target, not ", n_targets);
    check(n_samples_bootstrap >= 0, "n_samples_bootstrap must be >= 0 (0 = n_rows)");
    check(max_features >= 0, "max_features must be >= 0 (0 = all features)");
    check(min_weight_fraction_leaf >= 0 && min_weight_fraction_leaf <= 0.5, "min_weight_fraction_leaf must be in [0, 0.5]");
    check(std::isfinite(min_impurity_decrease) && min_impurity_decrease >= 0,
          "min_impurity_decrease must be finite and >= 0");
    check(std::isfinite(ccp_alpha) && ccp_alpha >= 0, "ccp_alpha must be finite and >= 0");
    check(!balanced_subsample || (bootstrap && n_classes >= 2), "balanced_subsample needs bootstrap and classes");
    check(n_threads >= 1, "n_threads must be >= 1");
  }
};

/// Parameters of AdaBoost: SAMME for classes (gini/entropy trees), AdaBoost.R2 for regression
/// (squared-error trees). `tree` holds the base learner's limits (depth 1 and 3 by default in Python).
struct AdaBoostConfig {
  TreeCriterion criterion = TreeCriterion::kGini;
  int n_classes = 2;       ///< >= 2 for SAMME; 0 for AdaBoost.R2
  std::string loss = "linear";  ///< AdaBoost.R2's loss: "linear", "square" or "exponential"
  int n_estimators = 50;
  double learning_rate = 1.0;
  bool resample = false;   ///< fit each round on rows drawn from D_m with replacement instead of weights D_m
  std::uint64_t seed = 0;
  int n_threads = 1;
  TreeConfig tree;

  bool is_regression() const { return criterion == TreeCriterion::kSquaredError; }

  void validate() const {
    tree.validate();
    check(criterion != TreeCriterion::kPoisson && criterion != TreeCriterion::kAbsoluteError,
          "AdaBoost's trees take squared_error, gini or entropy, not ", tree_criterion_name(criterion));
    check(is_regression() ? n_classes == 0 : n_classes >= 2,
          "n_classes must be >= 2 for SAMME (gini/entropy) and 0 for AdaBoost.R2 (squared_error)");
    check(loss == "linear" || loss == "square" || loss == "exponential",
          "loss must be 'linear', 'square' or 'exponential', got '", loss, "'");
    check(n_estimators >= 1, "n_estimators must be >= 1");
    check(std::isfinite(learning_rate) && learning_rate > 0, "learning_rate must be finite and > 0");
    check(n_threads >= 1, "n_threads must be >= 1");
  }
};

}  // namespace treeforge
