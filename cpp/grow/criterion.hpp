// Criteria: what a histogram slot accumulates per row, how a node's sums become leaf values, and how a split is scored.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "core/common.hpp"
#include "core/config.hpp"
#include "grow/constraints.hpp"
#include "model/split.hpp"

namespace treeforge {

/// Fixed-point sums of a node or a histogram slot: n_channels() int64 values of one criterion.
///
/// Integer sums are exact and independent of the order of addition, so a histogram built by any
/// number of threads, in any split of the rows, is bit-identical, and the subtraction trick
/// (sibling = parent - child) loses nothing.
using Sums = std::vector<std::int64_t>;

/// Best split of one feature: rows with code <= bin (numeric) or a category in `categories`
/// (set) go left, missing ones left iff default_left.
/// The gain of a candidate split that a constraint forbids (below every admissible gain).
constexpr double kForbiddenGain = -std::numeric_limits<double>::infinity();

struct ScanResult {
  double gain = 0.0;
  int bin = -1;  ///< -1: no admissible split (a set split has bin 0)
  bool default_left = false;
  std::int64_t left_count = 0;  ///< rows sent left, missing ones included when default_left
  SplitKind kind = SplitKind::kNumeric;
  CategoryBits categories;
  double extra_l2 = 0.0;  ///< added to lambda in the children's leaf values (cat_l2 of many-vs-many sets)
};

/// The largest power of two s with n * max_abs * s <= 2^bits (1 if max_abs is 0 or not finite):
/// the fixed-point scale under which no sum of n values of magnitude <= max_abs overflows.
double power_of_two_scale(double max_abs, std::size_t n, int bits = 62);

/// A non-negative fixed-point quantity with the row count packed below it: each row adds
/// (q << bits) + 1, so one integer sum carries both exactly while every count stays below 2^bits.
/// Packing makes a gradient slot 16 bytes and a class slot one channel per class.
struct CountPacking {
  int bits = 1;

  /// Enough bits for the row count of any node out of n rows.
  static CountPacking for_rows(std::size_t n);
  std::int64_t pack(std::int64_t q) const { return (q << bits) + 1; }
  std::int64_t value(std::int64_t packed) const { return packed >> bits; }
  std::int64_t count(std::int64_t packed) const { return packed & ((std::int64_t{1} << bits) - 1); }
};

/// What fixes a tree's gradient scales: the largest |gradient| and hessian, the smallest hessian
/// and the row count. Participants holding parts of the rows merge their ranges (max, min and
/// sum are exact and order-free), so all quantise with the same global scales.
struct GradRange {
  double max_abs_grad = 0.0;
  double max_hess = 0.0;
  double min_hess = 0.0;
  std::size_t n_rows = 0;
  bool finite = true;  ///< every gradient and hessian is finite (max and min skip NaN)

  /// The range of the given rows' gradients (all rows if `rows` is empty).
  static GradRange of(Span<const GradPair> gh, Span<const row_t> rows, int n_threads);
  void merge(const GradRange& other);
};

/// Fixed-point scales of one tree's gradients: q = trunc(g * grad_scale), and the hessian
/// round(h * hess_scale) packed with the row count.
///
/// The scales are the largest powers of two for which no partial sum can overflow (|sum| < 2^62,
/// the count in its own bits): with 10^6 rows a gradient keeps about 42 bits of precision relative
/// to the largest one and a hessian about 22, against the 24 bits of the float it is stored in.
struct GradScale {
  double grad_scale = 1.0;
  double hess_scale = 1.0;
  CountPacking packing;

  /// Scales for the gradients of every participant's rows; throws on a negative hessian.
  static GradScale of(const GradRange& range);
  /// Scales for gradients of the given rows (all rows if `rows` is empty): the ranges of the row
  /// shards (RowShards) merged, the sync step of scales.
  static GradScale fit(Span<const GradPair> gh, Span<const row_t> rows, int n_threads);

  double grad(std::int64_t q) const { return static_cast<double>(q) / grad_scale; }
  /// The hessian sum of a packed hessian-and-count value.
  double hess(std::int64_t packed) const { return static_cast<double>(packing.value(packed)) / hess_scale; }
};

/// Second-order boosting statistics (also squared-error forests): slot = {sum_grad, sum_hess and count
/// packed as in GradScale}.
/// Leaf value -T_alpha(G) / (H + lambda); split gain as in split_math.hpp. Immutable, thread-safe.
class GradientCriterion {
 public:
  static constexpr int kChannels = 2;

  /// gh (n_rows,) per-row gradients of the tree; scale fitted on the rows being grown.
  GradientCriterion(Span<const GradPair> gh, const GradScale& scale, const TreeConfig& config);

