// Kernel probes: the growing kernels run once on explicit inputs, for tests and benchmarks that hold them against references.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "core/common.hpp"
#include "core/config.hpp"
#include "data/dataset.hpp"
#include "grow/splitter.hpp"

namespace treeforge {

/// The gradient histogram of `rows` (all rows if empty), decoded per slot: (n_slots, 3) row-major
/// of (sum of gradients, sum of hessians, row count).
std::vector<double> decoded_histogram(const BinnedMatrix& X, Span<const GradPair> gh, Span<const row_t> rows);

/// The largest difference over every slot field between parent - left, by the subtraction trick,
/// and the right rows' histogram built directly: 0 when subtraction is exact.
std::int64_t subtraction_error(const BinnedMatrix& X, Span<const GradPair> gh, Span<const row_t> left_rows);

/// The best split of the node of `rows` (all rows of X if empty) and the row counts on each side:
/// from the node's histogram, or with by_rows from its rows' codes (RowScanner, small nodes' path).
struct SplitProbe {
  SplitInfo split;
  std::int64_t left_count = 0;
  std::int64_t right_count = 0;
};
SplitProbe best_split(const BinnedMatrix& X, Span<const GradPair> gh, const TreeConfig& config,
                      Span<const row_t> rows = {}, bool by_rows = false);

/// `rows` split by the row partition on (feature, bin, default_left): (left rows, right rows).
std::pair<std::vector<row_t>, std::vector<row_t>> partition_rows(const BinnedMatrix& X, Span<const row_t> rows,
                                                                 int feature, int bin, bool default_left,
                                                                 int n_threads);

}  // namespace treeforge
