// Criteria: what a histogram slot accumulates per row, how a node's sums become leaf values, and how a split is scored.
#pragma once

#include <cstdint>
#include <vector>

#include "common.hpp"
#include "config.hpp"

namespace treeforge {

/// Fixed-point sums of a node or a histogram slot: n_channels() int64 values of one criterion.
///
/// Integer sums are exact and independent of the order of addition, so a histogram built by any
/// number of threads, in any split of the rows, is bit-identical, and the subtraction trick
/// (sibling = parent - child) loses nothing.
using Sums = std::vector<std::int64_t>;

/// Best threshold of one feature: rows with code <= bin go left, missing ones left iff default_left.
struct ScanResult {
  double gain = 0.0;
  int bin = -1;  ///< -1: no admissible split
  bool default_left = false;
};

/// Fixed-point scales of one tree's gradients: q = trunc(g * grad_scale), and the hessian with the
/// row count packed below it, (round(h * hess_scale) << count_bits) + 1.
///
/// Packing the count makes a histogram slot 16 bytes, one vector add per row and feature. The
/// scales are the largest powers of two for which no partial sum can overflow (|sum| < 2^62, the
/// count below 2^count_bits): with 10^6 rows a gradient keeps about 42 bits of precision relative
/// to the largest one and a hessian about 22, against the 24 bits of the float it is stored in.
struct GradScale {
  double grad_scale = 1.0;
  double hess_scale = 1.0;
  int count_bits = 1;

  /// Scales for gradients of the given rows (all rows if `rows` is empty).
  static GradScale fit(Span<const GradPair> gh, Span<const row_t> rows, int n_threads);

  double grad(std::int64_t q) const { return static_cast<double>(q) / grad_scale; }
  /// The hessian sum of a packed hessian-and-count value.
  double hess(std::int64_t packed) const { return static_cast<double>(hess_q(packed)) / hess_scale; }
  std::int64_t hess_q(std::int64_t packed) const { return packed >> count_bits; }
  std::int64_t count(std::int64_t packed) const { return packed & ((std::int64_t{1} << count_bits) - 1); }
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
    slot[1] += kSign * ((static_cast<std::int64_t>(static_cast<double>(p.hess) * scale_.hess_scale + 0.5)
                         << scale_.count_bits) + 1);
  }
  void prefetch_row(row_t row) const { prefetch(gh_.data + row); }
  std::int64_t count(const std::int64_t* sums) const { return scale_.count(sums[1]); }
  double cover(const std::int64_t* sums) const { return scale_.hess(sums[1]); }
  bool may_split(const std::int64_t* sums) const;
  void leaf_value(const std::int64_t* sums, double* out) const;
  /// Best threshold over a feature's n_bins value slots followed by its missing slot.
  ScanResult scan(const std::int64_t* slots, int n_bins, const std::int64_t* total) const;

 private:
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

/// Class statistics of classification trees (forests, AdaBoost): slot = K channels, channel c
/// holding (the weight of class c << count_bits) + its row count, as GradScale packs hessians.
/// Leaf values are the class distribution; split gain is the decrease of the weighted Gini or
/// entropy (in bits) impurity, times the node weight (scikit-learn's impurity improvement * N).
class ClassCriterion {
 public:
  enum class Impurity { kGini, kEntropy };

  /// classes (n_rows,) class index per row; weights (n_rows,) per-row weight of the tree (0 = unused).
  ClassCriterion(Span<const std::int32_t> classes, Span<const double> weights, int n_classes, Impurity impurity,
                 const TreeConfig& config);

  int n_channels() const { return k_; }
  int leaf_dim() const { return k_; }
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
  void leaf_value(const std::int64_t* sums, double* out) const;
  ScanResult scan(const std::int64_t* slots, int n_bins, const std::int64_t* total) const;

 private:
  /// W * impurity of a node with class weights w[0..K-1] (real units).
  double weighted_impurity(const double* w) const;
  double weight(std::int64_t packed) const { return static_cast<double>(packed >> count_bits_) / weight_scale_; }
  std::int64_t row_count(std::int64_t packed) const { return packed & ((std::int64_t{1} << count_bits_) - 1); }

  Span<const std::int32_t> classes_;
  std::vector<std::int64_t> packed_;  ///< (n_rows,) (quantised weight << count_bits) + 1
  double weight_scale_ = 1.0;
  int count_bits_ = 1;
  int k_;
  Impurity impurity_;
  const TreeConfig& config_;
};

}  // namespace treeforge
