// HistogramReduction: gradient ranges merged over every participant.
#include "grow/histogram_reduction.hpp"

namespace treeforge {

GradRange HistogramReduction::merge(const GradRange& mine) {
  // max, -min and "not finite" are maxima; the row counts a sum: two reductions of a few values.
  std::vector<double> highs = {mine.max_abs_grad, mine.max_hess, -mine.min_hess, mine.finite ? 0.0 : 1.0};
  max(Span<double>(highs.data(), highs.size()));
  std::vector<std::int64_t> rows = {static_cast<std::int64_t>(mine.n_rows)};
  sum({Span<std::int64_t>(rows.data(), rows.size())});
  GradRange all;
  all.max_abs_grad = highs[0];
  all.max_hess = highs[1];
  all.min_hess = -highs[2];
  all.finite = highs[3] == 0.0;
  all.n_rows = static_cast<std::size_t>(rows[0]);
  return all;
}

}  // namespace treeforge
