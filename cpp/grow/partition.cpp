// RowPartition: block-wise stable partition (local split, then scatter by block offsets).
#include "grow/partition.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <type_traits>

#include "core/parallel.hpp"
#include "model/split.hpp"

namespace treeforge {

namespace {
// Below this many rows per thread a fork costs more than the split saves.
constexpr std::size_t kMinRowsPerThread = 2048;
}

void RowPartition::reset(std::size_t n_rows, Span<const row_t> rows) {
  if (rows.empty()) {
    indices_.resize(n_rows);
    std::iota(indices_.begin(), indices_.end(), row_t{0});
  } else {
    indices_.assign(rows.begin(), rows.end());
  }
  scratch_.resize(indices_.size());
}

std::size_t RowPartition::split(std::size_t begin, std::size_t end, const BinnedMatrix& X, int feature,
                                const SplitTest& test, int n_threads) {
  const BlockSplit split = split_blocks(begin, end, X, feature, test, n_threads);
  scatter_all(split, n_threads);
  return split.mid;
}

template <class Codes>
void RowPartition::split_rows(BlockSplit& split, const Codes& codes, int missing, const SplitTest& test,
                              int n_threads) {
  // Each block splits its own rows into its own range of the scratch array, left rows forward
  // from the start and right rows backward from the end (the two meet exactly). The split's kind
  // is picked once per block.
  auto split_block = [&](auto kind, std::size_t b) {
    const std::size_t lo = split.begin[b], hi = split.begin[b + 1];
    row_t* left = scratch_.data() + lo;
    row_t* right = scratch_.data() + hi - 1;  // right[-k]: the k-th right row
    std::size_t nl = 0, nr = 0;
    // Rows of deep nodes are scattered: fetch each row's code a few iterations ahead.
    constexpr std::size_t kAhead = 16;
    for (std::size_t i = lo; i < hi; ++i) {
      if constexpr (std::is_pointer_v<Codes>) {
        if (i + kAhead < hi) prefetch(codes + indices_[i + kAhead]);
      } else {
        codes.prefetch_ahead(indices_.data(), i, hi);
      }
      const row_t r = indices_[i];
      const int code = codes[r];
      const bool go_left = goes_left<decltype(kind)::value>(test, code, missing);
      // Branch-free: write to both ends, advance one (unclaimed slots lie between them).
      left[nl] = r;
      *(right - nr) = r;
      nl += go_left;
      nr += !go_left;
    }
    split.n_left[b] = nl;
    split.n_right[b] = nr;
  };
  parallel_for(split.n_blocks(), n_threads, [&](std::size_t b) {
    if (test.kind == SplitKind::kNumeric)
      split_block(std::integral_constant<SplitKind, SplitKind::kNumeric>{}, b);
    else
      split_block(std::integral_constant<SplitKind, SplitKind::kCategorySet>{}, b);
  });
}

namespace {

/// A sparse feature's codes scattered by row into a zeroed scratch column (code + 1; 0 for the
/// zero code) for one partition, and cleared again when it ends, whatever way it ends: a node of
/// many rows against the feature's entries reads one code a row instead of bisecting each row.
class ScatteredColumn {
 public:
  ScatteredColumn(const BinnedMatrix& X, int feature) : X_(X), feature_(feature), scratch_(scratch(X.n_rows)) {
    for (std::size_t k = X.column_begin[feature]; k < X.column_begin[feature + 1]; ++k)
      scratch_[X.column_rows[k]] = static_cast<std::uint16_t>(X.column_codes[k] + 1);
  }
  ~ScatteredColumn() {
    for (std::size_t k = X_.column_begin[feature_]; k < X_.column_begin[feature_ + 1]; ++k)
      scratch_[X_.column_rows[k]] = 0;
  }
  ScatteredColumn(const ScatteredColumn&) = delete;
  ScatteredColumn& operator=(const ScatteredColumn&) = delete;

