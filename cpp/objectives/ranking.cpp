// Ranking objectives over query groups: LambdaMART for NDCG@k, RankNet's pairwise logistic loss, listwise softmax cross-entropy.
#include <algorithm>
#include <array>
#include <cmath>

#include "objectives/objective.hpp"
#include "objectives/ranking.hpp"

namespace treeforge {

namespace {

/// log(1 + exp(x)) without overflow.
double softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

/// What one query's gradients need beside its rows: reused from query to query.
struct QueryScratch {
  RankedQuery ranked;
  std::vector<double> grad, hess, mean_discount, tie_gap;
};

/// A loss summed over query groups. Each query's gradients depend on its own labels and scores
/// only, so queries are computed side by side. Every query is worked on in ranked order, in which
/// interchangeable documents (equal score and label) are given identical values: the gradients
/// follow the rows whatever their order within a query. A query whose labels are all equal has
/// nothing to order and contributes nothing. A query's weight (its rows' weight) multiplies its
/// loss, gradients and hessians; the mean loss is divided by the total weight of the rows.
class QueryObjective : public Objective {
 public:
  int n_outputs() const override { return 1; }
  void check_labels(const TrainData& data) const override { check_ranking_data(data, name()); }
  // A ranking ignores a constant added to every score: boosting starts from 0.
  std::vector<double> base_score(const TrainData&) const override { return {0.0}; }
  void inverse_link(Span<double>) const override {}

  void gradients(const TrainData& data, Span<const double> margin, Span<GradPair> gh, int n_threads) const override {
    for_each_query(data, margin.data, n_threads, [&](std::size_t, std::size_t begin, const QueryScratch& s, double) {
      const double w = data.weight_of(begin);
      for (std::size_t i = 0; i < s.grad.size(); ++i)
        gh[begin + i] = {static_cast<float>(w * s.grad[i]), static_cast<float>(w * s.hess[i])};
    });
  }

  double loss(const TrainData& data, Span<const double> margin, int n_threads) const override {
    std::vector<double> losses(data.group_begin.size() - 1);
    for_each_query(data, margin.data, n_threads,
                   [&](std::size_t q, std::size_t, const QueryScratch&, double loss) { losses[q] = loss; });
    double sum = 0, total_weight = 0;
    for (std::size_t q = 0; q < losses.size(); ++q) sum += data.weight_of(data.group_begin[q]) * losses[q];
    for (std::size_t i = 0; i < data.y.size(); ++i) total_weight += data.weight_of(i);
    return total_weight > 0 ? sum / total_weight : 0.0;
  }

 protected:
  /// Fills s.grad and s.hess (zeroed, n each, by document) with the query's unweighted gradients
  /// and hessians and returns its loss; called for queries with at least two different labels.
  virtual double query_gradients(QueryScratch& s, const double* score, const double* label, std::size_t n) const = 0;

 private:
  /// Runs query_gradients on every query in parallel, then done(q, first row, scratch, loss).
  template <class Done>
  void for_each_query(const TrainData& data, const double* margin, int n_threads, Done done) const {
    parallel_for_dynamic(data.group_begin.size() - 1, n_threads, [&](std::size_t q) {
      thread_local QueryScratch s;
      const std::size_t begin = data.group_begin[q], n = data.group_begin[q + 1] - begin;
      const double* label = data.y.data() + begin;
      s.grad.assign(n, 0.0);
      s.hess.assign(n, 0.0);
      const bool all_equal = std::all_of(label, label + n, [&](double y) { return y == label[0]; });
      done(q, begin, s, all_equal ? 0.0 : query_gradients(s, margin + begin, label, n));
    });
  }
};

/// Adds the logistic loss of ordering document `hi` above `lo` (hi's label is the higher), with
/// pair weight `weight`, to the gradients and hessians; returns the pair's loss.
inline double add_pair(QueryScratch& s, const double* score, std::uint32_t hi, std::uint32_t lo, double weight) {
  const double d = score[hi] - score[lo];
  const double rho = 1.0 / (1.0 + std::exp(d));  // sigmoid(-d): the chance the pair is ordered wrongly
  s.grad[hi] -= weight * rho;
  s.grad[lo] += weight * rho;
  const double h = weight * rho * (1.0 - rho);
  s.hess[hi] += h;
  s.hess[lo] += h;
  return weight * softplus(-d);
}

/// LambdaMART (Burges 2010) for NDCG@k: every pair of different labels weighted by how much NDCG@k
/// would change were the two swapped in the current ranking. Positions beyond k count nothing, so a
/// pair of documents both beyond k is skipped. Documents of tied scores hold their positions in
/// every order with equal chance: their discount is the mean over the tie's positions, and a pair
/// inside one tie takes the expected discount gap of two of its positions. The loss is the
/// pairs' logistic losses under those weights.
class LambdaRank final : public QueryObjective {
 public:
  explicit LambdaRank(int truncation) : k_(truncation) {}
  std::string name() const override { return "lambdarank:" + std::to_string(k_); }

