// Tweedie deviance with variance power p in [1, 2) on a log margin (compound Poisson-gamma, as LightGBM
// and XGBoost): half deviance up to terms free of m, e^{(2-p)m} / (2-p) - y e^{(1-p)m} / (1-p)
// (e^m - y m at p = 1); gradient e^{(2-p)m} - y e^{(1-p)m}, hessian (2-p) e^{(2-p)m} - (1-p) y e^{(1-p)m}; exp link.
#include <algorithm>
#include <cmath>
#include <limits>

#include "objectives/objective.hpp"

namespace treeforge {

namespace {
struct Tweedie {
  static constexpr const char* kName = "tweedie";
  static constexpr const char* kLabelDomain = "finite targets >= 0";
  double power = 1.5;
  static bool check_label(double y) { return std::isfinite(y) && y >= 0; }
  GradPair grad_hess(double y, double m) const {
    const double a = std::exp((1.0 - power) * m), b = std::exp((2.0 - power) * m);
    return {static_cast<float>(b - y * a), static_cast<float>((2.0 - power) * b - (1.0 - power) * y * a)};
  }
  double loss(double y, double m) const {
    if (power == 1.0) return std::exp(m) - y * m;
    return std::exp((2.0 - power) * m) / (2.0 - power) - y * std::exp((1.0 - power) * m) / (1.0 - power);
  }
  static double base_margin(double mean_y) { return std::log(std::max(mean_y, std::numeric_limits<double>::min())); }
  static double inverse_link(double m) { return exp_link(m); }
};
}  // namespace

std::unique_ptr<Objective> make_tweedie(double variance_power) {
  check(variance_power >= 1.0 && variance_power < 2.0,
        "tweedie_variance_power must be in [1, 2) (1 is Poisson; use loss='gamma' for 2), got ", variance_power);
  return std::make_unique<ElementwiseObjective<Tweedie>>(Tweedie{variance_power});
}

}  // namespace treeforge