  int operator[](std::size_t row) const {
    const int c = scratch_[row];
    return c != 0 ? c - 1 : X_.zero_code[feature_];
  }
  void prefetch_ahead(const row_t* rows, std::size_t i, std::size_t end) const {
    if (i + 16 < end) prefetch(scratch_ + rows[i + 16]);
  }

 private:
  /// This thread's scratch column of at least n_rows zeros (splits of different nodes run on
  /// different threads at once).
  static std::uint16_t* scratch(std::size_t n_rows) {
    thread_local std::vector<std::uint16_t> column;
    if (column.size() < n_rows) column.resize(n_rows, 0);
    return column.data();
  }

  const BinnedMatrix& X_;
  int feature_;
  std::uint16_t* scratch_;
};

}  // namespace

RowPartition::BlockSplit RowPartition::split_blocks(std::size_t begin, std::size_t end, const BinnedMatrix& X,
                                                    int feature, const SplitTest& test, int n_threads) {
  const std::size_t n = end - begin;
  // One block per thread, of equal size: a stable partition is unique, so the blocks may depend
  // on the thread count without changing the result.
  const std::size_t blocks = std::clamp<std::size_t>(n / kMinRowsPerThread, 1, std::max(1, n_threads));
  BlockSplit split;
  split.begin.resize(blocks + 1);
  for (std::size_t b = 0; b <= blocks; ++b) split.begin[b] = begin + n * b / blocks;
  split.n_left.resize(blocks);
  split.n_right.resize(blocks);
  const int missing = X.missing_bin(feature);
  // The feature's column (one byte per row, two for a wide feature) rather than a cache line of a
  // row-major matrix.
  // A sparse feature whose entries are few against the node's rows is scattered into a column.
  if (X.is_sparse() && !X.column_begin.empty() &&
      X.column_begin[feature + 1] - X.column_begin[feature] <= 4 * n) {
    const ScatteredColumn column(X, feature);
    split_rows(split, column, missing, test, n_threads);
  } else {
    X.for_column(feature, [&](const auto& codes) { split_rows(split, codes, missing, test, n_threads); });
  }

  // Every block's lefts, then its rights, in block order.
  split.left_at.resize(blocks);
  split.right_at.resize(blocks);
  const std::size_t total_left = std::accumulate(split.n_left.begin(), split.n_left.end(), std::size_t{0});
  for (std::size_t b = 0, l = begin, r = begin + total_left; b < blocks; ++b) {
    split.left_at[b] = l;
    split.right_at[b] = r;
    l += split.n_left[b];
    r += split.n_right[b];
  }
  split.mid = begin + total_left;
  return split;
}

std::vector<Span<const row_t>> RowPartition::left_runs(const BlockSplit& split) const {
  std::vector<Span<const row_t>> runs;
  for (std::size_t b = 0; b < split.n_blocks(); ++b)
    if (split.n_left[b] > 0) runs.emplace_back(scratch_.data() + split.begin[b], split.n_left[b]);
  return runs;
}

std::vector<Span<const row_t>> RowPartition::right_runs(const BlockSplit& split) const {
  std::vector<Span<const row_t>> runs;
  for (std::size_t b = 0; b < split.n_blocks(); ++b)
    if (split.n_right[b] > 0)
      runs.emplace_back(scratch_.data() + split.begin[b + 1] - split.n_right[b], split.n_right[b]);
  return runs;
}

void RowPartition::scatter(const BlockSplit& split, std::size_t b) {
  const std::size_t lo = split.begin[b], hi = split.begin[b + 1];
  std::memcpy(indices_.data() + split.left_at[b], scratch_.data() + lo, split.n_left[b] * sizeof(row_t));
  // The right rows were written backwards: reversed back into row order.
  std::reverse_copy(scratch_.data() + hi - split.n_right[b], scratch_.data() + hi, indices_.data() + split.right_at[b]);
}

void RowPartition::scatter_all(const BlockSplit& split, int n_threads) {
  parallel_for(split.n_blocks(), n_threads, [&](std::size_t b) { scatter(split, b); });
}

}  // namespace treeforge
