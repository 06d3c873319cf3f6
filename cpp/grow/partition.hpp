// RowPartition: the rows of every open node in one index array, and the stable parallel split of a node's range.
#pragma once

#include <vector>

#include "core/common.hpp"
#include "data/dataset.hpp"
#include "model/split.hpp"

namespace treeforge {

/// Rows of a tree's nodes: each node owns a contiguous range [begin, end) of `indices()`.
///
///   before split of node [b, e):   | r0 r1 r2 r3 r4 r5 |        (any order, kept stable)
///   after, left rows first:        | r0 r3 r4 | r1 r2 r5 |
///                                  b          mid        e
///
/// Splits are stable, so the order of rows inside every node (and thus every result built from
/// it) does not depend on the thread count.
class RowPartition {
 public:
  /// Starts with one node holding `rows`, or all n_rows rows in order if `rows` is empty.
  void reset(std::size_t n_rows, Span<const row_t> rows);

  /// Stable partition of [begin, end) into rows going left (code <= bin, or missing and
  /// default_left) then right; returns the first right position.
  std::size_t split(std::size_t begin, std::size_t end, const BinnedMatrix& X, int feature, const SplitTest& test,
                    int n_threads);

  /// A split() in progress: its blocks' bounds, counts and destinations.
  struct BlockSplit {
    std::vector<std::size_t> begin;  ///< block b is [begin[b], begin[b + 1])
    std::vector<std::size_t> n_left, n_right, left_at, right_at;
    std::size_t mid = 0;  ///< the first right position
    std::size_t n_blocks() const { return n_left.size(); }
  };

  /// split() in two phases, for callers that overlap the second with other work. split_blocks
  /// splits each block of [begin, end) into the scratch array (parallel); the children's rows
  /// are then in the blocks' runs (left_runs, right_runs) until scatter(split, b) has run for
  /// every block b, in any order, on any thread. Splits of disjoint ranges may run concurrently.
  BlockSplit split_blocks(std::size_t begin, std::size_t end, const BinnedMatrix& X, int feature,
                          const SplitTest& test, int n_threads);
  /// The blocks' left rows (each run in row order) and right rows (each run reversed); no empty runs.
  std::vector<Span<const row_t>> left_runs(const BlockSplit& split) const;
  std::vector<Span<const row_t>> right_runs(const BlockSplit& split) const;
  /// Copies block b's rows to their places in indices().
  void scatter(const BlockSplit& split, std::size_t b);
  /// scatter() of every block, on up to n_threads threads.
  void scatter_all(const BlockSplit& split, int n_threads);

  Span<const row_t> rows(std::size_t begin, std::size_t end) const {
    return Span<const row_t>(indices_.data() + begin, end - begin);
  }
  const std::vector<row_t>& indices() const { return indices_; }

 private:
  /// The block work of split_blocks over the feature's column `codes` (bytes, a wide feature's,
  /// or a SparseColumn).
  template <class Codes>
  void split_rows(BlockSplit& split, const Codes& codes, int missing, const SplitTest& test, int n_threads);

  std::vector<row_t> indices_;
  std::vector<row_t> scratch_;  ///< per block: left rows from its start, right rows back from its end
};

}  // namespace treeforge
