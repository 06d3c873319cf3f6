// Weighted quantiles of residuals, and the objective shape of losses whose leaves are renewed to them (absolute error, quantile).
#pragma once

#include <vector>

#include "objectives/objective.hpp"

namespace treeforge {

/// The q-quantile (0 < q < 1) of the residuals y_i - margin[i] (y_i when margin is null) over the
/// rows `rows` (every row when empty), by scikit-learn's convention: without weights, numpy's
/// 'linear' method (position (n - 1) q between order statistics); with weights, the inverted
/// weighted CDF (the smallest residual whose cumulative weight, in ascending order, reaches
/// q times the total; rows of zero weight never chosen; 0 when all weights are zero).
///
/// Deterministic: it depends only on the set of rows, not on their order (weighted ties are
/// summed in row order), so it is the same on any thread count and any row shards.
double quantile_of_residuals(const TrainData& data, const double* margin, Span<const row_t> rows, double q);

/// A per-row loss of the residual y - m whose best constant is a quantile of the residuals:
/// the starting margin is that quantile of y, and every leaf is renewed to that quantile of its
/// rows' residuals. Loss needs a member `quantile` besides ElementwiseObjective's.
///
/// Distributed training: a leaf's quantile is not a sum, so it cannot be reduced at the
/// histogram sync step. A distributed version would gather each leaf's (residual, weight, row)
/// triples from the workers to one place (exact, as here), or find the quantile by bisection over
/// residual thresholds, each round reducing the weight below the threshold across workers (exact
/// after enough rounds, since the residuals are finitely many). The shard test hook only cuts
/// histogram builds, so here every leaf sees all of its rows and the model is the unsharded one.
template <class Loss>
class ResidualQuantileObjective final : public ElementwiseObjective<Loss> {
 public:
  using ElementwiseObjective<Loss>::ElementwiseObjective;

  std::vector<double> base_score(const TrainData& data) const override {
    return {quantile_of_residuals(data, nullptr, Span<const row_t>(), this->loss_.quantile)};
  }
  bool renews_leaf_values() const override { return true; }
  double renewed_leaf_value(const TrainData& data, const double* margin, Span<const row_t> rows) const override {
    check_internal(margin != nullptr && !rows.empty(), "a leaf renewal needs margins and rows");
    return quantile_of_residuals(data, margin, rows, this->loss_.quantile);
  }
};

}  // namespace treeforge
