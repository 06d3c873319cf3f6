// Histogram building over a node's rows (row-major codes, feature blocks per thread) and subtraction.
#include "grow/histogram.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/parallel.hpp"

namespace treeforge {

namespace {

// Below this much work per thread (slot updates) a fork costs more than it saves.
constexpr std::size_t kMinWorkPerThread = 8192;
constexpr std::size_t kCategorySlotWork = 4;

/// hist += a bundle's combined slots, each spread over the slots of its features' codes.
void spread_bundle(const BinnedMatrix& X, int group, const std::int64_t* combined, int stride, std::int64_t* hist) {
  const int* features = X.group_features.data() + X.group_begin[group];
  const int size = X.group_size(group);
  // The features' codes of combined slot c, counted up like an odometer; a bundle has at most 8
  // features, as every feature has at least 2 slots.
  int code[8] = {};
  for (int c = 0, n = X.n_group_slots(group); c < n; ++c) {
    const std::int64_t* sums = combined + static_cast<std::size_t>(c) * stride;
    for (int k = 0; k < size; ++k) {
      std::int64_t* slot = hist + static_cast<std::size_t>(X.hist_offset[features[k]] + code[k]) * stride;
      for (int ch = 0; ch < stride; ++ch) slot[ch] += sums[ch];
    }
    for (int k = 0; k < size && ++code[k] == X.n_slots(features[k]); ++k) code[k] = 0;
  }
}

/// Adds (kSign = 1) or removes (kSign = -1) the rows' statistics at the codes of byte groups
/// [first_group, end_group), whose first slots are gh[0, end_group - first_group).
template <int kSign, class Criterion>
void accumulate_byte_groups(const BinnedMatrix& X, const Criterion& criterion, RowRuns runs, int first_group,
                            int end_group, std::int64_t* const* gh) {
  const int n_groups = end_group - first_group;
  const int stride = criterion.n_channels();
  // Rows of deep nodes are scattered: fetch the codes and statistics of a row a few iterations
  // ahead so that their cache misses overlap with the work on earlier rows.
  constexpr std::size_t kAhead = 16;
  for (const Span<const row_t>& run : runs) {
    const row_t* rows = run.data;
    const std::size_t n_rows = run.size;
    for (std::size_t i = 0; i < n_rows; ++i) {
      if (i + kAhead < n_rows) {
        // A row's codes may straddle two cache lines: fetch both ends.
        const bin_t* ahead = X.group_row(rows[i + kAhead]);
        prefetch(ahead + first_group);
        prefetch(ahead + end_group - 1);
        criterion.prefetch_row(rows[i + kAhead]);
      }
      const row_t r = rows[i];
      const bin_t* code = X.group_row(r) + first_group;
      // Unrolled: the loop's own counter and branch are a fifth of each update's instructions.
#pragma GCC unroll 4
      for (int g = 0; g < n_groups; ++g)
        criterion.template add<kSign>(gh[g] + static_cast<std::size_t>(code[g]) * stride, r);
    }
  }
}

/// The same for wide feature f, whose slots start at `slots`: its codes are a column of their own.
template <int kSign, class Criterion>
void accumulate_wide_feature(const BinnedMatrix& X, const Criterion& criterion, RowRuns runs, int f,
                             std::int64_t* slots) {
  const int stride = criterion.n_channels();
  X.for_column(f, [&](const auto& codes) {
    for (const Span<const row_t>& run : runs)
      for (std::size_t i = 0; i < run.size; ++i) {
        const row_t r = run.data[i];
        criterion.template add<kSign>(slots + static_cast<std::size_t>(codes[r]) * stride, r);
      }
  });
}

/// Sums the rows' statistics into the slots of the features of sparse groups [first, end) (a
/// group is a feature), cleared before: each stored entry at its slot, then each feature's zero
/// slot what the rows' totals leave.
template <class Criterion>
void accumulate_sparse(const BinnedMatrix& X, const Criterion& criterion, RowRuns runs, int first, int end,
                       std::int64_t* hist) {
  if (first == end) return;
  const int stride = criterion.n_channels();
  const std::uint32_t first_slot = static_cast<std::uint32_t>(X.hist_offset[X.group_features[first]]);
  const std::uint32_t end_slot = static_cast<std::uint32_t>(X.hist_offset[X.group_features[end - 1] + 1]);
  const std::uint32_t* slots = X.sparse_slot.data();
  std::vector<std::int64_t> total(stride, 0);
  constexpr std::size_t kAhead = 16;
  for (const Span<const row_t>& run : runs)
    for (std::size_t i = 0; i < run.size; ++i) {
      X.prefetch_sparse(run.data, i, run.size);
      if (i + kAhead < run.size) criterion.prefetch_row(run[i + kAhead]);
      const row_t r = run[i];
      criterion.template add<1>(total.data(), r);
      const std::uint32_t* at = slots + X.sparse_begin[r];
      const std::uint32_t* row_end = slots + X.sparse_begin[r + 1];
      if (first_slot > 0) at = std::lower_bound(at, row_end, first_slot);
      for (; at != row_end && *at < end_slot; ++at)
        criterion.template add<1>(hist + static_cast<std::size_t>(*at) * stride, r);
    }
  for (int g = first; g < end; ++g) {
    const int f = X.group_features[g];
    std::int64_t* zero = hist + static_cast<std::size_t>(X.hist_offset[f] + X.zero_code[f]) * stride;
    for (int ch = 0; ch < stride; ++ch) {
      std::int64_t rest = total[ch];
      for (int s = X.hist_offset[f]; s < X.hist_offset[f + 1]; ++s)
        rest -= hist[static_cast<std::size_t>(s) * stride + ch];
      zero[ch] += rest;
    }
  }
}

/// Adds (kSign = 1) or removes (kSign = -1) the rows' statistics in the slots of the features of
/// groups [first_group, end_group). Sparse rows are only ever added to cleared slots.
template <int kSign, class Criterion>
void accumulate_rows(const BinnedMatrix& X, const Criterion& criterion, RowRuns runs, int first_group, int end_group,
                     std::int64_t* hist) {
  if (X.is_sparse()) {
    check_internal(kSign == 1, "rows cannot be removed from a sparse matrix's histogram");
    accumulate_sparse(X, criterion, runs, first_group, end_group, hist);
    return;
  }
  const int n_groups = end_group - first_group;
  const int stride = criterion.n_channels();
  // Each group's first slot, so the inner loop is one add of code * stride: a lone feature's own
  // slots, or a bundle's combined slots in `combined`, spread over its features' slots at the end.
  std::size_t combined_size = 0;
  for (int g = first_group; g < end_group; ++g)
    if (X.group_size(g) > 1) combined_size += static_cast<std::size_t>(X.n_group_slots(g)) * stride;
  std::vector<std::int64_t> combined(combined_size, 0);
  std::vector<std::int64_t*> group_hist(n_groups);
  for (int g = first_group, at = 0; g < end_group; ++g) {
    if (X.group_size(g) > 1) {
      group_hist[g - first_group] = combined.data() + at;
      at += X.n_group_slots(g) * stride;
    } else {
      const int feature = X.group_features[X.group_begin[g]];
      group_hist[g - first_group] = hist + static_cast<std::size_t>(X.hist_offset[feature]) * stride;
    }
  }
  std::int64_t* const* gh = group_hist.data();
  const int end_byte = std::min(end_group, X.n_byte_groups);
  if (first_group < end_byte) accumulate_byte_groups<kSign>(X, criterion, runs, first_group, end_byte, gh);
  for (int g = std::max(first_group, end_byte); g < end_group; ++g)
    accumulate_wide_feature<kSign>(X, criterion, runs, X.group_features[X.group_begin[g]], gh[g - first_group]);
  for (int g = first_group; g < end_group; ++g)
    if (X.group_size(g) > 1) spread_bundle(X, g, gh[g - first_group], stride, hist);
}

}  // namespace

HistogramBuilder::HistogramBuilder(const BinnedMatrix& X, int n_threads)
    : X_(X), n_threads_(std::max(1, n_threads)), n_slots_(X.n_hist_slots()), scan_before_(X.n_groups + 1, 0) {
  // A categorical slot costs about four of a threshold scan's: its key, its selection into an
  // order, and the gain of every prefix read from both ends.
  for (int g = 0; g < X.n_groups; ++g) {
    scan_before_[g + 1] = scan_before_[g];
    for (int k = X.group_begin[g]; k < X.group_begin[g + 1]; ++k) {
      const int f = X.group_features[k];
      scan_before_[g + 1] += static_cast<std::size_t>(X.n_slots(f)) * (X.categorical(f) ? kCategorySlotWork : 1);
    }
  }
}

int HistogramBuilder::threads_for(std::size_t n_rows) const {
  // Work of one expansion: one update per (row, group) or stored entry, plus clearing,
  // subtracting and scanning every slot whatever the row count, which is what dominates small
  // nodes of wide histograms.
  const std::size_t work = n_rows * X_.updates_per_row() + 3 * static_cast<std::size_t>(n_slots_);
  return static_cast<int>(
      std::min<std::size_t>(static_cast<std::size_t>(n_threads_), std::max<std::size_t>(1, work / kMinWorkPerThread)));
}

std::vector<int> HistogramBuilder::group_blocks(int threads, std::size_t n_rows) const {
  const int n_groups = X_.n_groups;
  // The work of groups [0, g): found by bisection, so that a sparse matrix's many groups cost
  // each expansion a few probes, not a pass.
  auto before = [&](int g) { return n_rows * static_cast<std::size_t>(g) + scan_before_[g]; };
  std::vector<int> bounds(threads + 1, n_groups);
  bounds[0] = 0;
  for (int t = 1; t < threads; ++t) {
    const std::size_t share = before(n_groups) * t / threads;
    int lo = 0, hi = n_groups;  // the first group that ends past the share (n_groups: none)
    while (lo < hi) {
      const int mid = lo + (hi - lo) / 2;
      if (before(mid + 1) <= share)
        lo = mid + 1;
      else
        hi = mid;
    }
    // The group across the share's end goes to whichever side it overlaps more.
    const int g = lo < n_groups && share - before(lo) > before(lo + 1) - share ? lo + 1 : lo;
    bounds[t] = std::max(g, bounds[t - 1]);
  }
  return bounds;
}

template <class Criterion>
void HistogramBuilder::build_groups(const Criterion& criterion, RowRuns runs, int first_group, int end_group,
                                    std::int64_t* out) const {
  const int stride = criterion.n_channels();
  for (int k = X_.group_begin[first_group]; k < X_.group_begin[end_group]; ++k) {
    const int f = X_.group_features[k];
    std::fill(out + static_cast<std::size_t>(X_.hist_offset[f]) * stride,
              out + static_cast<std::size_t>(X_.hist_offset[f + 1]) * stride, 0);
  }
  accumulate_rows<1>(X_, criterion, runs, first_group, end_group, out);
}

template <class Criterion>
void HistogramBuilder::remove_groups(const Criterion& criterion, RowRuns runs, int first_group, int end_group,
                                     std::int64_t* hist) const {
  accumulate_rows<-1>(X_, criterion, runs, first_group, end_group, hist);
}

template <class Criterion>
void HistogramBuilder::build(const Criterion& criterion, Span<const row_t> rows, std::int64_t* out) const {
  const int n_groups = X_.n_groups;
  const int threads = std::min(threads_for(rows.size), n_groups);
  // Thread t fills the slots of its own block of groups from every row of the node: no private
  // histograms to clear and no reduction, and each slot is written by one thread only.
  parallel_for(threads, threads, [&](std::size_t t) {
    build_groups(criterion, RowRuns(&rows, 1), static_cast<int>(n_groups * t / threads),
                 static_cast<int>(n_groups * (t + 1) / threads), out);
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
template void HistogramBuilder::build_groups<GradientCriterion>(const GradientCriterion&, RowRuns, int, int,
                                                               std::int64_t*) const;
template void HistogramBuilder::build_groups<ClassCriterion>(const ClassCriterion&, RowRuns, int, int,
                                                            std::int64_t*) const;
template void HistogramBuilder::remove_groups<GradientCriterion>(const GradientCriterion&, RowRuns, int, int,
                                                                std::int64_t*) const;
template void HistogramBuilder::remove_groups<ClassCriterion>(const ClassCriterion&, RowRuns, int, int,
                                                             std::int64_t*) const;
template void HistogramBuilder::build<TargetClassesCriterion>(const TargetClassesCriterion&, Span<const row_t>,
                                                             std::int64_t*) const;
template void HistogramBuilder::build_groups<TargetClassesCriterion>(const TargetClassesCriterion&, RowRuns, int, int,
                                                                    std::int64_t*) const;
template void HistogramBuilder::remove_groups<TargetClassesCriterion>(const TargetClassesCriterion&, RowRuns, int,
                                                                     int, std::int64_t*) const;
template void HistogramBuilder::build<TargetsCriterion>(const TargetsCriterion&, Span<const row_t>,
                                                       std::int64_t*) const;
template void HistogramBuilder::build_groups<TargetsCriterion>(const TargetsCriterion&, RowRuns, int, int,
                                                              std::int64_t*) const;
template void HistogramBuilder::remove_groups<TargetsCriterion>(const TargetsCriterion&, RowRuns, int, int,
                                                               std::int64_t*) const;

}  // namespace treeforge