 protected:
  double query_gradients(QueryScratch& s, const double* score, const double* label, std::size_t n) const override {
    const double ideal = ideal_dcg(label, n, k_);
    if (ideal <= 0) return 0.0;
    s.ranked.rank(score, label, n);
    tie_discounts(s, n);
    const auto& order = s.ranked.order;
    double loss = 0;
    for (std::size_t p = 0; p < n && (s.mean_discount[p] > 0 || s.tie_gap[p] > 0); ++p) {
      const std::uint32_t i = order[p];
      for (std::size_t q = p + 1; q < n; ++q) {
        const std::uint32_t j = order[q];
        if (label[i] == label[j]) continue;
        const bool same_tie = s.ranked.tie_end[p] == s.ranked.tie_end[q];
        const double gap = same_tie ? s.tie_gap[p] : s.mean_discount[p] - s.mean_discount[q];
        if (gap <= 0) continue;
        const double delta_ndcg = std::abs(relevance_gain(label[i]) - relevance_gain(label[j])) * gap / ideal;
        loss += label[i] > label[j] ? add_pair(s, score, i, j, delta_ndcg) : add_pair(s, score, j, i, delta_ndcg);
      }
    }
    return loss;
  }

 private:
  /// Per position: the mean discount of its tie's positions, and the expected discount gap of two
  /// distinct positions of the tie drawn at random (0 for a tie of one).
  void tie_discounts(QueryScratch& s, std::size_t n) const {
    s.mean_discount.resize(n);
    s.tie_gap.resize(n);
    for (std::size_t a = 0; a < n; a = s.ranked.tie_end[a]) {
      const std::size_t e = s.ranked.tie_end[a], m = e - a;
      double sum = 0, gap = 0;
      // Discounts do not rise with position, so the mean gap of pairs is a weighted sum.
      for (std::size_t t = 0; t < m; ++t) {
        sum += dcg_discount(a + t, k_);
        gap += dcg_discount(a + t, k_) * (static_cast<double>(m) - 1.0 - 2.0 * t);
      }
      const double mean = sum / m, pair_gap = m > 1 ? 2.0 * gap / (static_cast<double>(m) * (m - 1.0)) : 0.0;
      for (std::size_t p = a; p < e; ++p) s.mean_discount[p] = mean, s.tie_gap[p] = pair_gap;
    }
  }

  int k_;
};

/// RankNet (Burges et al. 2005): the logistic loss of every pair of documents of different labels,
/// scaled so that a query's loss is its number of documents times the mean over its pairs (a
/// query counts as much as its rows, as in a per-row loss).
class RankPairwise final : public QueryObjective {
 public:
  std::string name() const override { return "rank_pairwise"; }

 protected:
  double query_gradients(QueryScratch& s, const double* score, const double* label, std::size_t n) const override {
    std::array<double, kMaxRelevance + 1> count{};
    for (std::size_t i = 0; i < n; ++i) count[static_cast<int>(label[i])] += 1;
    double same = 0;
    for (double c : count) same += c * c;
    const double n_pairs = (static_cast<double>(n) * n - same) / 2;
    const double weight = static_cast<double>(n) / n_pairs;
    s.ranked.rank(score, label, n);
    const auto& order = s.ranked.order;
    double loss = 0;
    for (std::size_t p = 0; p < n; ++p)
      for (std::size_t q = p + 1; q < n; ++q) {
        const std::uint32_t i = order[p], j = order[q];
        if (label[i] != label[j])
          loss += label[i] > label[j] ? add_pair(s, score, i, j, weight) : add_pair(s, score, j, i, weight);
      }
    return loss;
  }
};

/// Listwise softmax cross-entropy (ListNet's top-one probabilities, Cao et al. 2007): the query's
/// scores through a softmax against the target distribution t_i = (2^label_i - 1) / sum of the
/// query's gains, times the query's number of documents. Gradient n (p_i - t_i); hessian the
/// diagonal of the softmax's, n p_i (1 - p_i).
class RankListwise final : public QueryObjective {
 public:
  std::string name() const override { return "rank_listwise"; }

 protected:
  double query_gradients(QueryScratch& s, const double* score, const double* label, std::size_t n) const override {
    s.ranked.rank(score, label, n);
    const auto& order = s.ranked.order;
    const double top = score[order[0]];
    double z = 0, total_gain = 0;
    for (std::size_t p = 0; p < n; ++p) {
      z += std::exp(score[order[p]] - top);
      total_gain += relevance_gain(label[order[p]]);
    }
    if (total_gain <= 0) return 0.0;
    const double log_z = top + std::log(z), rows = static_cast<double>(n);
    double loss = 0;
    for (std::size_t p = 0; p < n; ++p) {
      const std::uint32_t i = order[p];
      const double prob = std::exp(score[i] - log_z), target = relevance_gain(label[i]) / total_gain;
      s.grad[i] = rows * (prob - target);
      s.hess[i] = rows * std::max(prob * (1.0 - prob), 1e-16);
      loss += rows * target * (log_z - score[i]);
    }
    return loss;
  }
};

}  // namespace

std::unique_ptr<Objective> make_lambdarank(int truncation) { return std::make_unique<LambdaRank>(truncation); }
std::unique_ptr<Objective> make_rank_pairwise() { return std::make_unique<RankPairwise>(); }
std::unique_ptr<Objective> make_rank_listwise() { return std::make_unique<RankListwise>(); }

}  // namespace treeforge
