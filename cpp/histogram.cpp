// Histogram building over a node's rows (row-major codes, per-thread partial histograms) and subtraction.
#include "histogram.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "parallel.hpp"

namespace treeforge {

namespace {

// Below this many rows per thread the fork/join and the reduction cost more than they save.
constexpr std::size_t kMinRowsPerThread = 4096;

/// The largest power of two s with n * max_abs * s <= 2^62 (1 if max_abs is 0).
double power_of_two_scale(double max_abs, std::size_t n) {
  if (!(max_abs > 0) || !std::isfinite(max_abs)) return 1.0;
  const double limit = std::ldexp(1.0, 62) / (static_cast<double>(n) * max_abs);
  return std::ldexp(1.0, static_cast<int>(std::floor(std::log2(limit))));
}

void accumulate_rows(const BinnedMatrix& X, Span<const GradPair> gh, const GradScale& scale, const row_t* rows,
                     std::size_t n_rows, HistBin* hist) {
  const int n_features = X.n_features;
  const int* offset = X.hist_offset.data();
  for (std::size_t i = 0; i < n_rows; ++i) {
    const row_t r = rows[i];
    const HistBin q = scale.quantise(gh[r]);
    const bin_t* code = X.row(r);
    for (int f = 0; f < n_features; ++f) {
      HistBin& b = hist[offset[f] + code[f]];
      b.grad += q.grad;
      b.hess += q.hess;
      b.count += 1;
    }
  }
}

}  // namespace

GradScale GradScale::fit(Span<const GradPair> gh, Span<const row_t> rows, int n_threads) {
  const std::size_t n = rows.empty() ? gh.size : rows.size;
  constexpr std::size_t kBlock = 1 << 16;
  const std::size_t blocks = n_blocks(n, kBlock);
  std::vector<double> max_grad(blocks, 0.0), max_hess(blocks, 0.0);
  parallel_for(blocks, n_threads, [&](std::size_t b) {
    double mg = 0, mh = 0;
    for (std::size_t i = b * kBlock, end = std::min(n, (b + 1) * kBlock); i < end; ++i) {
      const GradPair p = gh[rows.empty() ? i : rows[i]];
      mg = std::max(mg, std::fabs(static_cast<double>(p.grad)));
      mh = std::max(mh, std::fabs(static_cast<double>(p.hess)));
    }
    max_grad[b] = mg;
    max_hess[b] = mh;
  });
  // max is exact and order-free, so the scales do not depend on the thread count.
  const double mg = blocks ? *std::max_element(max_grad.begin(), max_grad.end()) : 0.0;
  const double mh = blocks ? *std::max_element(max_hess.begin(), max_hess.end()) : 0.0;
  return {power_of_two_scale(mg, std::max<std::size_t>(n, 1)), power_of_two_scale(mh, std::max<std::size_t>(n, 1))};
}

HistogramBuilder::HistogramBuilder(const BinnedMatrix& X, int n_threads)
    : X_(X), n_threads_(std::max(1, n_threads)), n_slots_(X.n_hist_slots()) {}

void HistogramBuilder::build(Span<const GradPair> gh, const GradScale& scale, Span<const row_t> rows, HistBin* out) {
  const std::size_t n = rows.size;
  const int threads = static_cast<int>(std::max<std::size_t>(1, std::min<std::size_t>(n_threads_, n / kMinRowsPerThread)));
  std::fill(out, out + n_slots_, HistBin{});
  if (threads <= 1) {
    accumulate_rows(X_, gh, scale, rows.data, n, out);
    return;
  }
  if (static_cast<int>(thread_hist_.size()) < threads - 1) thread_hist_.resize(threads - 1);
  for (auto& h : thread_hist_) h.assign(n_slots_, HistBin{});
  // Thread t sums rows [t*n/T, (t+1)*n/T) into its own histogram (thread 0 straight into out).
  parallel_for(threads, threads, [&](std::size_t t) {
    const std::size_t begin = n * t / threads, end = n * (t + 1) / threads;
    HistBin* hist = t == 0 ? out : thread_hist_[t - 1].data();
    accumulate_rows(X_, gh, scale, rows.data + begin, end - begin, hist);
  });
  // Integer sums: the order of this reduction cannot change the result.
  constexpr std::size_t kSlotBlock = 1024;
  parallel_for(n_blocks(n_slots_, kSlotBlock), threads, [&](std::size_t b) {
    const std::size_t end = std::min<std::size_t>(n_slots_, (b + 1) * kSlotBlock);
    for (int t = 0; t < threads - 1; ++t) {
      const HistBin* part = thread_hist_[t].data();
      for (std::size_t s = b * kSlotBlock; s < end; ++s) out[s] += part[s];
    }
  });
}

void HistogramBuilder::subtract(HistBin* parent, const HistBin* smaller) const {
  for (int s = 0; s < n_slots_; ++s) parent[s] -= smaller[s];
}

HistBin* HistogramPool::acquire() {
  if (free_.empty()) {
    storage_.emplace_back(new HistBin[n_slots_]);
    return storage_.back().get();
  }
  HistBin* h = free_.back();
  free_.pop_back();
  return h;
}

void HistogramPool::release(HistBin* hist) {
  if (hist) free_.push_back(hist);
}

}  // namespace treeforge
