// Histograms of fixed-point node statistics per (feature, bin): the build kernel, the subtraction trick, the buffer pool.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/common.hpp"
#include "grow/criterion.hpp"
#include "data/dataset.hpp"

namespace treeforge {

/// A node's rows as one or more runs (a node just split may still lie in the partition's blocks);
/// sums do not depend on how the rows are cut into runs or in which order they come.
using RowRuns = Span<const Span<const row_t>>;

/// Builds histograms of a BinnedMatrix for any criterion. A histogram is a flat int64 array:
/// slot s = hist_offset[f] + code holds n_channels sums at hist[s * n_channels].
/// Stateless apart from its references; it parallelises internally.
class HistogramBuilder {
 public:
  HistogramBuilder(const BinnedMatrix& X, int n_threads);

  /// out = sums over `rows` of the criterion's per-row statistics; out has n_slots() * n_channels values.
  /// Parallel over blocks of feature groups.
  template <class Criterion>
  void build(const Criterion& criterion, Span<const row_t> rows, std::int64_t* out) const;

  /// The slots of the features of groups [first_group, end_group) only (zeroed, then summed); serial.
  template <class Criterion>
  void build_groups(const Criterion& criterion, RowRuns runs, int first_group, int end_group, std::int64_t* out) const;

  /// hist -= the rows' statistics over the slots of the features of groups [first_group,
  /// end_group): turns a parent's histogram into its larger child's straight from the smaller
  /// child's rows, when the smaller child needs no histogram of its own (no buffer to clear, no
  /// full pass).
  template <class Criterion>
  void remove_groups(const Criterion& criterion, RowRuns runs, int first_group, int end_group,
                     std::int64_t* hist) const;

  /// parent -= smaller, in place: the parent's buffer becomes the larger child's histogram.
  void subtract(std::int64_t* parent, const std::int64_t* smaller, int n_channels) const;

  /// The same over the slots of features [first_feature, end_feature) only.
  void subtract_features(std::int64_t* parent, const std::int64_t* smaller, int n_channels, int first_feature,
                         int end_feature) const;

  /// hist += other over the slots of features [first_feature, end_feature).
  void add_features(std::int64_t* hist, const std::int64_t* other, int n_channels, int first_feature,
                    int end_feature) const;

  /// Threads worth using for a histogram over n_rows rows (1 below a few thousand rows); a split by
  /// feature groups can use at most n_groups of them.
  int threads_for(std::size_t n_rows) const;
  /// Bounds of `threads` contiguous blocks of feature groups of about equal work for a fork that
  /// sums `n_rows` rows into each group (0: none) and scans every group's slots: thread t owns
  /// groups [bounds[t], bounds[t + 1]). With blocks of equal group counts, the other threads
  /// waited for the one holding the wide categorical features.
  std::vector<int> group_blocks(int threads, std::size_t n_rows) const;

  int n_slots() const { return n_slots_; }

 private:
  const BinnedMatrix& X_;
  int n_threads_;
  int n_slots_;
  std::vector<std::size_t> scan_before_;  ///< (n_groups + 1,) the work of scanning the slots of groups [0, g)
};

/// Buffers for the histograms of open leaves; a buffer is taken when a leaf may be split and
/// handed to its larger child or released when it is done. All buffers have one size.
class HistogramPool {
 public:
  /// Drops every buffer when the size changes (a grower switching criteria), else keeps them.
  void reset(std::size_t size);
  std::int64_t* acquire();
  void release(std::int64_t* hist);

 private:
  std::size_t size_ = 0;
  std::vector<std::unique_ptr<std::int64_t[]>> storage_;
  std::vector<std::int64_t*> free_;
};

}  // namespace treeforge
