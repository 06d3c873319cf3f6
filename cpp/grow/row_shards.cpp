// RowShards: shard bounds, rows selected by shard, and the process-wide test setting.
#include "grow/row_shards.hpp"

#include <algorithm>
#include <atomic>

namespace treeforge {

namespace {
std::atomic<int> g_row_shards{1};
std::atomic<std::uint64_t> g_shard_builds{0};
}  // namespace

std::uint64_t shard_builds_for_testing() { return g_shard_builds; }
void count_shard_build_for_testing() { ++g_shard_builds; }

void set_row_shards_for_testing(int k) {
  check(k >= 1, "row shards must be >= 1");
  g_row_shards = k;
}

int row_shards_for_testing() { return g_row_shards; }

RowShards::RowShards(std::size_t n_rows, int k) {
  for (int s = 0; s <= k; ++s) bounds_.push_back(n_rows * static_cast<std::size_t>(s) / static_cast<std::size_t>(k));
}

int RowShards::shard_of(row_t row) const {
  return static_cast<int>(std::upper_bound(bounds_.begin(), bounds_.end(), std::size_t{row}) - bounds_.begin()) - 1;
}

std::vector<row_t> RowShards::select(RowRuns runs, int s) const {
  std::vector<row_t> mine;
  for (const Span<const row_t>& run : runs)
    for (row_t r : run)
      if (shard_of(r) == s) mine.push_back(r);
  return mine;
}

std::vector<row_t> RowShards::select_fit_rows(Span<const row_t> rows, int s) const {
  if (!rows.empty()) return select(RowRuns(&rows, 1), s);
  std::vector<row_t> mine;
  for (std::size_t r = bounds_[s]; r < bounds_[s + 1]; ++r) mine.push_back(static_cast<row_t>(r));
  return mine;
}

}  // namespace treeforge
