// Model: a trained ensemble (bin edges, trees, objective, base score, tree weights) and its flat-array form, validated on load.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/binning.hpp"
#include "model/model_arrays.hpp"
#include "objectives/objective.hpp"
#include "model/predictor.hpp"
#include "model/tree.hpp"

namespace treeforge {

/// How tree outputs combine into the margin.
enum class Aggregation {
  kSum,             ///< boosting, SAMME: base score + sum of trees
  kMean,            ///< forests: mean of trees
  kWeightedMedian,  ///< AdaBoost.R2: base score + median of the trees' outputs weighted by tree_weights
};

/// Objectives of ensembles that are not fitted to a loss by gradients: their leaves hold
/// predictions (forests: class distributions or means; AdaBoost: SAMME votes or values).
/// Each fixes its aggregation and output layout; model files name them like boosting objectives.
///   "forest_regression"      mean,            n_outputs = leaf_dim = 1
///   "forest_classification"  mean,            n_outputs = leaf_dim = n_classes
///   "adaboost_samme"         sum,             n_outputs = leaf_dim = n_classes
///   "adaboost_r2"            weighted_median, n_outputs 1
/// A forest of T >= 2 targets (columns of y) adds ":T": n_outputs = leaf_dim = T (regression), or
/// T * K (classification: each target's distribution over K classes, the largest count of any
/// target, a target with fewer classes padded with zero shares).
bool is_ensemble_objective(const std::string& objective);

/// The forest objective of one or several targets ("forest_classification:3").
std::string forest_objective(bool classification, int n_targets);
/// The targets of a forest objective (1 without ":T"), 0 for any other name or a malformed T.
int forest_targets(const std::string& objective);
/// Whether the objective is a forest classification's, of any number of targets.
bool is_forest_classification(const std::string& objective);

/// A trained ensemble. Immutable once built; every const method is thread-safe.
class Model {
 public:
  /// tree_weights: (n_trees,) or empty (all 1); only the weighted median reads them.
  Model(std::string objective, int n_outputs, int leaf_dim, Aggregation aggregation, std::vector<double> base_score,
        std::shared_ptr<const BinMapper> mapper, std::vector<Tree> trees, std::vector<double> tree_weights = {});

  /// Rebuilds a model from arrays, checking every field and index first; throws
  /// std::invalid_argument naming the first problem, so a hostile file cannot index out of range.
  static Model from_arrays(const ModelArrays& arrays);
  ModelArrays to_arrays() const;

  const std::string& objective() const { return objective_; }
  int n_features() const { return mapper_->n_features(); }
  int n_outputs() const { return n_outputs_; }
  int leaf_dim() const { return leaf_dim_; }
  int trees_per_iteration() const { return leaf_dim_ == 1 ? n_outputs_ : 1; }
  int n_trees() const { return static_cast<int>(trees_.size()); }
  int n_iter() const { return n_trees() / trees_per_iteration(); }
  Aggregation aggregation() const { return aggregation_; }
  const std::vector<double>& base_score() const { return base_score_; }
  const std::vector<Tree>& trees() const { return trees_; }
  const std::vector<double>& tree_weights() const { return tree_weights_; }
  const std::shared_ptr<const BinMapper>& bin_mapper() const { return mapper_; }

  /// out (n_rows, n_outputs) row-major = margin of iterations [iter_begin, iter_end); the base score
  /// is added only when iter_begin == 0. Sum, mean, or weighted median of those trees by aggregation.
  template <class T>
  void predict_margin(MatrixView<const T> X, int iter_begin, int iter_end, Span<double> out, int n_threads) const;

  /// out (n_rows, n_trees) leaf index of each row in each tree.
  template <class T>
  void predict_leaf(MatrixView<const T> X, Span<std::int32_t> out, int n_threads) const;

  /// The same from sparse rows: each block of rows is made dense over the features the trees
  /// split on only (on_features), so memory follows the model, not X's columns.
  template <class T>
  void predict_margin(CsrView<const T> X, int iter_begin, int iter_end, Span<double> out, int n_threads) const;
  template <class T>
  void predict_leaf(CsrView<const T> X, Span<std::int32_t> out, int n_threads) const;

  /// The features any tree splits on, ascending (at least one: feature 0 when none).
  std::vector<int> split_features() const;
  /// This model on `features` (ascending, holding every feature a tree splits on) renumbered
  /// 0, 1, ...: the same predictions from X[:, features].
  Model on_features(const std::vector<int>& features) const;

  /// (n_features,) total split gain per feature.
  std::vector<double> feature_importances() const;

  /// (n_trees * n_features,) row-major: each tree's split gain per feature divided by the tree's
  /// total gain (a row of zeros for a tree without split): scikit-learn's tree.feature_importances_,
  /// which forests average and AdaBoost weighs by the estimator weights.
  std::vector<double> tree_feature_importances() const;

 private:
  std::string objective_;
  int n_outputs_;
  int leaf_dim_;
  Aggregation aggregation_;
  std::vector<double> base_score_;
  std::shared_ptr<const BinMapper> mapper_;
  std::vector<Tree> trees_;
  std::vector<double> tree_weights_;
  Predictor predictor_;

  /// Calls fn(compact, block, lo) for blocks of X's rows [lo, lo + block.n_rows) made dense over
  /// the features the trees split on, with compact this model on those features (on_features).
  template <class T, class Fn>
  void for_compact_blocks(CsrView<const T> X, Fn&& fn) const;

  template <class T>
  void add_weighted_median(MatrixView<const T> X, std::size_t tree_begin, std::size_t tree_end, Span<double> out,
                           int n_threads) const;
};

}  // namespace treeforge
