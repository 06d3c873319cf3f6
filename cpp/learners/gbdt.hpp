// GbdtTrainer: the boosting loop, one iteration per call: gradients, sampling, growth, shrinkage, margin updates.
#pragma once

#include <memory>
#include <vector>

#include "data/binning.hpp"
#include "data/train_data.hpp"
#include "core/config.hpp"
#include "grow/grower.hpp"
#include "grow/histogram_reduction.hpp"
#include "learners/distributed_rows.hpp"
#include "model/model.hpp"
#include "objectives/objective.hpp"

namespace treeforge {

/// Gradient boosting driven one iteration at a time (the caller checks for interrupts, early
/// stopping and progress between calls).
///
/// Random streams derive from (seed, iteration, output), never from threads, and every sum is
/// either integer (histograms) or reduced in fixed blocks, so a run is bit-identical for any
/// n_threads. Not thread-safe: one caller at a time.
class GbdtTrainer {
 public:
  /// `train` was binned by `mapper`; `valid` (optional, may be null) too. `init_model` (optional)
  /// continues training: its trees are kept and the margins start from its predictions. A base
  /// margin in the data replaces the base score as the rows' starting margin (the model's base
  /// score is then 0: a prediction adds the user's margins back, as XGBoost's base_margin).
  /// `base_score` (optional: one per output) replaces the objective's starting point, for
  /// gradients given by the caller. `distributed` (optional) makes `train` this participant's
  /// rows of a distributed fit, which must give the base score (the global one), and has no
  /// validation data or leaf renewals yet (#26); with query groups, it holds whole queries.
  GbdtTrainer(const GbdtConfig& config, std::shared_ptr<const BinMapper> mapper,
              std::shared_ptr<const BinnedMatrix> train, TrainData train_data,
              std::shared_ptr<const BinnedMatrix> valid, TrainData valid_data, const Model* init_model,
              std::vector<double> base_score = {}, DistributedRows distributed = {});

  /// Grows one iteration: n_outputs trees for multiclass, else one, on the objective's gradients.
  void update();
  /// The same on the caller's gradients and hessians (a custom loss), output-major like the
  /// margins; weights are the caller's to apply. The objective then only names the link.
  void update(Span<const double> grad, Span<const double> hess);
  /// The shrinkage of the iterations to come (a learning-rate schedule).
  void set_learning_rate(double learning_rate);

  /// The model, built after the training state (binned rows, targets, gradients, margins,
  /// scratch) is released, so that the end of a fit needs no more memory than its iterations.
  /// Afterwards only model() and n_iter() remain usable.
  Model finish();

  int n_outputs() const { return config_.n_outputs; }
  int n_iter() const { return static_cast<int>(trees_.size()) / config_.n_outputs; }
  double train_loss() const;
  double valid_loss() const;
  /// Margins, output-major (k * n_rows + i).
  const std::vector<double>& train_margin() const {
    check_open();
    return train_margin_;
  }
  const std::vector<double>& valid_margin() const {
    check_open();
    return valid_margin_;
  }
  bool has_valid() const { return valid_ != nullptr; }

  /// The model trained so far.
  Model model() const;

 private:
  /// margin += the tree's values for X's rows: from the leaf ranges of the grower's partition when
  /// `grown_by` grew it on every row of X, else by traversal.
  /// The starting margins of X's rows: base margins or base score, plus the trees so far.
  std::vector<double> initial_margin(const BinnedMatrix& X, const TrainData& data);
  void add_tree_to_margin(const Tree& tree, const BinnedMatrix& X, double* margin, const TreeGrower* grown_by,
                          int n_threads);
  /// Grows output c's tree of an iteration on `grower` and adds it to the margins.
  Tree grow_output(TreeGrower& grower, int c, std::uint64_t iteration, Span<const row_t> rows, int n_threads);
  /// Replaces the leaf values of `tree`, just grown by `grower` for output c, by the objective's
  /// renewed values for each leaf's rows at the margins before the tree (absolute error, quantile).
  void renew_leaf_values(Tree& tree, const TreeGrower& grower, int c, int n_threads) const;
  /// Grows the iteration's trees on gh_ (the gradients just set).
  void grow_iteration();
  /// The rows of this iteration's subsample, all rows (empty) without one; whole queries when the
  /// data has query groups.
  std::vector<row_t> draw_rows(std::uint64_t iteration) const;
  /// The ids of a global draw (rows, or queries) this participant holds (`ids`: its global ids of
  /// them), as its own numbers of them.
  std::vector<row_t> own_ids(const std::vector<row_t>& drawn, const std::vector<std::int64_t>& ids,
                             std::uint64_t iteration) const;
  void check_distributed() const;
  void check_open() const {
    check(grower_ != nullptr, "the booster was finished: its training state is released");
    check(!update_failed_, "an update was interrupted or failed, leaving margins of a partial iteration: the "
          "booster cannot continue (its model() holds the complete iterations)");
  }

  GbdtConfig config_;
  DistributedRows distributed_;
  bool update_failed_ = false;  // set while an update runs: an exception leaves it set
  std::unique_ptr<Objective> objective_;
  std::shared_ptr<const BinMapper> mapper_;
  std::shared_ptr<const BinnedMatrix> train_;
  std::shared_ptr<const BinnedMatrix> valid_;
  TrainData train_data_;
  TrainData valid_data_;
  std::vector<double> base_score_;
  std::vector<Tree> trees_;
  std::vector<double> train_margin_;
  std::vector<double> valid_margin_;
  std::vector<GradPair> gh_;
  std::vector<int> usable_features_;
  std::unique_ptr<TreeGrower> grower_;  ///< on all threads; null once finished
  /// One-thread growers, one per thread, for multiclass trees grown side by side (made on first use).
  std::vector<std::unique_ptr<TreeGrower>> solo_growers_;
};

}  // namespace treeforge
