// Query groups: ranking a query's documents, NDCG@k and MAP@k over queries, and the checks of ranking data.
#include <algorithm>
#include <array>
#include <cmath>

#include "core/parallel.hpp"
#include "objectives/ranking.hpp"

namespace treeforge {

void RankedQuery::rank(const double* score, const double* label, std::size_t n) {
  // Sorting the keys beside their documents, not indices into them, keeps the sort in cache.
  keys.resize(n);
  for (std::size_t i = 0; i < n; ++i) keys[i] = {score[i], label[i], static_cast<std::uint32_t>(i)};
  std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
    return a.score != b.score ? a.score > b.score : a.label > b.label;
  });
  order.resize(n);
  tie_end.resize(n);
  for (std::size_t p = 0; p < n; ++p) order[p] = keys[p].document;
  for (std::size_t p = n; p-- > 0;)
    tie_end[p] = (p + 1 < n && keys[p + 1].score == keys[p].score) ? tie_end[p + 1] : static_cast<std::uint32_t>(p + 1);
}

double ideal_dcg(const double* label, std::size_t n, int k) {
  std::array<std::size_t, kMaxRelevance + 1> count{};  // labels are small integers: a counting sort
  for (std::size_t i = 0; i < n; ++i) ++count[static_cast<int>(label[i])];
  double dcg = 0;
  std::size_t p = 0;
  for (int r = kMaxRelevance; r > 0; --r)
    for (std::size_t c = 0; c < count[r] && dcg_discount(p, k) > 0; ++c, ++p) dcg += relevance_gain(r) * dcg_discount(p, k);
  return dcg;
}

namespace {

/// NDCG@k of one query; tied scores share their positions' mean discount.
double query_ndcg(RankedQuery& ranked, const double* score, const double* label, std::size_t n, int k) {
  const double ideal = ideal_dcg(label, n, k);
  if (ideal <= 0) return 1.0;
  ranked.rank(score, label, n);
  double dcg = 0;
  for (std::size_t a = 0; a < n; a = ranked.tie_end[a]) {
    double gain = 0, discount = 0;
    for (std::size_t p = a; p < ranked.tie_end[a]; ++p) {
      gain += relevance_gain(label[ranked.order[p]]);
      discount += dcg_discount(p, k);
    }
    dcg += gain / (ranked.tie_end[a] - a) * discount;
  }
  return dcg / ideal;
}

/// MAP@k of one query (label > 0 is relevant); within a tie the relevant documents come last.
double query_average_precision(RankedQuery& ranked, const double* score, const double* label, std::size_t n, int k) {
  ranked.rank(score, label, n);
  const std::size_t top = k <= 0 ? n : std::min<std::size_t>(n, k);
  std::size_t n_relevant = 0, hits = 0;
  double precision_sum = 0;
  for (std::size_t a = 0; a < n; a = ranked.tie_end[a]) {
    std::size_t relevant_in_tie = 0;
    for (std::size_t p = a; p < ranked.tie_end[a]; ++p) relevant_in_tie += label[ranked.order[p]] > 0;
    n_relevant += relevant_in_tie;
    for (std::size_t p = ranked.tie_end[a] - relevant_in_tie; p < ranked.tie_end[a]; ++p)
      if (p < top) precision_sum += static_cast<double>(++hits) / static_cast<double>(p + 1);
  }
  if (n_relevant == 0) return 1.0;
  return precision_sum / static_cast<double>(std::min(n_relevant, top));
}

}  // namespace

double ranking_metric(const std::string& metric, int k, const TrainData& data, const double* score, int n_threads) {
  check(metric == "ndcg" || metric == "map", "unknown ranking metric '", metric, "'; expected ndcg or map");
  check_ranking_data(data, metric);
  const std::size_t n_queries = data.group_begin.size() - 1;
  std::vector<double> values(n_queries);
  parallel_for(n_queries, n_threads, [&](std::size_t q) {
    thread_local RankedQuery ranked;
    const std::size_t begin = data.group_begin[q], n = data.group_begin[q + 1] - begin;
    const double* label = data.y.data() + begin;
    values[q] = metric == "ndcg" ? query_ndcg(ranked, score + begin, label, n, k)
                                 : query_average_precision(ranked, score + begin, label, n, k);
  });
  double sum = 0, total_weight = 0;
  for (std::size_t q = 0; q < n_queries; ++q) {
    const double w = data.weight_of(data.group_begin[q]);
    sum += w * values[q];
    total_weight += w;
  }
  return total_weight > 0 ? sum / total_weight : 0.0;
}

void check_ranking_data(const TrainData& data, const std::string& what) {
  check(data.group_begin.size() >= 2, what, " needs query groups (group sizes or a query id per row)");
  for (std::size_t i = 0; i < data.y.size(); ++i) {
    const double y = data.y[i];
    check(y >= 0 && y <= kMaxRelevance && y == std::floor(y), what, " needs relevance labels that are integers in [0, ",
          kMaxRelevance, "], got y=", y, " at row ", i);
  }
  if (data.weight.empty()) return;
  for (std::size_t q = 0; q + 1 < data.group_begin.size(); ++q)
    for (std::int64_t i = data.group_begin[q] + 1; i < data.group_begin[q + 1]; ++i)
      check(data.weight[i] == data.weight[data.group_begin[q]], what,
            ": the rows of a query must share one sample weight (the query's weight); query ", q, " has ",
            data.weight[data.group_begin[q]], " and ", data.weight[i]);
}

}  // namespace treeforge
