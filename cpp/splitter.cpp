// SplitFinder: threshold scans over one feature's histogram and the choice among features.
#include "splitter.hpp"

#include <algorithm>
#include <cmath>

#include "split_math.hpp"

namespace treeforge {

SplitFinder::SplitFinder(const BinnedMatrix& X, const TreeConfig& config, const GradScale& scale)
    : X_(X),
      config_(config),
      scale_(scale),
      // Clamped: a weight above every possible hessian sum must forbid splits, not overflow.
      min_hess_q_(static_cast<std::int64_t>(std::min(std::ceil(config.min_child_weight * scale.hess_scale), 0x1p62))),
      lambda_q_(config.l2_regularization * scale.hess_scale),
      alpha_q_(config.l1_regularization * scale.grad_scale),
      gain_factor_(scale.hess_scale / (scale.grad_scale * scale.grad_scale)) {}

double SplitFinder::leaf_value(const HistBin& sums) const {
  return leaf_weight(scale_.grad(sums.grad), scale_.hess(sums.hess), config_.l2_regularization,
                     config_.l1_regularization);
}

// With G = g_q / s_g and H = h_q / s_h, the score T(G)^2 / (H + lambda) equals
// (s_h / s_g^2) * T_q(g_q)^2 / (h_q + lambda s_h), where T_q thresholds at alpha s_g: the scan
// compares quantised gains and converts the winner once.
SplitInfo SplitFinder::find_on_feature(const HistBin* hist, const HistBin& total, int feature) const {
  SplitInfo best;
  const int n_bins = X_.n_bins[feature];
  if (n_bins <= 1 && !X_.has_nan[feature]) return best;
  const HistBin* h = hist + X_.hist_offset[feature];
  const HistBin missing = h[n_bins];
  const bool has_missing = missing.count > 0;
  const std::int64_t min_count = config_.min_samples_leaf;
  const double lambda = lambda_q_, alpha = alpha_q_;
  const double parent_score =
      leaf_score(static_cast<double>(total.grad), static_cast<double>(total.hess), lambda, alpha);
  // A split must beat min_split_gain and 0, in quantised units.
  double best_gain = std::max(config_.min_split_gain / gain_factor_, 0.0);
  int best_bin = -1;
  bool best_default_left = false;

  auto consider = [&](const HistBin& left, int bin, bool default_left) {
    const std::int64_t right_count = total.count - left.count, right_hess = total.hess - left.hess;
    if (left.count < min_count || right_count < min_count || left.hess < min_hess_q_ || right_hess < min_hess_q_)
      return;
    const double gain = split_gain(static_cast<double>(left.grad), static_cast<double>(left.hess),
                                   static_cast<double>(total.grad - left.grad), static_cast<double>(right_hess),
                                   parent_score, lambda, alpha);
    if (gain > best_gain) {
      best_gain = gain;
      best_bin = bin;
      best_default_left = default_left;
    }
  };

  HistBin left;  // value bins 0..t, missing excluded
  for (int t = 0; t < n_bins; ++t) {
    if (h[t].count == 0) continue;  // same partition as the previous threshold
    left += h[t];
    // The right side only shrinks from here on: once too small, it stays too small.
    if (total.count - left.count < min_count) break;
    consider(left, t, false);
    if (has_missing) consider(left + missing, t, true);
  }
  if (best_bin < 0) return best;
  best.gain = best_gain * gain_factor_;
  best.feature = feature;
  best.bin = best_bin;
  best.default_left = best_default_left;
  best.left = HistBin{};
  for (int t = 0; t <= best_bin; ++t) best.left += h[t];
  if (best_default_left) best.left += missing;
  best.right = total - best.left;
  // With no missing values in this node, unseen missing values at predict time follow the larger
  // child (scikit-learn's rule), so the direction stays meaningful.
  if (!has_missing) best.default_left = best.left.count >= best.right.count;
  return best;
}

SplitInfo SplitFinder::find(const HistBin* hist, const HistBin& total, const std::vector<int>& features) const {
  SplitInfo best;
  for (int f : features) {
    const SplitInfo s = find_on_feature(hist, total, f);
    if (s.is_valid() && s.gain > best.gain) best = s;
  }
  return best;
}

}  // namespace treeforge
