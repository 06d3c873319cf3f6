// Absolute error |y - m|: gradient sign(m - y) (-1 at m = y, as scikit-learn), hessian 1; leaves renewed to the median residual; identity link.
#include <cmath>

#include "objectives/residual_quantile.hpp"

namespace treeforge {

namespace {
struct AbsoluteError {
  static constexpr const char* kName = "absolute_error";
  static constexpr const char* kLabelDomain = "finite targets";
  static constexpr double quantile = 0.5;
  static bool check_label(double y) { return std::isfinite(y); }
  static GradPair grad_hess(double y, double m) { return {m > y ? 1.0f : -1.0f, 1.0f}; }
  static double loss(double y, double m) { return std::fabs(y - m); }
  static double base_margin(double mean_y) { return mean_y; }  // unused: the median replaces it
  static double inverse_link(double m) { return m; }
};
}  // namespace

std::unique_ptr<Objective> make_absolute_error() {
  return std::make_unique<ResidualQuantileObjective<AbsoluteError>>();
}

}  // namespace treeforge
