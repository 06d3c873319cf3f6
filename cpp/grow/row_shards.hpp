// RowShards: the rows of a fit cut into the shards that workers would hold, for the test hook that proves the distributed seam.
#pragma once

#include <vector>

#include "core/common.hpp"
#include "grow/histogram.hpp"

namespace treeforge {

/// Row shards of a fit of n rows: shard s holds rows [s * n / k, (s + 1) * n / k), as a
/// distributed fit's worker would. With k > 1 the grower builds each shard's histograms apart
/// and sums them in its sync step, and scales come from the shards' ranges merged, which is
/// what a distributed fit does across workers; the trees must be bit-identical to k = 1.
class RowShards {
 public:
  RowShards(std::size_t n_rows, int k);

  int size() const { return static_cast<int>(bounds_.size()) - 1; }
  std::size_t begin(int s) const { return bounds_[s]; }
  std::size_t end(int s) const { return bounds_[s + 1]; }
  /// The rows of `runs` that shard s holds, in their order.
  std::vector<row_t> select(RowRuns runs, int s) const;
  /// The rows of a fit's row list that shard s holds (all rows when `rows` is empty).
  std::vector<row_t> select_fit_rows(Span<const row_t> rows, int s) const;

 private:
  int shard_of(row_t row) const;
  std::vector<std::size_t> bounds_;  ///< (k + 1,) shard s: rows [bounds_[s], bounds_[s + 1])
};

/// The test hook: every grower built afterwards cuts its rows into k shards (1: none).
void set_row_shards_for_testing(int k);
int row_shards_for_testing();
/// How many shard histograms have been built under the hook (proof that it ran).
std::uint64_t shard_builds_for_testing();
void count_shard_build_for_testing();

}  // namespace treeforge
