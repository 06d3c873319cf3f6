// Histogram of quantised gradient sums per (feature, bin), the build kernel and the subtraction trick.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common.hpp"
#include "dataset.hpp"

namespace treeforge {

/// Sums over a set of rows in fixed point: grad and hess are integers in units of 1/scale.
///
/// Integer sums are exact and independent of the order of addition, so a histogram built by any
/// number of threads, in any split of the rows, is bit-identical; and the subtraction trick
/// (sibling = parent - child) loses nothing. See GradScale for the precision.
struct HistBin {
  std::int64_t grad = 0;
  std::int64_t hess = 0;
  std::int64_t count = 0;

  HistBin& operator+=(const HistBin& o) {
    grad += o.grad;
    hess += o.hess;
    count += o.count;
    return *this;
  }
  HistBin& operator-=(const HistBin& o) {
    grad -= o.grad;
    hess -= o.hess;
    count -= o.count;
    return *this;
  }
  friend HistBin operator+(HistBin a, const HistBin& b) { return a += b; }
  friend HistBin operator-(HistBin a, const HistBin& b) { return a -= b; }
};

/// Fixed-point scales of one tree's gradients: q = trunc(g * grad_scale).
///
/// The scales are the largest powers of two for which the sum of |q| over all rows stays below
/// 2^62, so no partial sum can overflow; with 10^6 rows a gradient keeps about 42 bits of
/// precision relative to the largest one, far beyond float's 24 bits it is stored in.
struct GradScale {
  double grad_scale = 1.0;
  double hess_scale = 1.0;

  /// Scales for gradients of the given rows (all rows if `rows` is empty).
  static GradScale fit(Span<const GradPair> gh, Span<const row_t> rows, int n_threads);

  HistBin quantise(GradPair p) const {
    return {static_cast<std::int64_t>(static_cast<double>(p.grad) * grad_scale),
            static_cast<std::int64_t>(static_cast<double>(p.hess) * hess_scale), 1};
  }
  double grad(std::int64_t q) const { return static_cast<double>(q) / grad_scale; }
  double hess(std::int64_t q) const { return static_cast<double>(q) / hess_scale; }
};

/// Builds histograms of a BinnedMatrix; holds per-thread scratch buffers, so one builder serves
/// one grower at a time (not thread-safe itself; it parallelises internally).
class HistogramBuilder {
 public:
  HistogramBuilder(const BinnedMatrix& X, int n_threads);

  /// out[hist_offset[f] + code] = sum over `rows` of the quantised gradients; out has n_hist_slots() bins.
  void build(Span<const GradPair> gh, const GradScale& scale, Span<const row_t> rows, HistBin* out);

  /// larger = parent - smaller, in place over `parent` (which becomes the larger child's histogram).
  void subtract(HistBin* parent, const HistBin* smaller) const;

  int n_slots() const { return n_slots_; }

 private:
  const BinnedMatrix& X_;
  int n_threads_;
  int n_slots_;
  std::vector<std::vector<HistBin>> thread_hist_;  // one per extra thread
};

/// Fixed-size buffers for the histograms of open leaves; a buffer is taken when a leaf may be split
/// and handed to its larger child or released when it is done.
class HistogramPool {
 public:
  explicit HistogramPool(int n_slots) : n_slots_(n_slots) {}
  HistBin* acquire();
  void release(HistBin* hist);

 private:
  int n_slots_;
  std::vector<std::unique_ptr<HistBin[]>> storage_;
  std::vector<HistBin*> free_;
};

}  // namespace treeforge
