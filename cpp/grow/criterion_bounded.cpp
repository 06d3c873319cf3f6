// The one-threshold-at-a-time scans: under monotone constraints and value bounds (gradient and class statistics), and of the Poisson deviance.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "grow/criterion.hpp"
#include "grow/split_math.hpp"

namespace treeforge {

namespace {

/// Twice the loss reduction of a leaf of sums (G, H) held at value w: -(2 T(G) w + (H + lambda) w^2),
/// which is leaf_score at the leaf's optimum and less anywhere else.
double score_at(double sum_grad, double sum_hess, double w, double lambda, double alpha) {
  return -(2.0 * threshold_l1(sum_grad, alpha) * w + (sum_hess + lambda) * w * w);
}

/// The best threshold of a feature whose slots hold two channels (gradient statistics, or two
/// classes): gain_of(left, missing_left) is the gain of sending the sums `left` left (value bins
/// 0..t, and the missing bin when missing_left), -inf when a constraint forbids it, and
/// count_of(left) their rows. Empty bins split the rows as the one before them and are skipped;
/// ties go to the lower bin, then to missing rows on the right.
template <class GainOf, class CountOf>
ScanResult best_threshold(const std::int64_t* slots, int n_bins, double min_gain, GainOf&& gain_of,
                          CountOf&& count_of) {
  const std::int64_t* missing = slots + static_cast<std::size_t>(n_bins) * 2;
  const bool has_missing = missing[0] != 0 || missing[1] != 0;
  ScanResult best;
  double best_gain = min_gain;
  std::int64_t left[2] = {0, 0};
  for (int t = 0; t < n_bins; ++t) {
    const std::int64_t* s = slots + static_cast<std::size_t>(t) * 2;
    if (s[0] == 0 && s[1] == 0) continue;
    left[0] += s[0];
    left[1] += s[1];
    for (int m = 0; m <= static_cast<int>(has_missing); ++m) {
      const std::int64_t sides[2] = {left[0] + (m ? missing[0] : 0), left[1] + (m ? missing[1] : 0)};
      const double gain = gain_of(sides, m != 0);
      if (gain > best_gain) {
        best_gain = gain;
        best.gain = gain;
        best.bin = t;
        best.default_left = m != 0;
        best.left_count = count_of(sides);
      }
    }
  }
  return best;
}

}  // namespace

bool GradientCriterion::admissible(const std::int64_t* left, const std::int64_t* total, Sides& sides) const {
  const CountPacking& packing = scale_.packing;
  const std::int64_t n_left = packing.count(left[1]), n_right = packing.count(total[1]) - n_left;
  if (n_left < config_.min_samples_leaf || n_right < config_.min_samples_leaf) return false;
  sides.h_left = scale_.hess(left[1]);
  sides.h_right = static_cast<double>(packing.value(total[1]) - packing.value(left[1])) / scale_.hess_scale;
  if (sides.h_left < config_.min_child_weight || sides.h_right < config_.min_child_weight) return false;
  sides.g_left = scale_.grad(left[0]);
  sides.g_right = scale_.grad(total[0] - left[0]);
  return true;
}

// One threshold at a time in real units: constrained nodes are few, and each candidate needs its
// children's values, clamped, before its gain.
ScanResult GradientCriterion::scan_bounded(const std::int64_t* slots, int n_bins, const std::int64_t* total,
                                           const ValueBounds& bounds, int direction) const {
  const double lambda = config_.l2_regularization, alpha = config_.l1_regularization;
  const double total_g = scale_.grad(total[0]), total_h = scale_.hess(total[1]);
  const double parent =
      score_at(total_g, total_h, bounds.clamp(leaf_weight(total_g, total_h, lambda, alpha)), lambda, alpha);
  auto gain_of = [&](const std::int64_t* left, bool) {
    Sides s;
    if (!admissible(left, total, s)) return kForbiddenGain;
    const double w_left = bounds.clamp(leaf_weight(s.g_left, s.h_left, lambda, alpha));
    const double w_right = bounds.clamp(leaf_weight(s.g_right, s.h_right, lambda, alpha));
    if ((direction > 0 && w_left > w_right) || (direction < 0 && w_left < w_right)) return kForbiddenGain;
    return score_at(s.g_left, s.h_left, w_left, lambda, alpha) + score_at(s.g_right, s.h_right, w_right, lambda, alpha) -
           parent;
  };
  return best_threshold(slots, n_bins, std::max(config_.min_split_gain, 0.0), gain_of,
                        [&](const std::int64_t* left) { return scale_.packing.count(left[1]); });
}

// One threshold at a time in real units, as the bounded scan: Poisson forests are the only users.
ScanResult GradientCriterion::scan_poisson(const std::int64_t* slots, int n_bins, const std::int64_t* total) const {
  // Half the deviance drops by sum over sides of S log(S / W) less the node's, S the counts' sum
  // (minus the gradient sum) and W the weight (the hessian sum).
  auto score = [](double counts, double weight) { return counts * std::log(counts / weight); };
  const double parent = score(-scale_.grad(total[0]), scale_.hess(total[1]));
  auto gain_of = [&](const std::int64_t* left, bool) {
    Sides s;
    if (!admissible(left, total, s)) return kForbiddenGain;
    if (!(s.g_left < 0 && s.g_right < 0 && s.h_left > 0 && s.h_right > 0)) return kForbiddenGain;
    return score(-s.g_left, s.h_left) + score(-s.g_right, s.h_right) - parent;
  };
  return best_threshold(slots, n_bins, std::max(config_.min_split_gain, 0.0), gain_of,
                        [&](const std::int64_t* left) { return scale_.packing.count(left[1]); });
}

// The class scan with each candidate's children checked: class 1's share of each within the
// bounds and in the constrained order. Two classes only (a node's leaf is one share).
ScanResult ClassCriterion::scan_bounded(const std::int64_t* slots, int n_bins, const std::int64_t* total,
                                        const ValueBounds& bounds, int direction) const {
  check(k_ == 2 && n_targets_ == 1, "monotone constraints need two classes of one target, not ", k_, " classes of ",
        n_targets_, " targets");
  const std::int64_t total_n = count(total);
  const double w0 = weight(total[0]), w1 = weight(total[1]);
  const double parent = weighted_impurity(std::array<double, 2>{w0, w1}.data());
  auto gain_of = [&](const std::int64_t* sides, bool) {
    const std::int64_t n_left = count(sides), n_right = total_n - n_left;
    if (n_left < config_.min_samples_leaf || n_right < config_.min_samples_leaf) return kForbiddenGain;
    const std::array<double, 2> left{weight(sides[0]), weight(sides[1])}, right{w0 - left[0], w1 - left[1]};
    const double wl = left[0] + left[1], wr = right[0] + right[1];
    if (wl < config_.min_child_weight || wr < config_.min_child_weight || !(wl > 0) || !(wr > 0)) return kForbiddenGain;
    const double share_left = left[1] / wl, share_right = right[1] / wr;
    if (bounds.clamp(share_left) != share_left || bounds.clamp(share_right) != share_right) return kForbiddenGain;
    if ((direction > 0 && share_left > share_right) || (direction < 0 && share_left < share_right)) return kForbiddenGain;
    return parent - weighted_impurity(left.data()) - weighted_impurity(right.data());
  };
  return best_threshold(slots, n_bins, std::max(config_.min_split_gain, 0.0), gain_of,
                        [&](const std::int64_t* sides) { return count(sides); });
}

}  // namespace treeforge
