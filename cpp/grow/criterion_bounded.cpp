// The one-threshold-at-a-time scans: under monotone constraints and value bounds (gradient and class statistics), and of the Poisson deviance.
#include <algorithm>
#include <cmath>
#include <array>

#include "grow/criterion.hpp"
#include "grow/split_math.hpp"

namespace treeforge {

namespace {

/// Twice the loss reduction of a leaf of sums (G, H) held at value w: -(2 T(G) w + (H + lambda) w^2),
/// which is leaf_score at the leaf's optimum and less anywhere else.
double score_at(double sum_grad, double sum_hess, double w, double lambda, double alpha) {
  return -(2.0 * threshold_l1(sum_grad, alpha) * w + (sum_hess + lambda) * w * w);
}

}  // namespace

// One threshold at a time in real units: constrained nodes are few, and each candidate needs its
// children's values, clamped, before its gain.
ScanResult GradientCriterion::scan_bounded(const std::int64_t* slots, int n_bins, const std::int64_t* total,
                                           const ValueBounds& bounds, int direction) const {
  const CountPacking& packing = scale_.packing;
  const double lambda = config_.l2_regularization, alpha = config_.l1_regularization;
  const std::int64_t total_n = packing.count(total[1]);
  const double total_g = scale_.grad(total[0]), total_h = scale_.hess(total[1]);
  const double parent =
      score_at(total_g, total_h, bounds.clamp(leaf_weight(total_g, total_h, lambda, alpha)), lambda, alpha);
  const std::int64_t* missing = slots + static_cast<std::size_t>(n_bins) * kChannels;
  ScanResult best;
  double best_gain = std::max(config_.min_split_gain, 0.0);
  // Value bins 0..t, with sums (g, hc), go left, and the missing bin too when missing_left.
  auto consider = [&](std::int64_t g, std::int64_t hc, int t, bool missing_left) {
    const std::int64_t n_left = packing.count(hc), n_right = total_n - n_left;
    if (n_left < config_.min_samples_leaf || n_right < config_.min_samples_leaf) return;
    const double h_left = scale_.hess(hc);
    const double h_right = static_cast<double>(packing.value(total[1]) - packing.value(hc)) / scale_.hess_scale;
    if (h_left < config_.min_child_weight || h_right < config_.min_child_weight) return;
    const double g_left = scale_.grad(g), g_right = scale_.grad(total[0] - g);
    const double w_left = bounds.clamp(leaf_weight(g_left, h_left, lambda, alpha));
    const double w_right = bounds.clamp(leaf_weight(g_right, h_right, lambda, alpha));
    if ((direction > 0 && w_left > w_right) || (direction < 0 && w_left < w_right)) return;
    const double gain =
        score_at(g_left, h_left, w_left, lambda, alpha) + score_at(g_right, h_right, w_right, lambda, alpha) - parent;
    if (gain > best_gain) {  // ties: the lower bin, then missing rows right
      best_gain = gain;
      best.gain = gain;
      best.bin = t;
      best.default_left = missing_left;
      best.left_count = n_left;
    }
  };
  std::int64_t g = 0, hc = 0;
  for (int t = 0; t < n_bins; ++t) {
    const std::int64_t* s = slots + static_cast<std::size_t>(t) * kChannels;
    if (s[1] == 0) continue;  // an empty bin splits the rows as the one before it
    g += s[0];
    hc += s[1];
    consider(g, hc, t, false);
    if (missing[1] != 0) consider(g + missing[0], hc + missing[1], t, true);
  }
  return best;
}

// One threshold at a time in real units, as the bounded scan: Poisson forests are the only users.
ScanResult GradientCriterion::scan_poisson(const std::int64_t* slots, int n_bins, const std::int64_t* total) const {
  const CountPacking& packing = scale_.packing;
  const std::int64_t total_n = packing.count(total[1]);
  // Half the deviance drops by sum over sides of S log(S / W) less the node's, S the counts' sum.
  auto score = [](double counts, double weight) { return counts * std::log(counts / weight); };
  const double parent = score(-scale_.grad(total[0]), scale_.hess(total[1]));
  const std::int64_t* missing = slots + static_cast<std::size_t>(n_bins) * kChannels;
  ScanResult best;
  double best_gain = std::max(config_.min_split_gain, 0.0);
  auto consider = [&](std::int64_t g, std::int64_t hc, int t, bool missing_left) {
    const std::int64_t n_left = packing.count(hc), n_right = total_n - n_left;
    if (n_left < config_.min_samples_leaf || n_right < config_.min_samples_leaf) return;
    const double w_left = scale_.hess(hc);
    const double w_right = static_cast<double>(packing.value(total[1]) - packing.value(hc)) / scale_.hess_scale;
    if (w_left < config_.min_child_weight || w_right < config_.min_child_weight) return;
    const double y_left = -scale_.grad(g), y_right = -scale_.grad(total[0] - g);
    if (!(y_left > 0 && y_right > 0 && w_left > 0 && w_right > 0)) return;
    const double gain = score(y_left, w_left) + score(y_right, w_right) - parent;
    if (gain > best_gain) {  // ties: the lower bin, then missing rows right
      best_gain = gain;
      best.gain = gain;
      best.bin = t;
      best.default_left = missing_left;
      best.left_count = n_left;
    }
  };
  std::int64_t g = 0, hc = 0;
  for (int t = 0; t < n_bins; ++t) {
    const std::int64_t* s = slots + static_cast<std::size_t>(t) * kChannels;
    if (s[1] == 0) continue;  // an empty bin splits the rows as the one before it
    g += s[0];
    hc += s[1];
    consider(g, hc, t, false);
    if (missing[1] != 0) consider(g + missing[0], hc + missing[1], t, true);
  }
  return best;
}

// The class scan with each candidate's children checked: class 1's share of each within the
// bounds and in the constrained order. Two classes only (a node's leaf is one share).
ScanResult ClassCriterion::scan_bounded(const std::int64_t* slots, int n_bins, const std::int64_t* total,
                                        const ValueBounds& bounds, int direction) const {
  check(k_ == 2, "monotone constraints need two classes, not ", k_);
  const std::int64_t* missing = slots + static_cast<std::size_t>(n_bins) * k_;
  const std::int64_t total_n = count(total);
  const double w0 = weight(total[0]), w1 = weight(total[1]);
  const double parent = weighted_impurity(std::array<double, 2>{w0, w1}.data());
  ScanResult best;
  double best_gain = std::max(config_.min_split_gain, 0.0);
  auto consider = [&](std::int64_t l0, std::int64_t l1, int t, bool missing_left) {
    const std::int64_t n_left = packing_.count(l0) + packing_.count(l1), n_right = total_n - n_left;
    if (n_left < config_.min_samples_leaf || n_right < config_.min_samples_leaf) return;
    const std::array<double, 2> left{weight(l0), weight(l1)}, right{w0 - left[0], w1 - left[1]};
    const double wl = left[0] + left[1], wr = right[0] + right[1];
    if (wl < config_.min_child_weight || wr < config_.min_child_weight || !(wl > 0) || !(wr > 0)) return;
    const double share_left = left[1] / wl, share_right = right[1] / wr;
    if (bounds.clamp(share_left) != share_left || bounds.clamp(share_right) != share_right) return;
    if ((direction > 0 && share_left > share_right) || (direction < 0 && share_left < share_right)) return;
    const double gain = parent - weighted_impurity(left.data()) - weighted_impurity(right.data());
    if (gain > best_gain) {  // ties: the lower bin, then missing rows right
      best_gain = gain;
      best.gain = gain;
      best.bin = t;
      best.default_left = missing_left;
      best.left_count = n_left;
    }
  };
  std::int64_t l0 = 0, l1 = 0;
  for (int t = 0; t < n_bins; ++t) {
    const std::int64_t* s = slots + static_cast<std::size_t>(t) * k_;
    if (s[0] == 0 && s[1] == 0) continue;  // an empty bin splits the rows as the one before it
    l0 += s[0];
    l1 += s[1];
    consider(l0, l1, t, false);
    if (count(missing) > 0) consider(l0 + missing[0], l1 + missing[1], t, true);
  }
  return best;
}

}  // namespace treeforge
