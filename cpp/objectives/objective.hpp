// Objective: the loss interface, its name registry, and the shared per-row kernel for elementwise losses.
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "core/common.hpp"
#include "data/train_data.hpp"
#include "core/parallel.hpp"

namespace treeforge {

/// The inverse of a log link, saturating at the largest double: a margin past log(DBL_MAX) (which
/// only a damaged model file can hold) predicts DBL_MAX, never inf.
inline double exp_link(double margin) { return std::exp(std::min(margin, 709.782712893384)); }

/// A differentiable loss on margins (raw scores before the link).
///
/// Margins and gradients of K outputs are stored output-major: element k * n_rows + i.
/// Losses are weighted means of scikit-learn's per-row losses (half squared error, log loss, half
/// Poisson and Gamma deviance up to constants), so their negatives are scikit-learn's scores.
/// Objects are immutable and thread-safe.
class Objective {
 public:
  virtual ~Objective() = default;
  virtual std::string name() const = 0;
  virtual int n_outputs() const = 0;
  /// Throws std::invalid_argument when a label is outside the loss's domain.
  virtual void check_labels(const TrainData& data) const = 0;
  /// Best constant margin per output (the boosting starting point).
  virtual std::vector<double> base_score(const TrainData& data) const = 0;
  /// gh[k * n + i] for every row i and output k, from margin (same layout); weights applied.
  virtual void gradients(const TrainData& data, Span<const double> margin, Span<GradPair> gh, int n_threads) const = 0;
  /// Weighted mean loss; reduced in fixed blocks, so the value does not depend on n_threads.
  virtual double loss(const TrainData& data, Span<const double> margin, int n_threads) const = 0;
  /// Inverse link in place over a row-major (n_rows, n_outputs) block: identity, sigmoid, softmax, exp.
  virtual void inverse_link(Span<double> margin_rows) const = 0;

  /// Whether a grown tree's leaf values are replaced by renewed_leaf_value: for losses whose
  /// hessians are constant stand-ins (absolute error, quantile), so that the Newton step of the
  /// tree only chooses the splits and each leaf then gets the constant that minimises the loss
  /// over its training rows (a line search per leaf, as scikit-learn and LightGBM do).
  virtual bool renews_leaf_values() const { return false; }
  /// The best step for the rows `rows` (one leaf) of a single-output loss from margins `margin`
  /// (before the tree), before shrinkage. Deterministic: it does not depend on the order of `rows`.
  virtual double renewed_leaf_value(const TrainData& data, const double* margin, Span<const row_t> rows) const {
    (void)data, (void)margin, (void)rows;
    check_internal(false, "objective '", name(), "' does not renew leaf values");
    return 0.0;
  }
};

/// The objective called `name` ("squared_error", "binary_logloss", "multiclass_softmax",
/// "poisson", "gamma", "absolute_error", or a loss with its parameter after a colon:
/// "quantile:<q>", "huber:<delta>", "tweedie:<variance power>"; the ranking losses over query groups
/// "lambdarank:<k>", "rank_pairwise", "rank_listwise", objectives/ranking.hpp); throws std::invalid_argument for
/// an unknown name, a missing or out-of-range parameter, or a wrong output count. The whole
/// string, parameter included, is the objective's name in configs and model files.
std::unique_ptr<Objective> make_objective(const std::string& name, int n_outputs);

/// Weighted mean over rows of terms that fill(lo, n, out) writes for rows [lo, lo + n) into out
/// (n <= kTermRun): sum(w_i * term_i) / sum(w_i), summed row by row in fixed blocks, then in block
/// order, so the result is bit-identical for every thread count. Terms come in runs so that a
/// fill loop can vectorise.
constexpr std::size_t kTermRun = 1024;
template <class Fill>
double weighted_mean_of_runs(const TrainData& data, int n_threads, Fill fill) {
  constexpr std::size_t kBlock = 1 << 14;
  const std::size_t n = data.y.size();
  const std::size_t blocks = n_blocks(n, kBlock);
  std::vector<double> sums(blocks), weights(blocks);
  parallel_for(blocks, n_threads, [&](std::size_t b) {
    double s = 0, sw = 0;
    double term[kTermRun];
    for (std::size_t lo = b * kBlock, end = std::min(n, (b + 1) * kBlock); lo < end; lo += kTermRun) {
      const std::size_t run = std::min(kTermRun, end - lo);
      fill(lo, run, term);
      for (std::size_t k = 0; k < run; ++k) {
        const double w = data.weight.empty() ? 1.0 : data.weight[lo + k];
        s += w * term[k];
        sw += w;
      }
    }
    sums[b] = s;
    weights[b] = sw;
  });
  double s = 0, sw = 0;
  for (std::size_t b = 0; b < blocks; ++b) {
    s += sums[b];
    sw += weights[b];
  }
  return sw > 0 ? s / sw : 0.0;
}

/// The same for a term(i) of one row at a time.
template <class Term>
double weighted_mean(const TrainData& data, int n_threads, Term term) {
  return weighted_mean_of_runs(data, n_threads, [&](std::size_t lo, std::size_t n, double* out) {
    for (std::size_t k = 0; k < n; ++k) out[k] = term(lo + k);
  });
}

/// An Objective built from a per-row Loss functor with members (static, or reading the loss's
/// parameter): kName; grad_hess(y, margin) -> GradPair (unweighted); loss(y, margin);
/// base_margin(mean_y); inverse_link(margin); check_label(y) -> bool; kLabelDomain (text for
/// errors). Losses with a leaf renewal or another base score derive from it.
template <class Loss>
class ElementwiseObjective : public Objective {
 public:
  explicit ElementwiseObjective(Loss loss = Loss{}) : loss_(loss) {}
  std::string name() const override { return Loss::kName; }
  int n_outputs() const override { return 1; }

