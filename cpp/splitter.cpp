// SplitFinder: threshold scans over one feature's histogram and the choice among features.
#include "splitter.hpp"

#include "split_math.hpp"

namespace treeforge {

bool SplitFinder::is_admissible(const HistBin& side) const {
  return side.count >= config_.min_samples_leaf && scale_.hess(side.hess) >= config_.min_child_weight;
}

double SplitFinder::leaf_value(const HistBin& sums) const {
  return leaf_weight(scale_.grad(sums.grad), scale_.hess(sums.hess), config_.l2_regularization,
                     config_.l1_regularization);
}

SplitInfo SplitFinder::find_on_feature(const HistBin* hist, const HistBin& total, int feature) const {
  SplitInfo best;
  const int n_bins = X_.n_bins[feature];
  if (n_bins <= 1 && !X_.has_nan[feature]) return best;
  const HistBin* h = hist + X_.hist_offset[feature];
  const HistBin missing = h[n_bins];
  const bool has_missing = missing.count > 0;
  const double lambda = config_.l2_regularization, alpha = config_.l1_regularization;
  const double parent_score = leaf_score(scale_.grad(total.grad), scale_.hess(total.hess), lambda, alpha);
  double best_gain = config_.min_split_gain;

  auto consider = [&](const HistBin& left, int bin, bool default_left) {
    const HistBin right = total - left;
    if (!is_admissible(left) || !is_admissible(right)) return;
    const double gain = split_gain(scale_.grad(left.grad), scale_.hess(left.hess), scale_.grad(right.grad),
                                   scale_.hess(right.hess), parent_score, lambda, alpha);
    if (gain > best_gain && gain > 0) {
      best_gain = gain;
      best.gain = gain;
      best.feature = feature;
      best.bin = bin;
      best.default_left = default_left;
      best.left = left;
      best.right = right;
    }
  };

  HistBin left;  // value bins 0..t, missing excluded
  for (int t = 0; t < n_bins; ++t) {
    if (h[t].count == 0) continue;
    left += h[t];
    consider(left, t, false);
    if (has_missing) consider(left + missing, t, true);
  }
  // With no missing values in this node, unseen missing values at predict time follow the larger
  // child (scikit-learn's rule), so the direction stays meaningful.
  if (best.is_valid() && !has_missing) best.default_left = best.left.count >= best.right.count;
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