  int n_channels() const { return kChannels; }
  int leaf_dim() const { return 1; }
  /// slot += the row's statistics (kSign = 1), or -= them (kSign = -1).
  template <int kSign = 1>
  void add(std::int64_t* slot, row_t row) const {
    const GradPair p = gh_[row];
    slot[0] += kSign * static_cast<std::int64_t>(static_cast<double>(p.grad) * scale_.grad_scale);
    slot[1] += kSign * scale_.packing.pack(static_cast<std::int64_t>(static_cast<double>(p.hess) * scale_.hess_scale + 0.5));
  }
  void prefetch_row(row_t row) const { prefetch(gh_.data + row); }
  std::int64_t count(const std::int64_t* sums) const { return scale_.packing.count(sums[1]); }
  double cover(const std::int64_t* sums) const { return scale_.hess(sums[1]); }
  bool may_split(const std::int64_t* sums) const;
  /// Leaf value of a node with these sums; extra_l2 is added to lambda (children of a set split).
  void leaf_value(const std::int64_t* sums, double* out, double extra_l2 = 0.0) const;
  /// Best threshold over a feature's n_bins value slots followed by its missing slot.
  ScanResult scan(const std::int64_t* slots, int n_bins, const std::int64_t* total) const;
  /// scan() one threshold at a time, its result to the bit: for a few slots, where scan()'s
  /// passes over stack arrays cost more than the thresholds (small nodes, features of few bins).
  ScanResult scan_few(const std::int64_t* slots, int n_bins, const std::int64_t* total) const;
  /// Slots up to which scan_few is the cheaper.
  static constexpr int kFewSlots = 16;
  /// scan() under constraints (constraints.hpp): the children's values held within `bounds`
  /// and, for a feature of monotone `direction` (+1 or -1), in that order; gains from the values
  /// held (a leaf held off its optimum gains less).
  ScanResult scan_bounded(const std::int64_t* slots, int n_bins, const std::int64_t* total,
                          const ValueBounds& bounds, int direction) const;
  /// scan() with the gain of half the Poisson deviance (config.poisson_gain): gradients are
  /// -w y, so a side's sum of counts is minus its gradient sum; a side whose counts sum to 0 is
  /// not taken (its mean would be 0, scikit-learn's rule).
  ScanResult scan_poisson(const std::int64_t* slots, int n_bins, const std::int64_t* total) const;
  const TreeConfig& config() const { return config_; }
  /// The value monotone constraints order (the leaf value), and a leaf value held within bounds.
  double constrained_value(const double* value) const { return value[0]; }
  void clamp_value(double* value, const ValueBounds& bounds) const { value[0] = bounds.clamp(value[0]); }
  /// Set splits of a categorical feature's n_bins category slots and missing slot (category_scan.hpp).
  ScanResult scan_categories(const std::int64_t* slots, int n_bins, const std::int64_t* total) const;
  /// Orders of a node's categories whose prefixes are the candidate sets: how many, and the key of
  /// a category's slot in order `order` (categories are sorted by it, ascending).
  int n_category_orders() const;
  double category_key(const std::int64_t* slot, int order) const;
  /// Gain of sending the rows of `left` left (real units), the children paying extra_l2 more;
  /// -inf when a constraint forbids it.
  double set_gain(const std::int64_t* left, const std::int64_t* total, double extra_l2) const;

 private:
  /// Gradient and hessian sums of the two sides of a candidate split, in real units.
  struct Sides {
    double g_left, h_left, g_right, h_right;
  };
  /// The sides of sending the sums `left` of a node with sums `total` left; false when
  /// min_samples_leaf or min_child_weight forbids the split. The one-at-a-time scans share it.
  bool admissible(const std::int64_t* left, const std::int64_t* total, Sides& sides) const;

  Span<const GradPair> gh_;
  GradScale scale_;
  const TreeConfig& config_;
  // Scans run in fixed-point units: constraints become integer comparisons and one factor
  // converts gains back (see scan()).
  std::int64_t min_hess_q_;
  double lambda_q_;
  double alpha_q_;
  double gain_factor_;
};

/// Class statistics of classification trees (forests, AdaBoost): slot = K channels per target,
/// channel t K + c holding the weight of target t's class c packed with its row count
/// (CountPacking); a forest with several targets (columns of y) has T of them, each row adding
/// to one channel per target, so every target's channels sum to the same weight and count.
/// Leaf values are the class distributions, target after target; split gain is the decrease of
/// the weighted Gini or entropy (in bits) impurity, times the node weight (scikit-learn's
/// impurity improvement * N), averaged over the targets as scikit-learn does.
class ClassCriterion {
 public:
  enum class Impurity { kGini, kEntropy };

