// The criteria's part of set splits: the orders of a node's categories and the gain of a set.
#include <algorithm>
#include <cmath>

#include "grow/category_scan.hpp"
#include "grow/criterion.hpp"
#include "grow/split_math.hpp"

namespace treeforge {


ScanResult GradientCriterion::scan_categories(const std::int64_t* slots, int n_bins, const std::int64_t* total) const {
  return scan_category_sets(*this, slots, n_bins, total, config_);
}

// Fisher's order: by G / (H + cat_smooth), the leaf value's direction, shrunk for small categories.
int GradientCriterion::n_category_orders() const { return 1; }

double GradientCriterion::category_key(const std::int64_t* slot, int) const {
  const double h = scale_.hess(slot[1]) + config_.cat_smooth;
  return h > 0 ? scale_.grad(slot[0]) / h : 0.0;
}

double GradientCriterion::set_gain(const std::int64_t* left, const std::int64_t* total, double extra_l2) const {
  Sides s;
  if (!admissible(left, total, s)) return kForbiddenGain;
  const double lambda = config_.l2_regularization, alpha = config_.l1_regularization;
  const double child_lambda = lambda + extra_l2;
  return leaf_score(s.g_left, s.h_left, child_lambda, alpha) + leaf_score(s.g_right, s.h_right, child_lambda, alpha) -
         leaf_score(scale_.grad(total[0]), scale_.hess(total[1]), lambda, alpha);
}

ScanResult ClassCriterion::scan_categories(const std::int64_t* slots, int n_bins, const std::int64_t* total) const {
  return scan_category_sets(*this, slots, n_bins, total, config_);
}

// By the share of each class in the category: with two classes the share of one is Breiman's
// order, exact for Gini and entropy; with more, each class's share gives an order to try.
// Several targets: each target's orders in turn.
int ClassCriterion::n_category_orders() const { return n_targets_ * (k_ == 2 ? 1 : k_); }

double ClassCriterion::category_key(const std::int64_t* slot, int order) const {
  const int per_target = k_ == 2 ? 1 : k_;
  const int channel = order / per_target * k_ + (k_ == 2 ? 1 : order % per_target);
  const std::int64_t w = total_weight_q(slot);
  return w > 0 ? static_cast<double>(packing_.value(slot[channel])) / static_cast<double>(w) : 0.0;
}

double ClassCriterion::set_gain(const std::int64_t* left, const std::int64_t* total, double) const {
  const std::int64_t n_left = count(left), n_right = count(total) - n_left;
  if (n_left < config_.min_samples_leaf || n_right < config_.min_samples_leaf) return kForbiddenGain;
  // On the stack for up to kStackClasses classes: a gain is computed per candidate set.
  const int m = n_channels_;
  constexpr int kStackClasses = 16;
  double stack_w[3 * kStackClasses];
  std::vector<double> heap_w(m > kStackClasses ? 3 * static_cast<std::size_t>(m) : 0);
  double* total_w = m > kStackClasses ? heap_w.data() : stack_w;
  double* left_w = total_w + m;
  double* right_w = left_w + m;
  double wl = 0, wr = 0;
  for (int c = 0; c < m; ++c) {
    total_w[c] = weight(total[c]);
    left_w[c] = weight(left[c]);
    right_w[c] = total_w[c] - left_w[c];
  }
  for (int c = 0; c < k_; ++c) {  // target 0's channels hold each side's weight
    wl += left_w[c];
    wr += right_w[c];
  }
  if (wl < config_.min_child_weight || wr < config_.min_child_weight) return kForbiddenGain;
  return weighted_impurity(total_w) - weighted_impurity(left_w) - weighted_impurity(right_w);
}

}  // namespace treeforge
