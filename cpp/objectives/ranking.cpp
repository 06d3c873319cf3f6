// Ranking objectives over query groups: LambdaMART for NDCG@k, RankNet's pairwise logistic loss, listwise softmax cross-entropy.
#include <algorithm>
#include <array>
#include <cmath>

#include "core/fast_exp.hpp"
#include "objectives/objective.hpp"
#include "objectives/ranking.hpp"

namespace treeforge {

namespace {

/// log(1 + exp(x)) without overflow.
double softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

/// The terms of the pairs (p, q > p) of ranked positions with weights w[q] under the logistic loss
/// of ordering the more relevant first: lambda[q] (the push on q, the opposite on p) and
/// pair_hess[q], added to grad[q] and hess[q]. No calls or branches: the loop vectorises.
TREEFORGE_VECTOR_CLONES
void pair_terms(const double* __restrict score, const double* __restrict label, const double* __restrict w,
                std::size_t p, std::size_t n, double* __restrict lambda, double* __restrict pair_hess,
                double* __restrict grad, double* __restrict hess) {
  const double score_p = score[p], label_p = label[p];
  for (std::size_t q = p + 1; q < n; ++q) {
    const double sign = label_p > label[q] ? 1.0 : -1.0;
    const double rho = 1.0 / (1.0 + exp_no_call(sign * (score_p - score[q])));  // P(the pair misordered)
    lambda[q] = sign * w[q] * rho;
    pair_hess[q] = w[q] * rho * (1.0 - rho);
    grad[q] += lambda[q];
    hess[q] += pair_hess[q];
  }
}

/// What one query's gradients need beside its rows, by ranked position: reused from query to query.
struct QueryScratch {
  RankedQuery ranked;
  std::vector<double> score, label, gain;  ///< of the document at each position
  std::vector<double> grad, hess;          ///< by position; by document once a query is done
  std::vector<double> mean_discount, tie_gap, pair_weight, lambda, pair_hess;

  /// Ranks the query and lays its scores, labels and gains out by position; zeroes grad and hess.
  void rank(const double* s, const double* y, std::size_t n) {
    ranked.rank(s, y, n);
    for (auto* v : {&score, &label, &gain, &grad, &hess, &pair_weight, &lambda, &pair_hess}) v->assign(n, 0.0);
    for (std::size_t p = 0; p < n; ++p) {
      score[p] = s[ranked.order[p]];
      label[p] = y[ranked.order[p]];
      gain[p] = relevance_gain(label[p]);
    }
  }

  /// The pairs (p, q) for q > p with weights pair_weight[q] (0: no pair): their gradients and
  /// hessians added by position (pair_terms), the loss of the pairs returned when asked. Position
  /// p's own sums run in q order, so documents of equal score and label get bit-identical sums.
  double add_pairs(std::size_t p, std::size_t n, bool with_loss) {
    pair_terms(score.data(), label.data(), pair_weight.data(), p, n, lambda.data(), pair_hess.data(), grad.data(),
               hess.data());
    const double* __restrict l = lambda.data();
    const double* __restrict ph = pair_hess.data();
    double g_p = 0, h_p = 0, loss = 0;
    for (std::size_t q = p + 1; q < n; ++q) {
      g_p -= l[q];
      h_p += ph[q];
    }
    grad[p] += g_p;
    hess[p] += h_p;
    if (with_loss)
      for (std::size_t q = p + 1; q < n; ++q)
        if (pair_weight[q] > 0)
          loss += pair_weight[q] * softplus((label[p] > label[q] ? -1.0 : 1.0) * (score[p] - score[q]));
    return loss;
  }
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
    for_each_query(data, margin.data, n_threads, false, [&](std::size_t, std::size_t begin, const QueryScratch& s, double) {
      const double w = data.weight_of(begin);
      for (std::size_t p = 0; p < s.grad.size(); ++p)
        gh[begin + s.ranked.order[p]] = {static_cast<float>(w * s.grad[p]), static_cast<float>(w * s.hess[p])};
    });
  }

  double loss(const TrainData& data, Span<const double> margin, int n_threads) const override {
    std::vector<double> losses(data.group_begin.size() - 1);
    for_each_query(data, margin.data, n_threads, true,
                   [&](std::size_t q, std::size_t, const QueryScratch&, double loss) { losses[q] = loss; });
    double sum = 0, total_weight = 0;
    for (std::size_t q = 0; q < losses.size(); ++q) sum += data.weight_of(data.group_begin[q]) * losses[q];
    for (std::size_t i = 0; i < data.y.size(); ++i) total_weight += data.weight_of(i);
    return total_weight > 0 ? sum / total_weight : 0.0;
  }

