// Binary log loss on a logit margin: gradient sigmoid(m) - y, hessian p(1 - p); sigmoid link.
#include <algorithm>
#include <cmath>

#include "core/fast_exp.hpp"
#include "objectives/objective.hpp"

namespace treeforge {

namespace {
double sigmoid(double m) { return m >= 0 ? 1.0 / (1.0 + std::exp(-m)) : std::exp(m) / (1.0 + std::exp(m)); }

struct BinaryLogLoss {
  static constexpr const char* kName = "binary_logloss";
  static constexpr const char* kLabelDomain = "labels 0 or 1";
  static bool check_label(double y) { return y == 0.0 || y == 1.0; }
  static GradPair grad_hess(double y, double m) {
    // The gradient loop runs once per row and tree: exp without a library call vectorises it.
    const double p = 1.0 / (1.0 + exp_no_call(-m));
    return {static_cast<float>(p - y), static_cast<float>(std::max(p * (1.0 - p), 1e-16))};
  }
  // log(1 + e^m) - y m, written to stay finite for large |m|; no library calls, so that the
  // loss of every training row after each iteration (early stopping) vectorises.
  static double loss(double y, double m) {
    return std::max(m, 0.0) + log1p_no_call(exp_no_call(-std::fabs(m))) - y * m;
  }
  static double base_margin(double mean_y) {
    const double p = std::min(std::max(mean_y, 1e-15), 1.0 - 1e-15);
    return std::log(p / (1.0 - p));
  }
  static double inverse_link(double m) { return sigmoid(m); }
};
}  // namespace

std::unique_ptr<Objective> make_binary_logloss() { return std::make_unique<ElementwiseObjective<BinaryLogLoss>>(); }

}  // namespace treeforge
