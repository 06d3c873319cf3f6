// AdaBoostTrainer: SAMME (multi-class) and AdaBoost.R2 on the histogram grower, with weighted resampling in the loop.
#pragma once

#include <memory>
#include <vector>

#include "data/binning.hpp"
#include "core/config.hpp"
#include "model/model.hpp"
#include "learners/tree_fitter.hpp"

namespace treeforge {

/// Why the boosting loop ended (scikit-learn's rules, BaseWeightBoosting.fit and _boost).
enum class AdaBoostStop {
  kCompleted,         ///< n_estimators rounds ran
  kPerfect,           ///< a round had zero weighted error: kept with weight 1, then stop
  kWorseThanChance,   ///< error >= 1 - 1/K (SAMME) or >= 0.5 (R2): that round's tree is dropped
  kWeightOverflow,    ///< the sample weights summed to infinity or NaN (scikit-learn warns)
  kZeroWeights,       ///< the sample weights summed to 0
};

/// The stop's name: "completed", "perfect", "worse_than_chance", "weight_overflow", "zero_weights".
inline const char* adaboost_stop_name(AdaBoostStop stop) {
  switch (stop) {
    case AdaBoostStop::kCompleted: return "completed";
    case AdaBoostStop::kPerfect: return "perfect";
    case AdaBoostStop::kWorseThanChance: return "worse_than_chance";
    case AdaBoostStop::kWeightOverflow: return "weight_overflow";
    case AdaBoostStop::kZeroWeights: return "zero_weights";
  }
  return "";
}

/// Runs every AdaBoost round in C++: grow a tree on the round's weights D_m (or on rows drawn from
/// D_m with replacement), predict every training row from the grower's partition, compute the
/// weighted error, the estimator weight and the new D_{m+1}.
///
/// SAMME (Zhu et al. 2009): alpha_m = learning_rate * (log((1 - e_m) / e_m) + log(K - 1)); rows
/// the tree misclassifies are multiplied by exp(alpha_m). Each tree's nodes then hold alpha_m at
/// the predicted class and -alpha_m / (K - 1) elsewhere, so the model's sum over trees is
/// scikit-learn's decision_function times the sum of the estimator weights.
/// AdaBoost.R2 (Drucker 1997): errors |y_hat - y| scaled by their maximum, then linear, squared or
/// 1 - exp(-x); beta_m = e_m / (1 - e_m), alpha_m = learning_rate * log(1 / beta_m),
/// D_i *= beta_m^((1 - err_i) * learning_rate); the model is the alpha-weighted median of the trees.
/// Round m draws from the stream (seed, m), so a run is bit-identical for any n_threads. Holds
/// shared ownership of the mapper and the binned data; not thread-safe: one caller at a time.
class AdaBoostTrainer {
 public:
  /// `train` was binned by `mapper`; data's weights are the initial sample weights (not all 0).
  AdaBoostTrainer(const AdaBoostConfig& config, std::shared_ptr<const BinMapper> mapper,
                  std::shared_ptr<const BinnedMatrix> train, TrainData data);

  /// Runs the rounds (at most n_estimators, in one call). Throws std::invalid_argument when the
  /// first SAMME tree is already worse than chance (scikit-learn raises too).
  void fit();
  /// Runs at most n_rounds more rounds; returns whether boosting goes on (rounds left and no
  /// stop). The caller checks for interrupts between calls; the rounds are the ones fit() runs.
  bool fit_rounds(int n_rounds);

  /// Trees kept so far (a dropped round's tree is not among them).
  int n_trees() const { return static_cast<int>(trees_.size()); }
  int n_estimators() const { return config_.n_estimators; }
  /// (n_estimators,) alpha_m per round; 0 for rounds that did not run or were dropped.
  const std::vector<double>& estimator_weights() const { return estimator_weights_; }
  /// (n_estimators,) weighted error per round; 1 for rounds that did not run or were dropped.
  const std::vector<double>& estimator_errors() const { return estimator_errors_; }
  AdaBoostStop stop_reason() const { return stop_; }

  /// The boosted model: sum of SAMME vectors, or the weighted median of the R2 trees.
  Model model() const;

 private:
  /// One round; returns false when boosting stops.
  bool round(int m, TreeFitter& fitter);
  /// Round m's tree, grown on the clipped weights D_m (or on rows drawn from them).
  Tree fit_round_tree(int m, TreeFitter& fitter);
  /// The round's error and estimator weight alpha from its tree, the tree's leaves turned into
  /// SAMME votes, and the boosted sample weights; false (stop_ set) when the tree is worse than
  /// chance and boosting stops. R2: the same with AdaBoost.R2's loss and weights.
  bool samme_update(Tree& tree, const std::vector<std::int32_t>& leaf, bool last, double& alpha, double& error);
  bool r2_update(Tree& tree, const std::vector<std::int32_t>& leaf, bool last, double& alpha, double& error);
  /// Weighted error of round m's tree from every row's leaf, and err (n_rows,) per row (R2).
  double samme_error(const Tree& tree, const std::vector<std::int32_t>& leaf, std::vector<int>& node_class,
                     std::vector<std::uint8_t>& incorrect) const;
  double r2_error(const Tree& tree, const std::vector<std::int32_t>& leaf, std::vector<double>& err) const;

  AdaBoostConfig config_;
  std::shared_ptr<const BinMapper> mapper_;
  std::shared_ptr<const BinnedMatrix> train_;
  TrainData data_;
  std::vector<std::int32_t> classes_;  ///< the rows' class indices (classification)
  std::unique_ptr<TreeFitter> fitter_;  ///< the rounds' tree fitter, kept between fit_rounds calls
  int next_round_ = 0;
  bool finished_ = false;
  std::vector<double> sample_weight_;   // D_m, normalised to sum 1
  std::vector<std::uint8_t> is_zero_;   // rows whose initial weight is 0 stay at 0
  std::vector<Tree> trees_;
  std::vector<double> tree_weights_;    // alpha of each kept tree
  std::vector<double> estimator_weights_;
  std::vector<double> estimator_errors_;
  AdaBoostStop stop_ = AdaBoostStop::kCompleted;
};

}  // namespace treeforge