  void check_labels(const TrainData& data) const override {
    for (std::size_t i = 0; i < data.y.size(); ++i)
      check(loss_.check_label(data.y[i]), Loss::kName, " needs ", Loss::kLabelDomain, ", got y=", data.y[i], " at row ", i);
  }

  std::vector<double> base_score(const TrainData& data) const override {
    return {loss_.base_margin(weighted_mean(data, 1, [&](std::size_t i) { return data.y[i]; }))};
  }

  void gradients(const TrainData& data, Span<const double> margin, Span<GradPair> gh, int n_threads) const override {
    constexpr std::size_t kBlock = 1 << 14;
    const std::size_t n = data.y.size();
    parallel_for(n_blocks(n, kBlock), n_threads, [&](std::size_t b) {
      const std::size_t lo = b * kBlock, hi = std::min(n, (b + 1) * kBlock);
      gradient_run(loss_, data.y.data() + lo, margin.data + lo, data.weight.empty() ? nullptr : data.weight.data() + lo,
                   gh.data + lo, hi - lo);
    });
  }

  double loss(const TrainData& data, Span<const double> margin, int n_threads) const override {
    return weighted_mean_of_runs(data, n_threads, [&](std::size_t lo, std::size_t n, double* out) {
      loss_run(loss_, data.y.data() + lo, margin.data + lo, out, n);
    });
  }

  void inverse_link(Span<double> margin_rows) const override {
    for (double& m : margin_rows) m = loss_.inverse_link(m);
  }

 protected:
  const Loss loss_;

 private:
  // Two plain loops, not one with a test per row, so the compiler can vectorise them.
  TREEFORGE_VECTOR_CLONES
  static void gradient_run(const Loss loss, const double* y, const double* m, const double* w, GradPair* out,
                           std::size_t n) {
    if (!w) {
      for (std::size_t i = 0; i < n; ++i) out[i] = loss.grad_hess(y[i], m[i]);
      return;
    }
    for (std::size_t i = 0; i < n; ++i) {
      const GradPair p = loss.grad_hess(y[i], m[i]);
      out[i] = {static_cast<float>(p.grad * w[i]), static_cast<float>(p.hess * w[i])};
    }
  }
  TREEFORGE_VECTOR_CLONES
  static void loss_run(const Loss loss, const double* y, const double* m, double* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out[i] = loss.loss(y[i], m[i]);
  }
};

/// An objective's per-row gradients, hessians and mean loss at `margin` (output-major), after
/// checking the labels: the objective run once on explicit inputs, for tests.
struct GradientProbe {
  std::vector<double> grad, hess;
  double loss = 0.0;
};
GradientProbe probe_gradients(const std::string& name, int n_outputs, const TrainData& data,
                              const std::vector<double>& margin);

std::unique_ptr<Objective> make_squared_error();
std::unique_ptr<Objective> make_binary_logloss();
std::unique_ptr<Objective> make_multiclass_softmax(int n_classes);
std::unique_ptr<Objective> make_poisson();
std::unique_ptr<Objective> make_gamma();
std::unique_ptr<Objective> make_absolute_error();
std::unique_ptr<Objective> make_quantile(double quantile);
std::unique_ptr<Objective> make_huber(double delta);
std::unique_ptr<Objective> make_tweedie(double variance_power);
std::unique_ptr<Objective> make_lambdarank(int truncation);
std::unique_ptr<Objective> make_rank_pairwise();
std::unique_ptr<Objective> make_rank_listwise();

}  // namespace treeforge