  /// classes (n_rows,) class index per row; weights (n_rows,) per-row weight of the tree (0 = unused).
  ClassCriterion(Span<const std::int32_t> classes, Span<const double> weights, int n_classes, Impurity impurity,
                 const TreeConfig& config)
      : ClassCriterion(classes, weights, n_classes, impurity, config, 1) {}
  /// The weights' scale of a distributed fit's rows: n_rows rows of all participants, the
  /// largest weight among them `max_weight` (one machine's scale of the same rows).
  struct WeightRange {
    std::size_t n_rows;
    double max_weight;
  };
  ClassCriterion(Span<const std::int32_t> classes, Span<const double> weights, int n_classes, Impurity impurity,
                 const TreeConfig& config, const WeightRange& all_rows)
      : ClassCriterion(classes, weights, n_classes, impurity, config, 1, &all_rows) {}

  int n_channels() const { return n_channels_; }
  int leaf_dim() const { return n_channels_; }
  /// One target (TargetClassesCriterion adds a row to every target's channels): the hot loop of
  /// every histogram build, kept to one add.
  template <int kSign = 1>
  void add(std::int64_t* slot, row_t row) const {
    slot[classes_[row]] += kSign * packed_[row];
  }
  void prefetch_row(row_t row) const {
    prefetch(classes_.data + row);
    prefetch(packed_.data() + row);
  }
  std::int64_t count(const std::int64_t* sums) const;
  double cover(const std::int64_t* sums) const;
  bool may_split(const std::int64_t* sums) const;
  /// The class distributions (no regularisation: extra_l2 is ignored).
  void leaf_value(const std::int64_t* sums, double* out, double extra_l2 = 0.0) const;
  ScanResult scan(const std::int64_t* slots, int n_bins, const std::int64_t* total) const;
  /// scan() under constraints, two classes of one target only: the share of class 1 in each child
  /// within `bounds` and, for a feature of monotone `direction`, in that order (scikit-learn's
  /// rule: splits that break them are not taken; gains are the impurity decrease as always).
  ScanResult scan_bounded(const std::int64_t* slots, int n_bins, const std::int64_t* total,
                          const ValueBounds& bounds, int direction) const;
  const TreeConfig& config() const { return config_; }
  /// Monotone constraints order the share of class 1 (two classes); a distribution held within bounds.
  double constrained_value(const double* value) const { return value[1]; }
  void clamp_value(double* value, const ValueBounds& bounds) const {
    value[1] = bounds.clamp(value[1]);
    value[0] = 1.0 - value[1];
  }
  /// Set splits of a categorical feature's n_bins category slots and missing slot (category_scan.hpp).
  ScanResult scan_categories(const std::int64_t* slots, int n_bins, const std::int64_t* total) const;
  /// Orders of a node's categories whose prefixes are the candidate sets: how many, and the key of
  /// a category's slot in order `order` (categories are sorted by it, ascending).
  int n_category_orders() const;
  double category_key(const std::int64_t* slot, int order) const;
  /// Gain of sending the rows of `left` left (real units), the children paying extra_l2 more;
  /// -inf when a constraint forbids it.
  double set_gain(const std::int64_t* left, const std::int64_t* total, double extra_l2) const;

 protected:
  /// classes (n_rows * n_targets,) row-major class indices; n_classes: the most classes of any target.
  /// `all_rows` (optional): the scale of a distributed fit's rows; else these rows' (row shards merged).
  ClassCriterion(Span<const std::int32_t> classes, Span<const double> weights, int n_classes, Impurity impurity,
                 const TreeConfig& config, int n_targets, const WeightRange* all_rows = nullptr);

  /// W * impurity of a node with class weights w (real units, K per target): the mean over targets.
  double weighted_impurity(const double* w) const;
  /// W * impurity of one target's class weights w[0..K-1].
  double target_impurity(const double* w) const;
  double weight(std::int64_t packed) const { return static_cast<double>(packing_.value(packed)) / weight_scale_; }
  /// Quantised weight of all classes of a node.
  std::int64_t total_weight_q(const std::int64_t* sums) const;

