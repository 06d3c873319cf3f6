// TargetsCriterion: regression trees of several targets, their sums, leaf values, scans and set gains.
#include <algorithm>
#include <cmath>

#include "grow/category_scan.hpp"
#include "grow/criterion.hpp"

namespace treeforge {

TargetsCriterion::TargetsCriterion(Span<const double> wr, Span<const double> weights, int n_targets,
                                   const TreeConfig& config)
    : q_(wr.size), target_scale_(n_targets), packed_(weights.size), n_targets_(n_targets), config_(config) {
  const std::size_t n = weights.size;
  check_internal(n_targets >= 1 && wr.size == n * static_cast<std::size_t>(n_targets),
                 "targets must have one value per row and target");
  // Scales from the largest magnitudes, exact and order-free (as the row shards' merged ranges).
  double max_w = 0;
  std::vector<double> max_wr(n_targets, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    max_w = std::max(max_w, weights[i]);
    for (int t = 0; t < n_targets; ++t) max_wr[t] = std::max(max_wr[t], std::fabs(wr[i * n_targets + t]));
  }
  packing_ = CountPacking::for_rows(n);
  weight_scale_ = power_of_two_scale(max_w, n, 62 - packing_.bits);
  for (int t = 0; t < n_targets; ++t) target_scale_[t] = power_of_two_scale(max_wr[t], n);
  for (std::size_t i = 0; i < n; ++i) {
    // Rows out of the tree (weight 0) add nothing: their counts must not reach the slots either.
    packed_[i] = weights[i] > 0 ? packing_.pack(static_cast<std::int64_t>(weights[i] * weight_scale_)) : 0;
    for (int t = 0; t < n_targets; ++t)
      q_[i * n_targets + t] = static_cast<std::int64_t>(wr[i * n_targets + t] * target_scale_[t]);
  }
}

bool TargetsCriterion::may_split(const std::int64_t* sums) const {
  const std::int64_t n = count(sums);
  return n >= config_.min_samples_split && n >= 2 * static_cast<std::int64_t>(config_.min_samples_leaf) &&
         cover(sums) >= 2 * config_.min_child_weight;
}

void TargetsCriterion::leaf_value(const std::int64_t* sums, double* out, double) const {
  const double w = cover(sums);
  for (int t = 0; t < n_targets_; ++t) out[t] = w > 0 ? static_cast<double>(sums[t]) / target_scale_[t] / w : 0.0;
}

double TargetsCriterion::score(const std::int64_t* s, const std::int64_t* less) const {
  const double w = weight(s[n_targets_] - (less ? less[n_targets_] : 0));
  if (!(w > 0)) return 0.0;
  double sum = 0;
  for (int t = 0; t < n_targets_; ++t) {
    const double g = static_cast<double>(s[t] - (less ? less[t] : 0)) / target_scale_[t];
    sum += g * g / w;
  }
  return sum;
}

double TargetsCriterion::set_gain(const std::int64_t* left, const std::int64_t* total, double) const {
  const std::int64_t n_left = count(left), n_right = count(total) - n_left;
  if (n_left < config_.min_samples_leaf || n_right < config_.min_samples_leaf) return kForbiddenGain;
  if (cover(left) < config_.min_child_weight || weight(total[n_targets_] - left[n_targets_]) < config_.min_child_weight)
    return kForbiddenGain;
  // The right side's sums are total - left (packed weights and counts subtract alike).
  return (score(left) + score(total, left) - score(total)) / n_targets_;
}

ScanResult TargetsCriterion::scan(const std::int64_t* slots, int n_bins, const std::int64_t* total) const {
  const int m = n_channels();
  const std::int64_t* missing = slots + static_cast<std::size_t>(n_bins) * m;
  const std::int64_t missing_n = count(missing), total_n = count(total);
  std::vector<std::int64_t> left(m, 0), with_missing(m);
  ScanResult best;
  double best_gain = std::max(config_.min_split_gain, 0.0);
  auto consider = [&](const std::int64_t* sides, int bin, bool default_left) {
    const double gain = set_gain(sides, total, 0.0);
    if (gain > best_gain) {
      best_gain = best.gain = gain;
      best.bin = bin;
      best.default_left = default_left;
      best.left_count = count(sides);
    }
  };
  for (int b = 0; b < n_bins; ++b) {
    const std::int64_t* s = slots + static_cast<std::size_t>(b) * m;
    if (count(s) == 0) continue;  // no rows: same partition as the previous threshold
    for (int c = 0; c < m; ++c) left[c] += s[c];
    if (total_n - count(left.data()) < config_.min_samples_leaf) break;
    consider(left.data(), b, false);
    if (missing_n == 0) continue;
    for (int c = 0; c < m; ++c) with_missing[c] = left[c] + missing[c];
    consider(with_missing.data(), b, true);
  }
  return best;
}

ScanResult TargetsCriterion::scan_bounded(const std::int64_t*, int, const std::int64_t*, const ValueBounds&,
                                          int) const {
  check_internal(false, "monotone constraints need one target");
  return {};
}

ScanResult TargetsCriterion::scan_categories(const std::int64_t* slots, int n_bins, const std::int64_t* total) const {
  return scan_category_sets(*this, slots, n_bins, total, config_);
}

double TargetsCriterion::category_key(const std::int64_t* slot, int order) const {
  const double w = cover(slot);
  return w > 0 ? static_cast<double>(slot[order]) / target_scale_[order] / w : 0.0;
}

}  // namespace treeforge
