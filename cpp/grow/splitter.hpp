// SplitFinder: the best split of a node from its histogram over the allowed features, for any criterion.
#pragma once

#include <vector>

#include "grow/criterion.hpp"
#include "data/dataset.hpp"

namespace treeforge {

/// A chosen split: rows with code <= bin (numeric) or whose category is in `categories` (set)
/// go left, the missing bin follows default_left.
struct SplitInfo {
  double gain = 0.0;  ///< > 0 when the split is valid
  int feature = -1;
  int bin = 0;
  bool default_left = false;
  SplitKind kind = SplitKind::kNumeric;
  CategoryBits categories;  ///< kCategorySet: the categories (codes) that go left
  double extra_l2 = 0.0;    ///< added to lambda in the children's leaf values

  bool is_valid() const { return feature >= 0; }
  /// The test in bin space (no raw threshold); views this SplitInfo's categories.
  SplitTest test() const {
    SplitTest t = SplitTest::numeric(bin, 0.0, default_left);
    t.kind = kind;
    t.categories = categories.view();
    return t;
  }
};

/// Finds the best split of a node; holds references only, thread-safe.
///
/// For every allowed numeric feature the criterion scans the value bins left to right once,
/// trying each threshold with the missing bin sent right and, when the node has missing values,
/// sent left too; a threshold whose bin is empty is skipped (it separates the rows exactly as
/// the one before it). A categorical feature gets set splits instead (category_scan.hpp). Ties go to the lower feature, then the lower bin, then missing-right: results never
/// depend on the order in which features were evaluated.
template <class Criterion>
class SplitFinder {
 public:
  SplitFinder(const BinnedMatrix& X, const Criterion& criterion) : X_(X), criterion_(criterion) {}

  /// Best split on one feature of a node with histogram `hist` and sums `total` (invalid if none);
  /// `bounds`: where the node's children's values must lie (monotone constraints above it).
  SplitInfo find_on_feature(const std::int64_t* hist, const std::int64_t* total, int feature,
                            const ValueBounds& bounds = {}) const;

  /// The same from the feature's slots alone: n_scanned value slots then the missing one, slot k
  /// holding bin bin_of[k] (bin k when bin_of is null). Slots of empty bins may be left out, as
  /// every scan skips them (RowScanner).
  SplitInfo find_on_slots(const std::int64_t* slots, int n_scanned, const int* bin_of, const std::int64_t* total,
                          int feature, const ValueBounds& bounds) const;

  /// Best split over `features` (ascending).
  SplitInfo find(const std::int64_t* hist, const std::int64_t* total, const std::vector<int>& features) const;

  /// Sums of the left child of `split` (the right child's are total - left).
  Sums left_sums(const std::int64_t* hist, const SplitInfo& split) const;

 private:
  /// The scan a feature calls for: sets (categorical), bounded (monotone constraints) or plain.
  ScanResult scan_feature(const std::int64_t* slots, int n_bins, const std::int64_t* total, int feature,
                          const ValueBounds& bounds) const;

  const BinnedMatrix& X_;
  const Criterion& criterion_;
};

}  // namespace treeforge
