// RowScanner: the best split of a node of few rows from its rows' codes, without a histogram; the small-node policy and its test hook.
#pragma once

#include <cstdint>
#include <type_traits>
#include <vector>

#include "core/common.hpp"
#include "data/dataset.hpp"
#include "grow/splitter.hpp"

namespace treeforge {

/// Finds a node's splits from its rows directly, at a cost that follows its rows rather than its
/// features' bins: per candidate feature, the rows' statistics are summed into slots of only the
/// codes present (in code order, the missing slot last), and the criterion's own scan runs over
/// those slots. Every scan skips empty bins (an empty bin splits the rows as the one before it),
/// so dropping them changes nothing: the split, its gain and its tie-breaks are the histogram
/// scan's, from the same integer sums. A categorical feature gets its full slots, summed from
/// the rows (its sets are read by category). Holds scratch memory: one per thread.
template <class Criterion>
class RowScanner {
 public:
  RowScanner(const BinnedMatrix& X, const Criterion& criterion, const SplitFinder<Criterion>& finder)
      : X_(X), criterion_(criterion), finder_(finder) {}

  /// Takes the node of `rows` (which must outlive the scans): each row's statistics are summed
  /// once here (but a class row's), and added per feature from this node-local copy.
  void set_node(Span<const row_t> rows);

  /// Best split on one feature of the node, whose sums are `total`.
  SplitInfo find_on_feature(const std::int64_t* total, int feature, const ValueBounds& bounds);

  /// Whether the node's two rows have the same code of `feature` (no split on it separates them).
  bool same_codes(int feature) const;

  /// Sums of the rows of `rows` that `split` sends left.
  Sums left_sums(Span<const row_t> rows, const SplitInfo& split) const;

 private:
  /// The slots of the codes the rows hold, in code order, then the missing slot: how many value
  /// slots, with bin_of_[k] the bin of slot k; -1 when the rows hold one code only (no split).
  int compact_slots(int feature, const bin_t* codes);
  /// The feature's every slot (n_bins value slots, then the missing one), summed from the rows.
  void full_slots(int feature);
  /// slot += the statistics of the node's row i: from the node-local copy, or (one class channel
  /// per row, cheaper than a copy of every class's) from the criterion.
  void add_row(std::int64_t* slot, std::size_t i) const {
    if constexpr (kCopiesStats) {
      const int stride = criterion_.n_channels();
      for (int c = 0; c < stride; ++c) slot[c] += row_stats_[i * stride + c];
    } else {
      criterion_.add(slot, rows_[i]);
    }
  }
  static constexpr bool kCopiesStats = !std::is_same_v<Criterion, ClassCriterion>;

  const BinnedMatrix& X_;
  const Criterion& criterion_;
  const SplitFinder<Criterion>& finder_;
  Span<const row_t> rows_;
  std::vector<std::int64_t> row_stats_;  ///< the node's rows' statistics, n_channels per row
  std::vector<std::uint8_t> codes_;      ///< one feature's codes of the node's rows
  std::vector<std::int64_t> slots_;
  int bin_of_[256];
  std::uint8_t slot_of_[256];
};

/// Which nodes scan their rows instead of building histograms (the test hook): kAuto picks by
/// size (TreeGrower), kNever and kAlways force it, the root always excepted.
enum class RowScanPolicy { kAuto = 0, kNever = 1, kAlways = 2 };
void set_row_scan_policy_for_testing(RowScanPolicy policy);
RowScanPolicy row_scan_policy_for_testing();
/// How many nodes have been scanned by rows (proof that the path ran).
std::uint64_t row_scans_for_testing();
void count_row_scan_for_testing();

}  // namespace treeforge
