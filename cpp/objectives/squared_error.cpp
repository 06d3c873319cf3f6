// Squared error: half (y - m)^2, gradient m - y, hessian 1; identity link.
#include <cmath>

#include "objectives/objective.hpp"

namespace treeforge {

namespace {
struct SquaredError {
  static constexpr const char* kName = "squared_error";
  static constexpr const char* kLabelDomain = "finite targets";
  static bool check_label(double y) { return std::isfinite(y); }
  static GradPair grad_hess(double y, double m) { return {static_cast<float>(m - y), 1.0f}; }
  static double loss(double y, double m) { return 0.5 * (m - y) * (m - y); }
  static double base_margin(double mean_y) { return mean_y; }
  static double inverse_link(double m) { return m; }
};
}  // namespace

std::unique_ptr<Objective> make_squared_error() { return std::make_unique<ElementwiseObjective<SquaredError>>(); }

}  // namespace treeforge
