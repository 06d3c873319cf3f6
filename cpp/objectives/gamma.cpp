// Gamma deviance on a log margin: half deviance m + y e^-m, gradient 1 - y e^-m, hessian y e^-m; exp link.
#include <cmath>

#include "objectives/objective.hpp"

namespace treeforge {

namespace {
struct Gamma {
  static constexpr const char* kName = "gamma";
  static constexpr const char* kLabelDomain = "finite targets > 0";
  static bool check_label(double y) { return std::isfinite(y) && y > 0; }
  static GradPair grad_hess(double y, double m) {
    const double r = y * std::exp(-m);
    return {static_cast<float>(1.0 - r), static_cast<float>(r)};
  }
  static double loss(double y, double m) { return m + y * std::exp(-m); }
  static double base_margin(double mean_y) { return std::log(mean_y); }
  static double inverse_link(double m) { return exp_link(m); }
};
}  // namespace

std::unique_ptr<Objective> make_gamma() { return std::make_unique<ElementwiseObjective<Gamma>>(); }

}  // namespace treeforge
