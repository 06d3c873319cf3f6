// Huber loss with threshold delta on r = m - y: r^2 / 2 for |r| <= delta, else delta (|r| - delta / 2);
// gradient r clipped to [-delta, delta], hessian 1 (LightGBM's: the true hessian is 0 beyond delta,
// which would give those rows no say in leaf values); identity link.
#include <algorithm>
#include <cmath>

#include "objectives/residual_quantile.hpp"

namespace treeforge {

namespace {
struct Huber {
  static constexpr const char* kName = "huber";
  static constexpr const char* kLabelDomain = "finite targets";
  double delta = 1.0;
  static bool check_label(double y) { return std::isfinite(y); }
  GradPair grad_hess(double y, double m) const {
    return {static_cast<float>(std::min(std::max(m - y, -delta), delta)), 1.0f};
  }
  double loss(double y, double m) const {
    const double r = std::fabs(m - y);
    return r <= delta ? 0.5 * r * r : delta * (r - 0.5 * delta);
  }
  static double base_margin(double mean_y) { return mean_y; }  // unused: see HuberObjective::base_score
  static double inverse_link(double m) { return m; }
};

/// Starts from a robust constant, as scikit-learn's Huber loss does: the weighted median of y plus
/// the weighted mean of the deviations from it clipped to [-delta, delta] (one step of Huber's
/// M-estimate from the median), so that outliers do not move the start as they move the mean.
class HuberObjective final : public ElementwiseObjective<Huber> {
 public:
  using ElementwiseObjective<Huber>::ElementwiseObjective;
  std::vector<double> base_score(const TrainData& data) const override {
    const double median = quantile_of_residuals(data, nullptr, Span<const row_t>(), 0.5);
    const double delta = loss_.delta;
    return {median + weighted_mean(data, 1, [&](std::size_t i) {
              return std::min(std::max(data.y[i] - median, -delta), delta);
            })};
  }
};
}  // namespace

std::unique_ptr<Objective> make_huber(double delta) {
  check(std::isfinite(delta) && delta > 0.0, "huber_delta (the Huber loss threshold) must be finite and > 0, got ",
        delta);
  return std::make_unique<HuberObjective>(Huber{delta});
}

}  // namespace treeforge
