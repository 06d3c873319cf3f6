// Quantile (pinball) loss at level q: q (y - m) for y >= m, else (1 - q)(m - y); gradient -q for
// y > m, else 1 - q (scikit-learn's), hessian 1; leaves renewed to the q-quantile residual; identity link.
#include <cmath>

#include "objectives/residual_quantile.hpp"

namespace treeforge {

namespace {
struct Pinball {
  static constexpr const char* kName = "quantile";
  static constexpr const char* kLabelDomain = "finite targets";
  double quantile = 0.5;
  static bool check_label(double y) { return std::isfinite(y); }
  GradPair grad_hess(double y, double m) const {
    return {static_cast<float>(y > m ? -quantile : 1.0 - quantile), 1.0f};
  }
  double loss(double y, double m) const { return y >= m ? quantile * (y - m) : (1.0 - quantile) * (m - y); }
  static double base_margin(double mean_y) { return mean_y; }  // unused: the quantile of y replaces it
  static double inverse_link(double m) { return m; }
};
}  // namespace

std::unique_ptr<Objective> make_quantile(double quantile) {
  check(quantile > 0.0 && quantile < 1.0, "quantile must be in (0, 1), got ", quantile);
  return std::make_unique<ResidualQuantileObjective<Pinball>>(Pinball{quantile});
}

}  // namespace treeforge