  Span<const std::int32_t> classes_;
  std::vector<std::int64_t> packed_;  ///< (n_rows,) each row's quantised weight, packed
  double weight_scale_ = 1.0;
  CountPacking packing_;
  int k_;           ///< classes per target
  int n_targets_;
  int n_channels_;  ///< k_ * n_targets_
  Impurity impurity_;
  const TreeConfig& config_;
};

/// ClassCriterion of several targets (forests fitted to y of several columns): each row adds its
/// weight to one class channel of every target. A class of its own so that the one-target add
/// stays a single instruction sequence.
class TargetClassesCriterion : public ClassCriterion {
 public:
  TargetClassesCriterion(Span<const std::int32_t> classes, Span<const double> weights, int n_classes, int n_targets,
                         Impurity impurity, const TreeConfig& config)
      : ClassCriterion(classes, weights, n_classes, impurity, config, n_targets) {}

  template <int kSign = 1>
  void add(std::int64_t* slot, row_t row) const {
    const std::int32_t* c = classes_.data + static_cast<std::size_t>(row) * n_targets_;
    for (int t = 0; t < n_targets_; ++t) slot[t * k_ + c[t]] += kSign * packed_[row];
  }
  void prefetch_row(row_t row) const {
    prefetch(classes_.data + static_cast<std::size_t>(row) * n_targets_);
    prefetch(packed_.data() + row);
  }
};

/// Statistics of regression trees of several targets (forests fitted to y of T columns): slot = T
/// channels, channel t the fixed-point sum of the rows' w * r_t (r_t: target t centred on the
/// tree's weighted mean, all targets divided by one power of two; each channel with its own
/// scale), then the weight packed with the row count. Leaf values: each target's weighted mean of
/// r_t; split gain: the decrease of the weighted squared error summed over the targets and divided
/// by T, the mean of the targets' impurity improvements * N as scikit-learn computes it.
/// Monotone constraints and the Poisson gain need one target (ForestConfig refuses them).
class TargetsCriterion {
 public:
  /// wr (n_rows * n_targets,) row-major w * r; weights (n_rows,) (0 = unused).
  TargetsCriterion(Span<const double> wr, Span<const double> weights, int n_targets, const TreeConfig& config);

  int n_channels() const { return n_targets_ + 1; }
  int leaf_dim() const { return n_targets_; }
  template <int kSign = 1>
  void add(std::int64_t* slot, row_t row) const {
    const std::int64_t* q = q_.data() + static_cast<std::size_t>(row) * n_targets_;
    for (int t = 0; t < n_targets_; ++t) slot[t] += kSign * q[t];
    slot[n_targets_] += kSign * packed_[row];
  }
  void prefetch_row(row_t row) const {
    prefetch(q_.data() + static_cast<std::size_t>(row) * n_targets_);
    prefetch(packed_.data() + row);
  }
  std::int64_t count(const std::int64_t* sums) const { return packing_.count(sums[n_targets_]); }
  double cover(const std::int64_t* sums) const { return weight(sums[n_targets_]); }
  bool may_split(const std::int64_t* sums) const;
  /// Each target's mean of r (no regularisation: extra_l2 is ignored).
  void leaf_value(const std::int64_t* sums, double* out, double extra_l2 = 0.0) const;
  ScanResult scan(const std::int64_t* slots, int n_bins, const std::int64_t* total) const;
  /// Never called: constraints need one target (ForestConfig::validate).
  ScanResult scan_bounded(const std::int64_t* slots, int n_bins, const std::int64_t* total,
                          const ValueBounds& bounds, int direction) const;
  const TreeConfig& config() const { return config_; }
  double constrained_value(const double* value) const { return value[0]; }
  void clamp_value(double*, const ValueBounds&) const {}
  /// Set splits of a categorical feature (category_scan.hpp): one order per target, by its mean.
  ScanResult scan_categories(const std::int64_t* slots, int n_bins, const std::int64_t* total) const;
  int n_category_orders() const { return n_targets_; }
  double category_key(const std::int64_t* slot, int order) const;
  double set_gain(const std::int64_t* left, const std::int64_t* total, double extra_l2) const;

 private:
  double weight(std::int64_t packed) const { return static_cast<double>(packing_.value(packed)) / weight_scale_; }
  /// Sum over targets of G_t^2 / W of the sums s minus the sums `less` (none when null), in real
  /// units; 0 for an empty side.
  double score(const std::int64_t* s, const std::int64_t* less = nullptr) const;

  std::vector<std::int64_t> q_;       ///< (n_rows * n_targets,) quantised w * r
  std::vector<double> target_scale_;  ///< (n_targets,) fixed-point scale of each target's channel
  std::vector<std::int64_t> packed_;  ///< (n_rows,) each row's quantised weight, packed
  double weight_scale_ = 1.0;
  CountPacking packing_;
  int n_targets_;
  const TreeConfig& config_;
};

}  // namespace treeforge
