// Histogram building over a node's rows (row-major codes, feature blocks per thread) and subtraction.
#include "histogram.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "parallel.hpp"

namespace treeforge {

namespace {

// Below this much work per thread (slot updates) a fork costs more than it saves.
constexpr std::size_t kMinWorkPerThread = 8192;

/// Adds (kSign = 1) or removes (kSign = -1) the rows' statistics in the slots of features
/// [first_feature, end_feature).
template <int kSign, class Criterion>
void accumulate_rows(const BinnedMatrix& X, const Criterion& criterion, const row_t* rows, std::size_t n_rows,
                     int first_feature, int end_feature, std::int64_t* hist) {
  const int n_features = end_feature - first_feature;
  const int stride = criterion.n_channels();
  // Each feature's first slot, so the inner loop is one add of code * stride.
  std::vector<std::int64_t*> feature_hist(n_features);
  for (int f = 0; f < n_features; ++f)
    feature_hist[f] = hist + static_cast<std::size_t>(X.hist_offset[first_feature + f]) * stride;
  std::int64_t* const* fh = feature_hist.data();
  // Rows of deep nodes are scattered: fetch the codes and statistics of a row a few iterations
  // ahead so that their cache misses overlap with the work on earlier rows.
  constexpr std::size_t kAhead = 16;
  for (std::size_t i = 0; i < n_rows; ++i) {
    if (i + kAhead < n_rows) {
      // A row's codes may straddle two cache lines: fetch both ends.
      const bin_t* ahead = X.row(rows[i + kAhead]);
      prefetch(ahead + first_feature);
      prefetch(ahead + end_feature - 1);
      criterion.prefetch_row(rows[i + kAhead]);
    }
    const row_t r = rows[i];
    const bin_t* code = X.row(r) + first_feature;
    // Unrolled: the loop's own counter and branch are a fifth of each update's instructions.
#pragma GCC unroll 4
    for (int f = 0; f < n_features; ++f)
      criterion.template add<kSign>(fh[f] + static_cast<std::size_t>(code[f]) * stride, r);
  }
}

}  // namespace

HistogramBuilder::HistogramBuilder(const BinnedMatrix& X, int n_threads)
    : X_(X), n_threads_(std::max(1, n_threads)), n_slots_(X.n_hist_slots()) {}

int HistogramBuilder::threads_for(std::size_t n_rows) const {
  // Work of one expansion: one update per (row, feature), plus clearing, subtracting and scanning
  // every slot whatever the row count, which is what dominates small nodes of wide histograms.
  const std::size_t work = n_rows * static_cast<std::size_t>(X_.n_features) + 3 * static_cast<std::size_t>(n_slots_);
  return static_cast<int>(std::min<std::size_t>({static_cast<std::size_t>(n_threads_),
                                                  std::max<std::size_t>(1, work / kMinWorkPerThread),
                                                  static_cast<std::size_t>(X_.n_features)}));
}

template <class Criterion>
void HistogramBuilder::build_features(const Criterion& criterion, Span<const row_t> rows, int first_feature,
                                      int end_feature, std::int64_t* out) const {
  const int stride = criterion.n_channels();
  std::fill(out + static_cast<std::size_t>(X_.hist_offset[first_feature]) * stride,
            out + static_cast<std::size_t>(X_.hist_offset[end_feature]) * stride, 0);
  accumulate_rows<1>(X_, criterion, rows.data, rows.size, first_feature, end_feature, out);
}

template <class Criterion>
void HistogramBuilder::remove_features(const Criterion& criterion, Span<const row_t> rows, int first_feature,
                                       int end_feature, std::int64_t* hist) const {
  accumulate_rows<-1>(X_, criterion, rows.data, rows.size, first_feature, end_feature, hist);
}

template <class Criterion>
void HistogramBuilder::build(const Criterion& criterion, Span<const row_t> rows, std::int64_t* out) const {
  const int threads = threads_for(rows.size);
  const int n_features = X_.n_features;
  // Thread t fills the slots of its own block of features from every row of the node: no private
  // histograms to clear and no reduction, and each slot is written by one thread only.
  parallel_for(threads, threads, [&](std::size_t t) {
    build_features(criterion, rows, static_cast<int>(n_features * t / threads),
                   static_cast<int>(n_features * (t + 1) / threads), out);
  });
}

void HistogramBuilder::subtract(std::int64_t* parent, const std::int64_t* smaller, int n_channels) const {
  subtract_features(parent, smaller, n_channels, 0, X_.n_features);
}

void HistogramBuilder::subtract_features(std::int64_t* parent, const std::int64_t* smaller, int n_channels,
                                         int first_feature, int end_feature) const {
  const std::size_t end = static_cast<std::size_t>(X_.hist_offset[end_feature]) * n_channels;
  for (std::size_t s = static_cast<std::size_t>(X_.hist_offset[first_feature]) * n_channels; s < end; ++s)
    parent[s] -= smaller[s];
}

void HistogramBuilder::add_features(std::int64_t* hist, const std::int64_t* other, int n_channels, int first_feature,
                                    int end_feature) const {
  const std::size_t end = static_cast<std::size_t>(X_.hist_offset[end_feature]) * n_channels;
  for (std::size_t s = static_cast<std::size_t>(X_.hist_offset[first_feature]) * n_channels; s < end; ++s)
    hist[s] += other[s];
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

template void HistogramBuilder::build<GradientCriterion>(const GradientCriterion&, Span<const row_t>,
                                                        std::int64_t*) const;
template void HistogramBuilder::build<ClassCriterion>(const ClassCriterion&, Span<const row_t>, std::int64_t*) const;
template void HistogramBuilder::build_features<GradientCriterion>(const GradientCriterion&, Span<const row_t>, int,
                                                                 int, std::int64_t*) const;
template void HistogramBuilder::build_features<ClassCriterion>(const ClassCriterion&, Span<const row_t>, int, int,
                                                              std::int64_t*) const;
template void HistogramBuilder::remove_features<GradientCriterion>(const GradientCriterion&, Span<const row_t>, int,
                                                                  int, std::int64_t*) const;
template void HistogramBuilder::remove_features<ClassCriterion>(const ClassCriterion&, Span<const row_t>, int, int,
                                                               std::int64_t*) const;

}  // namespace treeforge
