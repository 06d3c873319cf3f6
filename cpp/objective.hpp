// Objective: the loss interface, its name registry, and the shared per-row kernel for elementwise losses.
#pragma once

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "common.hpp"
#include "dataset.hpp"
#include "parallel.hpp"

namespace treeforge {

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
};

/// The objective called `name` ("squared_error", "binary_logloss", "multiclass_softmax",
/// "poisson", "gamma"); throws std::invalid_argument for an unknown name or output count.
std::unique_ptr<Objective> make_objective(const std::string& name, int n_outputs);

/// Weighted mean of term(i) over rows: sum(w_i * term(i)) / sum(w_i), summed in fixed blocks then in
/// block order, so the result is bit-identical for every thread count.
template <class Term>
double weighted_mean(const TrainData& data, int n_threads, Term term) {
  constexpr std::size_t kBlock = 1 << 14;
  const std::size_t n = data.y.size;
  const std::size_t blocks = n_blocks(n, kBlock);
  std::vector<double> sums(blocks), weights(blocks);
  parallel_for(blocks, n_threads, [&](std::size_t b) {
    double s = 0, sw = 0;
    for (std::size_t i = b * kBlock, end = std::min(n, (b + 1) * kBlock); i < end; ++i) {
      const double w = data.weight.empty() ? 1.0 : data.weight[i];
      s += w * term(i);
      sw += w;
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

/// An Objective built from a per-row Loss functor with static members:
///   name; grad_hess(y, margin) -> GradPair (unweighted); loss(y, margin); base_margin(mean_y);
///   inverse_link(margin); check_label(y) -> bool; label_domain (text for errors).
template <class Loss>
class ElementwiseObjective final : public Objective {
 public:
  std::string name() const override { return Loss::kName; }
  int n_outputs() const override { return 1; }

  void check_labels(const TrainData& data) const override {
    for (std::size_t i = 0; i < data.y.size; ++i)
      check(Loss::check_label(data.y[i]), Loss::kName, " needs ", Loss::kLabelDomain, ", got y=", data.y[i], " at row ", i);
  }

  std::vector<double> base_score(const TrainData& data) const override {
    return {Loss::base_margin(weighted_mean(data, 1, [&](std::size_t i) { return data.y[i]; }))};
  }

  void gradients(const TrainData& data, Span<const double> margin, Span<GradPair> gh, int n_threads) const override {
    constexpr std::size_t kBlock = 1 << 14;
    const std::size_t n = data.y.size;
    parallel_for(n_blocks(n, kBlock), n_threads, [&](std::size_t b) {
      const std::size_t lo = b * kBlock, hi = std::min(n, (b + 1) * kBlock);
      gradient_run(data.y.data + lo, margin.data + lo, data.weight.empty() ? nullptr : data.weight.data + lo,
                   gh.data + lo, hi - lo);
    });
  }

  double loss(const TrainData& data, Span<const double> margin, int n_threads) const override {
    return weighted_mean(data, n_threads, [&](std::size_t i) { return Loss::loss(data.y[i], margin[i]); });
  }

  void inverse_link(Span<double> margin_rows) const override {
    for (double& m : margin_rows) m = Loss::inverse_link(m);
  }

 private:
  // Two plain loops, not one with a test per row, so the compiler can vectorise them.
  TREEFORGE_VECTOR_CLONES
  static void gradient_run(const double* y, const double* m, const double* w, GradPair* out, std::size_t n) {
    if (!w) {
      for (std::size_t i = 0; i < n; ++i) out[i] = Loss::grad_hess(y[i], m[i]);
      return;
    }
    for (std::size_t i = 0; i < n; ++i) {
      const GradPair p = Loss::grad_hess(y[i], m[i]);
      out[i] = {static_cast<float>(p.grad * w[i]), static_cast<float>(p.hess * w[i])};
    }
  }
};

std::unique_ptr<Objective> make_squared_error();
std::unique_ptr<Objective> make_binary_logloss();
std::unique_ptr<Objective> make_multiclass_softmax(int n_classes);
std::unique_ptr<Objective> make_poisson();
std::unique_ptr<Objective> make_gamma();

}  // namespace treeforge
