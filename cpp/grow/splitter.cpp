// SplitFinder: per-feature scans through the criterion, the choice among features, child sums.
#include "grow/splitter.hpp"

#include <type_traits>

namespace treeforge {

template <class Criterion>
SplitInfo SplitFinder<Criterion>::find_on_feature(const std::int64_t* hist, const std::int64_t* total,
                                                  int feature, const ValueBounds& bounds) const {
  const int n_bins = X_.n_bins[feature];
  if (n_bins <= 1 && !X_.has_nan[feature]) return SplitInfo{};
  const std::int64_t* slots = hist + static_cast<std::size_t>(X_.hist_offset[feature]) * criterion_.n_channels();
  return find_on_slots(slots, n_bins, nullptr, total, feature, bounds);
}

template <class Criterion>
SplitInfo SplitFinder<Criterion>::find_on_slots(const std::int64_t* slots, int n_scanned, const int* bin_of,
                                                const std::int64_t* total, int feature,
                                                const ValueBounds& bounds) const {
  SplitInfo best;
  const int stride = criterion_.n_channels();
  const ScanResult scan = scan_feature(slots, n_scanned, total, feature, bounds);
  if (scan.bin < 0) return best;
  best.gain = scan.gain;
  best.feature = feature;
  best.bin = bin_of ? bin_of[scan.bin] : scan.bin;
  best.default_left = scan.default_left;
  best.kind = scan.kind;
  best.categories = scan.categories;
  best.extra_l2 = scan.extra_l2;
  // With no missing values in this node, unseen missing values at predict time follow the larger
  // child (scikit-learn's rule), so the direction stays meaningful.
  const std::int64_t* missing = slots + static_cast<std::size_t>(n_scanned) * stride;
  if (criterion_.count(missing) == 0) best.default_left = scan.left_count >= criterion_.count(total) - scan.left_count;
  return best;
}

template <class Criterion>
ScanResult SplitFinder<Criterion>::scan_feature(const std::int64_t* slots, int n_bins, const std::int64_t* total,
                                                int feature, const ValueBounds& bounds) const {
  if (X_.categorical(feature)) return criterion_.scan_categories(slots, n_bins, total);
  if constexpr (std::is_same_v<Criterion, GradientCriterion>) {
    if (criterion_.config().poisson_gain) return criterion_.scan_poisson(slots, n_bins, total);
  }
  const int direction = criterion_.config().monotone_direction(feature);
  if (direction != 0 || bounds.bounded()) return criterion_.scan_bounded(slots, n_bins, total, bounds, direction);
  if constexpr (std::is_same_v<Criterion, GradientCriterion>) {
    if (n_bins <= GradientCriterion::kFewSlots) return criterion_.scan_few(slots, n_bins, total);
  }
  return criterion_.scan(slots, n_bins, total);
}

template <class Criterion>
SplitInfo SplitFinder<Criterion>::find(const std::int64_t* hist, const std::int64_t* total,
                                       const std::vector<int>& features) const {
  SplitInfo best;
  for (int f : features) {
    const SplitInfo s = find_on_feature(hist, total, f);
    if (s.is_valid() && s.gain > best.gain) best = s;
  }
  return best;
}

template <class Criterion>
Sums SplitFinder<Criterion>::left_sums(const std::int64_t* hist, const SplitInfo& split) const {
  const int stride = criterion_.n_channels();
  const int n_bins = X_.n_bins[split.feature];
  const std::int64_t* slots = hist + static_cast<std::size_t>(X_.hist_offset[split.feature]) * stride;
  Sums left(stride, 0);
  const SplitTest test = split.test();
  for (int t = 0; t < n_bins; ++t)
    if (goes_left(test, t, n_bins))
      for (int c = 0; c < stride; ++c) left[c] += slots[static_cast<std::size_t>(t) * stride + c];
  if (split.default_left)
    for (int c = 0; c < stride; ++c) left[c] += slots[static_cast<std::size_t>(n_bins) * stride + c];
  return left;
}

template class SplitFinder<GradientCriterion>;
template class SplitFinder<ClassCriterion>;
template class SplitFinder<TargetClassesCriterion>;
template class SplitFinder<TargetsCriterion>;

}  // namespace treeforge
