// ForestTrainer: random forests on the histogram grower: per-tree bootstrap, per-node feature draws, out-of-bag estimates.
#pragma once

#include <memory>
#include <vector>

#include "data/binning.hpp"
#include "core/config.hpp"
#include "model/model.hpp"
#include "core/random.hpp"
#include "learners/distributed_rows.hpp"
#include "learners/tree_fitter.hpp"

namespace treeforge {

/// counts (n_rows,) = draws of each row in the bag of forest tree `tree` (1 for every row without
/// bootstrap), from the stream (config.seed, tree) alone. `weights` (n_rows,) are the sampling
/// weights, or empty for uniform draws; `sampler` is their alias table, built here when null.
void draw_bag_counts(const ForestConfig& config, Span<const double> weights, const AliasTable* sampler,
                     std::size_t tree, Span<std::uint32_t> counts);

/// Trains a random forest a batch of trees at a time (the caller checks for interrupts and
/// prints progress between batches).
///
/// Tree t (counted over the whole forest, warm-started trees included) draws its bootstrap
/// sample and its per-node feature subsets from streams derived from (seed, t) only. Trees are
/// grown in parallel, one single-threaded TreeFitter per thread, each tree written into its own
/// slot; so the forest is bit-identical for any n_threads and for any batching of the calls.
///
/// Bootstrap (scikit-learn >= 1.6): n_samples_bootstrap rows drawn with replacement, uniformly or,
/// with sample weights, with probability proportional to the weight; the tree is then fitted with
/// the draw counts as weights (times the per-class balancing of the sample for
/// balanced_subsample). Without bootstrap every tree sees every row with its sample weight.
/// Not thread-safe: one caller at a time.
class ForestTrainer {
 public:
  /// `train` was binned by `mapper`. `init_model` (optional) continues a forest (warm start): its
  /// trees are kept and new trees are numbered after them. `distributed` (optional) makes
  /// `train` this participant's rows of a distributed fit (#26): bags are drawn over the global
  /// row ids, from `sampling_weights` (every global row's sample weight, for a weighted
  /// bootstrap; empty: uniform draws), each participant taking its rows' counts; trees grow one
  /// after the other (TreeFitter's distributed mode), one target by squared error, gini or
  /// entropy, without pruning, balanced_subsample or warm start; out-of-bag sums are of this
  /// participant's rows.
  ForestTrainer(const ForestConfig& config, std::shared_ptr<const BinMapper> mapper,
                std::shared_ptr<const BinnedMatrix> train, TrainData data, const Model* init_model,
                DistributedRows distributed = {}, std::vector<double> sampling_weights = {});

  /// Grows n_new more trees.
  void grow(int n_new);

  /// Trees grown so far, warm-started ones included.
  int n_trees() const { return static_cast<int>(trees_.size()); }
  /// Training rows.
  std::size_t n_rows() const { return train_->n_rows; }
  /// Number of model outputs: n_classes (classification) or 1 (regression) per target.
  int n_outputs() const { return (config_.n_classes > 0 ? config_.n_classes : 1) * config_.n_targets; }

  /// counts (n_rows,) = draws of each row in the bootstrap sample of tree `tree` (1 for every row
  /// without bootstrap); regenerated from the seed, so they also exist for warm-started trees.
  void bag_counts(int tree, Span<std::uint32_t> counts) const;

  /// Out-of-bag estimate over all trees: sums (n_rows, n_outputs) row-major = sum over the trees
  /// for which the row is out of bag of that tree's output (class distribution or value);
  /// n_trees_oob (n_rows,) = the number of such trees. Summed per row in tree order, so the
  /// result does not depend on n_threads.
  void oob_sums(Span<double> sums, Span<std::int32_t> n_trees_oob) const;

  /// The forest so far: the mean of its trees.
  Model model() const;

 private:
  /// Fills the fitting weights of tree `tree` (weights (n_rows,)) and returns its bag counts in `counts`.
  void tree_weights(std::size_t tree, Span<std::uint32_t> counts, Span<double> weights) const;
  std::string objective() const;

  ForestConfig config_;
  std::shared_ptr<const BinMapper> mapper_;
  std::shared_ptr<const BinnedMatrix> train_;
  TrainData data_;
  std::vector<std::int32_t> classes_;  ///< the rows' class indices (classification)
  std::unique_ptr<AliasTable> sampler_;  // weighted bootstrap; null for uniform draws
  DistributedRows distributed_;          // no reduction: one machine
  std::vector<double> sampling_weights_;  // a distributed fit's global sample weights (empty: uniform)
  std::vector<Tree> trees_;
};

}  // namespace treeforge
