// Poisson deviance on a log margin: half deviance e^m - y m, gradient e^m - y, hessian e^m; exp link.
#include <cmath>
#include <limits>

#include "objectives/objective.hpp"

namespace treeforge {

namespace {
struct Poisson {
  static constexpr const char* kName = "poisson";
  static constexpr const char* kLabelDomain = "finite targets >= 0";
  static bool check_label(double y) { return std::isfinite(y) && y >= 0; }
  static GradPair grad_hess(double y, double m) {
    const double mu = std::exp(m);
    return {static_cast<float>(mu - y), static_cast<float>(mu)};
  }
  static double loss(double y, double m) { return std::exp(m) - y * m; }
  static double base_margin(double mean_y) { return std::log(std::max(mean_y, std::numeric_limits<double>::min())); }
  static double inverse_link(double m) { return exp_link(m); }
};
}  // namespace

std::unique_ptr<Objective> make_poisson() { return std::make_unique<ElementwiseObjective<Poisson>>(); }

}  // namespace treeforge
