// TreeFitter: one tree of a forest or of AdaBoost grown on weighted rows, with exact leaf values.
#pragma once

#include <cstdint>
#include <vector>

#include "data/binning.hpp"
#include "data/train_data.hpp"
#include "core/config.hpp"
#include "grow/criterion.hpp"
#include "grow/grower.hpp"
#include "grow/median_grower.hpp"
#include "learners/cost_complexity.hpp"
#include "learners/distributed_rows.hpp"
#include "model/tree.hpp"

namespace treeforge {

/// The labels of a forest's or AdaBoost's rows checked for the criterion's task: throws
/// std::invalid_argument unless X (binned by `mapper`) has rows and features and `data` fits
/// them. Returns the class indices (classification) or nothing (regression).
std::vector<std::int32_t> check_tree_data(const BinnedMatrix* X, const BinMapper& mapper, const TrainData& data,
                                          TreeCriterion criterion, int n_classes);

/// Limits of one tree that scale with its total weight W (scikit-learn's fractions of the
/// weighted sample).
struct TreeLimits {
  double min_weight_fraction_leaf = 0.0;  ///< min_child_weight = this * W
  double min_impurity_decrease = 0.0;     ///< min_split_gain = this * W
  double ccp_alpha = 0.0;                 ///< minimal cost-complexity pruning, in units of W (0: none)
};

/// Grows single trees for forests and AdaBoost: class distributions (Gini or entropy) or weighted
/// means (squared error, on targets centred by the tree's weighted mean so that the fixed-point
/// gradients keep their precision), or weighted medians (absolute error: MedianGrower, exact
/// from the rows). After growth, every leaf value is recomputed in double from
/// the leaf's rows, so leaves hold exactly scikit-learn's weighted proportions or means.
///
/// A row takes part in a tree when its weight is > 0 (scikit-learn's trees drop zero-weight rows
/// too); min_samples_leaf and min_samples_split count those distinct rows, as scikit-learn's
/// trees count samples with non-zero weight (a bootstrap multiplicity is a weight, not extra rows).
/// Holds one TreeGrower and O(n_rows) scratch: one fitter per thread; not thread-safe itself.
class TreeFitter {
 public:
  /// X and mapper must outlive the fitter. `config` gives the tree's shape limits; its
  /// min_child_weight and min_split_gain are replaced per tree from TreeLimits, and its
  /// max_features by `max_features`: the exact number of candidate features drawn at every node
  /// among the usable ones (0 = all). `distributed` (optional, outliving the fitter) makes X's
  /// rows this participant's share of a distributed fit: every participant grows the same trees
  /// (one target, squared error or classes, no pruning), calling `fit` in the same order, and
  /// the sums the tree needs beyond histograms (weights, means, leaf values) are added in global
  /// row order (RowOrderFold), so the tree is the single machine's to the bit.
  TreeFitter(const BinnedMatrix& X, const BinMapper& mapper, const TreeConfig& config, TreeCriterion criterion,
             int n_classes, int max_features, int n_threads, int n_targets = 1,
             const DistributedRows* distributed = nullptr);

  /// Grows a tree on the rows with weights[i] > 0 (weights (n_rows,), finite, >= 0, some > 0);
  /// `seed` drives the per-node feature draws. Leaf values, target after target: class
  /// distribution (n_classes values) of `classes` (check_tree_data's), or the weighted mean of y.
  Tree fit(const TrainData& data, Span<const std::int32_t> classes, Span<const double> weights,
           const TreeLimits& limits, std::uint64_t seed);

  /// leaf[i] = node of the last grown tree reached by row i, for every row of X (leaf (n_rows,)):
  /// read from the partition for rows of the tree, by a walk of the binned row for the others.
  void leaf_of_rows(const Tree& tree, Span<std::int32_t> leaf) const;

  int n_leaf_values() const { return (is_regression(criterion_) ? 1 : n_classes_) * n_targets_; }

 private:
  /// Grows the regression tree of several targets on the rows' weighted, centred and scaled targets.
  Tree grow_targets(const TrainData& data, Span<const double> weights, Span<const row_t> rows, TreeConfig& config,
                    std::uint64_t seed);
  void set_exact_leaf_values(const TrainData& data, Span<const std::int32_t> classes, Span<const double> weights,
                             Tree& tree) const;
  /// Per node of `tree` (stride n_leaf_values() + 1): a leaf's total weight, then its sums of
  /// w * y per target or of w per class of each target, over its rows in ascending row order
  /// (all participants' rows, on a distributed fit); zeros for internal nodes.
  std::vector<double> leaf_sums(const TrainData& data, Span<const std::int32_t> classes, Span<const double> weights,
                                const Tree& tree) const;
  /// A participant's tree of a distributed fit, one target: the weighted mean, scales and
  /// weights' range of every participant's rows, then growth with the reduction.
  Tree grow_distributed(const TrainData& data, Span<const std::int32_t> classes, Span<const double> weights,
                        double total, Span<const row_t> rows, TreeConfig& config, std::uint64_t seed);
  /// The sum over every participant's rows of body(i) for the rows with a positive weight, in
  /// global row order (body returns the row's term).
  template <class Term>
  double ordered_sum(Span<const double> weights, Term&& term) const;
  /// Every node's risk (W * impurity, the mean over targets) and exact value, from the rows of the
  /// leaves of the last tree.
  NodeRisks node_risks(const TrainData& data, Span<const std::int32_t> classes, Span<const double> weights,
                       const Tree& tree) const;

  static TreeConfig grower_config(const TreeConfig& config, int n_usable, int max_features);
  /// The last tree's leaves and the row order they index, from the grower that grew it.
  const std::vector<LeafRange>& leaf_ranges() const;
  const std::vector<row_t>& row_order() const;

  const BinnedMatrix& X_;
  const DistributedRows* distributed_;  // null on one machine
  RowOrderFold fold_;
  std::vector<int> usable_features_;  // features with at least two bins or missing values
  TreeConfig config_;
  TreeCriterion criterion_;
  int n_classes_;
  int n_targets_;
  TreeGrower grower_;
  MedianGrower median_grower_;
  std::vector<row_t> rows_;           // rows of the last tree (empty: all rows)
  std::vector<GradPair> gh_;          // squared error: per-row (-w (y - mean), w)
  std::vector<double> wr_;            // several targets: per row and target w (y - mean) / y_scale_
  std::vector<double> mean_y_;        // regression: the last tree's weighted mean of each target (Poisson: 0)
  bool pruned_ = false;               // the last tree was pruned: its leaves are not the partition's
  double y_scale_ = 1.0;              // squared error: the last tree's targets were divided by this power of two
};

}  // namespace treeforge