 protected:
  /// Fills s.grad and s.hess by position (s.rank done) with the query's unweighted gradients and
  /// hessians, and returns its loss when asked; called for queries with two labels or more.
  virtual double query_gradients(QueryScratch& s, std::size_t n, bool with_loss) const = 0;

 private:
  /// Runs query_gradients on every query in parallel, then done(q, first row, scratch, loss).
  template <class Done>
  void for_each_query(const TrainData& data, const double* margin, int n_threads, bool with_loss, Done done) const {
    parallel_for_dynamic(data.group_begin.size() - 1, n_threads, [&](std::size_t q) {
      thread_local QueryScratch s;
      const std::size_t begin = data.group_begin[q], n = data.group_begin[q + 1] - begin;
      const double* label = data.y.data() + begin;
      s.rank(margin + begin, label, n);
      const bool all_equal = std::all_of(label, label + n, [&](double y) { return y == label[0]; });
      done(q, begin, s, all_equal ? 0.0 : query_gradients(s, n, with_loss));
    });
  }
};

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
  double query_gradients(QueryScratch& s, std::size_t n, bool with_loss) const override {
    const double ideal = ideal_dcg(s.label.data(), n, k_);
    if (ideal <= 0) return 0.0;
    tie_discounts(s, n);
    const double* __restrict mean = s.mean_discount.data();
    const double* __restrict gain = s.gain.data();
    double* __restrict weight = s.pair_weight.data();
    double loss = 0;
    for (std::size_t p = 0; p < n && (mean[p] > 0 || s.tie_gap[p] > 0); ++p) {
      // Positions p..tie_end - 1 share p's tie: their pairs take the tie's expected gap.
      const std::size_t tie_end = s.ranked.tie_end[p];
      const double tie_gap = s.tie_gap[p], mean_p = mean[p], gain_p = gain[p];
      for (std::size_t q = p + 1; q < n; ++q) {
        const double gap = q < tie_end ? tie_gap : mean_p - mean[q];
        weight[q] = std::abs(gain_p - gain[q]) * gap / ideal;  // |change of NDCG@k| of the swap
      }
      loss += s.add_pairs(p, n, with_loss);
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
  double query_gradients(QueryScratch& s, std::size_t n, bool with_loss) const override {
    std::array<double, kMaxRelevance + 1> count{};
    for (std::size_t p = 0; p < n; ++p) count[static_cast<int>(s.label[p])] += 1;
    double same = 0;
    for (double c : count) same += c * c;
    const double weight = static_cast<double>(n) / ((static_cast<double>(n) * n - same) / 2);
    double loss = 0;
    for (std::size_t p = 0; p < n; ++p) {
      for (std::size_t q = p + 1; q < n; ++q) s.pair_weight[q] = s.label[p] != s.label[q] ? weight : 0.0;
      loss += s.add_pairs(p, n, with_loss);
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
  double query_gradients(QueryScratch& s, std::size_t n, bool) const override {
    const double top = s.score[0];
    double z = 0, total_gain = 0;
    for (std::size_t p = 0; p < n; ++p) {
      z += std::exp(s.score[p] - top);
      total_gain += s.gain[p];
    }
    if (total_gain <= 0) return 0.0;
    const double log_z = top + std::log(z), rows = static_cast<double>(n);
    double loss = 0;
    for (std::size_t p = 0; p < n; ++p) {
      const double prob = std::exp(s.score[p] - log_z), target = s.gain[p] / total_gain;
      s.grad[p] = rows * (prob - target);
      s.hess[p] = rows * std::max(prob * (1.0 - prob), 1e-16);
      loss += rows * target * (log_z - s.score[p]);
    }
    return loss;
  }
};

}  // namespace

std::unique_ptr<Objective> make_lambdarank(int truncation) { return std::make_unique<LambdaRank>(truncation); }
std::unique_ptr<Objective> make_rank_pairwise() { return std::make_unique<RankPairwise>(); }
std::unique_ptr<Objective> make_rank_listwise() { return std::make_unique<RankListwise>(); }

}  // namespace treeforge
