// Query groups: a query's documents in ranked order, NDCG/MAP, and the ranking objectives' shared checks.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/common.hpp"
#include "data/train_data.hpp"

namespace treeforge {

/// Relevance labels are integers in [0, kMaxRelevance]; a label's gain is 2^label - 1.
constexpr int kMaxRelevance = 31;
inline double relevance_gain(double label) { return static_cast<double>((std::uint64_t{1} << static_cast<int>(label)) - 1); }

/// The documents of one query, ranked: positions 0..n-1 ordered by score, highest first, ties by
/// label, highest first. Documents of equal score and label are interchangeable (whatever their
/// row order, a ranking gives them the same values), which keeps every ranking computation
/// independent of the order of a query's rows.
struct RankedQuery {
  std::vector<std::uint32_t> order;  ///< order[p]: the query's document (offset from its first row) at position p
  std::vector<std::uint32_t> tie_end;  ///< tie_end[p]: one past the last position whose score equals position p's

  /// Ranks the n documents of `score` and `label` (a query's rows).
  void rank(const double* score, const double* label, std::size_t n);

 private:
  struct Key {
    double score, label;
    std::uint32_t document;
  };
  std::vector<Key> keys;
};

/// The discount of position p (0-based) in DCG@k: 1 / log2(p + 2) inside the top k, 0 beyond.
inline double dcg_discount(std::size_t p, int k);
/// DCG@k of a query's ideal order (labels highest first); 0 when no label is above 0.
double ideal_dcg(const double* label, std::size_t n, int k);

/// Ranking metrics of scores against relevance labels over query groups, as the mean over queries
/// weighted by each query's weight (its rows' weight, which the checks keep equal within a query):
/// "ndcg" (gains 2^label - 1; tied scores share their positions' mean discount, as scikit-learn's
/// ndcg_score; a query whose labels are all 0 scores 1, as LightGBM and XGBoost) and "map" (a
/// document is relevant when its label is above 0; ties ranked with the least relevant first; a
/// query without relevant documents scores 1). k <= 0 means all positions. Same value on every
/// thread count.
double ranking_metric(const std::string& metric, int k, const TrainData& data, const double* score, int n_threads);

/// Throws unless `data` holds query groups, labels are integers in [0, kMaxRelevance] and each
/// query's rows share one weight. `what` names the objective or metric in the message.
void check_ranking_data(const TrainData& data, const std::string& what);

inline double dcg_discount(std::size_t p, int k) {
  return (k <= 0 || p < static_cast<std::size_t>(k)) ? 1.0 / std::log2(static_cast<double>(p) + 2.0) : 0.0;
}

}  // namespace treeforge
