// Histogram building over a node's rows (row-major codes, per-thread partial histograms) and subtraction.
#include "histogram.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "parallel.hpp"

namespace treeforge {

namespace {

// Below this many rows per thread the fork/join and the reduction cost more than they save.
constexpr std::size_t kMinRowsPerThread = 4096;

template <class Criterion>
void accumulate_rows(const BinnedMatrix& X, const Criterion& criterion, const row_t* rows, std::size_t n_rows,
                     std::int64_t* hist) {
  const int n_features = X.n_features;
  const int stride = criterion.n_channels();
  // Each feature's first slot, so the inner loop is one add of code * stride.
  std::vector<std::int64_t*> feature_hist(n_features);
  for (int f = 0; f < n_features; ++f) feature_hist[f] = hist + static_cast<std::size_t>(X.hist_offset[f]) * stride;
  std::int64_t* const* fh = feature_hist.data();
  // Rows of deep nodes are scattered: fetch the codes and statistics of a row a few iterations
  // ahead so that their cache misses overlap with the work on earlier rows.
  constexpr std::size_t kAhead = 16;
  for (std::size_t i = 0; i < n_rows; ++i) {
    if (i + kAhead < n_rows) {
      prefetch(X.row(rows[i + kAhead]));
      criterion.prefetch_row(rows[i + kAhead]);
    }
    const row_t r = rows[i];
    const bin_t* code = X.row(r);
    for (int f = 0; f < n_features; ++f) criterion.add(fh[f] + static_cast<std::size_t>(code[f]) * stride, r);
  }
}

}  // namespace

HistogramBuilder::HistogramBuilder(const BinnedMatrix& X, int n_threads)
    : X_(X), n_threads_(std::max(1, n_threads)), n_slots_(X.n_hist_slots()) {}

template <class Criterion>
void HistogramBuilder::build(const Criterion& criterion, Span<const row_t> rows, std::int64_t* out) {
  const std::size_t n = rows.size;
  const std::size_t size = static_cast<std::size_t>(n_slots_) * criterion.n_channels();
  const int threads = static_cast<int>(std::max<std::size_t>(1, std::min<std::size_t>(n_threads_, n / kMinRowsPerThread)));
  std::fill(out, out + size, 0);
  if (threads <= 1) {
    accumulate_rows(X_, criterion, rows.data, n, out);
    return;
  }
  if (static_cast<int>(thread_hist_.size()) < threads - 1) thread_hist_.resize(threads - 1);
  for (auto& h : thread_hist_) h.assign(size, 0);
  // Thread t sums rows [t*n/T, (t+1)*n/T) into its own histogram (thread 0 straight into out).
  parallel_for(threads, threads, [&](std::size_t t) {
    const std::size_t begin = n * t / threads, end = n * (t + 1) / threads;
    std::int64_t* hist = t == 0 ? out : thread_hist_[t - 1].data();
    accumulate_rows(X_, criterion, rows.data + begin, end - begin, hist);
  });
  // Integer sums: the order of this reduction cannot change the result.
  constexpr std::size_t kBlock = 4096;
  parallel_for(n_blocks(size, kBlock), threads, [&](std::size_t b) {
    const std::size_t end = std::min(size, (b + 1) * kBlock);
    for (int t = 0; t < threads - 1; ++t) {
      const std::int64_t* part = thread_hist_[t].data();
      for (std::size_t s = b * kBlock; s < end; ++s) out[s] += part[s];
    }
  });
}

void HistogramBuilder::subtract(std::int64_t* parent, const std::int64_t* smaller, int n_channels) const {
  const std::size_t size = static_cast<std::size_t>(n_slots_) * n_channels;
  for (std::size_t s = 0; s < size; ++s) parent[s] -= smaller[s];
}

void HistogramPool::reset(std::size_t size) {
  if (size == size_) return;
  size_ = size;
  storage_.clear();
  free_.clear();
}

std::int64_t* HistogramPool::acquire() {
  if (free_.empty()) {
    storage_.emplace_back(new std::int64_t[size_]);
    return storage_.back().get();
  }
  std::int64_t* h = free_.back();
  free_.pop_back();
  return h;
}

void HistogramPool::release(std::int64_t* hist) {
  if (hist) free_.push_back(hist);
}

template void HistogramBuilder::build<GradientCriterion>(const GradientCriterion&, Span<const row_t>, std::int64_t*);
template void HistogramBuilder::build<ClassCriterion>(const ClassCriterion&, Span<const row_t>, std::int64_t*);

}  // namespace treeforge
