// Weighted quantiles of residuals (scikit-learn's conventions), for the starting margin and leaf renewal.
#include "objectives/residual_quantile.hpp"

#include <algorithm>
#include <cmath>

namespace treeforge {

namespace {

/// numpy's 'linear' quantile of r (reordered): the order statistics around (n - 1) q, interpolated.
double linear_quantile(std::vector<double>& r, double q) {
  const double position = static_cast<double>(r.size() - 1) * q;
  const std::size_t lo = std::min(static_cast<std::size_t>(position), r.size() - 1);
  const double fraction = position - static_cast<double>(lo);
  std::nth_element(r.begin(), r.begin() + lo, r.end());
  const double below = r[lo];
  if (fraction == 0.0 || lo + 1 == r.size()) return below;
  // After nth_element every element past lo is >= r[lo]: the next order statistic is their least.
  const double above = *std::min_element(r.begin() + lo + 1, r.end());
  return below + fraction * (above - below);
}

struct WeightedResidual {
  double residual;
  double weight;
  row_t row;
};

/// The inverted weighted CDF at q: the first residual, ascending (ties by row), whose cumulative
/// weight reaches q times the total weight.
double inverted_cdf_quantile(std::vector<WeightedResidual>& items, double q) {
  if (items.empty()) return 0.0;
  std::sort(items.begin(), items.end(), [](const WeightedResidual& a, const WeightedResidual& b) {
    return a.residual < b.residual || (a.residual == b.residual && a.row < b.row);
  });
  double total = 0.0;
  for (const WeightedResidual& item : items) total += item.weight;
  const double target = q * total;
  double cumulative = 0.0;
  for (const WeightedResidual& item : items) {
    cumulative += item.weight;
    if (cumulative >= target) return item.residual;
  }
  return items.back().residual;  // q * total rounded above the sum
}

}  // namespace

double quantile_of_residuals(const TrainData& data, const double* margin, Span<const row_t> rows, double q) {
  check_internal(q > 0.0 && q < 1.0, "quantile level ", q, " outside (0, 1)");
  const std::size_t n = rows.empty() ? data.y.size() : rows.size;
  check_internal(n > 0, "a quantile of no rows");
  const auto row_at = [&](std::size_t k) { return rows.empty() ? static_cast<row_t>(k) : rows[k]; };
  const auto residual = [&](row_t i) { return margin ? data.y[i] - margin[i] : data.y[i]; };
  if (data.weight.empty()) {
    std::vector<double> r(n);
    for (std::size_t k = 0; k < n; ++k) r[k] = residual(row_at(k));
    return linear_quantile(r, q);
  }
  std::vector<WeightedResidual> items;
  items.reserve(n);
  for (std::size_t k = 0; k < n; ++k) {
    const row_t i = row_at(k);
    if (data.weight[i] > 0) items.push_back({residual(i), data.weight[i], i});
  }
  return inverted_cdf_quantile(items, q);
}

}  // namespace treeforge
