// RowScanner: a node's slots summed from its rows over the codes present, scanned by the criterion; the row-scan test hook.
#include "grow/row_scan.hpp"

#include <atomic>

namespace treeforge {

namespace {
std::atomic<int> g_policy{static_cast<int>(RowScanPolicy::kAuto)};
std::atomic<std::uint64_t> g_row_scans{0};
}  // namespace

void set_row_scan_policy_for_testing(RowScanPolicy policy) { g_policy = static_cast<int>(policy); }
RowScanPolicy row_scan_policy_for_testing() { return static_cast<RowScanPolicy>(g_policy.load()); }
std::uint64_t row_scans_for_testing() { return g_row_scans; }
void count_row_scan_for_testing() { g_row_scans.fetch_add(1, std::memory_order_relaxed); }

template <class Criterion>
void RowScanner<Criterion>::set_node(Span<const row_t> rows) {
  rows_ = rows;
  codes_.resize(rows.size);
  if (!kCopiesStats) return;
  const int stride = criterion_.n_channels();
  row_stats_.assign(rows.size * stride, 0);
  for (std::size_t i = 0; i < rows.size; ++i) criterion_.add(row_stats_.data() + i * stride, rows[i]);
}

template <class Criterion>
bool RowScanner<Criterion>::same_codes(int feature) const {
  return X_.at(rows_[0], feature) == X_.at(rows_[1], feature);
}

template <class Criterion>
SplitInfo RowScanner<Criterion>::find_on_feature(const std::int64_t* total, int feature, const ValueBounds& bounds) {
  const int n_bins = X_.n_bins[feature];
  if (n_bins <= 1 && !X_.has_nan[feature]) return SplitInfo{};
  // A categorical feature's sets are read by category, a wide feature's codes exceed a byte, and
  // a sparse matrix has no byte columns.
  if (X_.categorical(feature) || X_.is_wide(feature) || X_.is_sparse()) {
    full_slots(feature);
    return finder_.find_on_slots(slots_.data(), n_bins, nullptr, total, feature, bounds);
  }
  const int n_present = compact_slots(feature, X_.columns.data() + static_cast<std::size_t>(feature) * X_.n_rows);
  if (n_present < 0) return SplitInfo{};
  return finder_.find_on_slots(slots_.data(), n_present, bin_of_, total, feature, bounds);
}

template <class Criterion>
int RowScanner<Criterion>::compact_slots(int feature, const bin_t* codes) {
  // A byte feature has at most 256 codes, its missing code the last: a bit per code present,
  // read in code order, numbers the slots without sorting.
  std::uint64_t present[4] = {0, 0, 0, 0};
  for (std::size_t i = 0; i < rows_.size; ++i) {
    const bin_t code = codes[rows_[i]];
    codes_[i] = code;
    present[code >> 6] |= std::uint64_t{1} << (code & 63);
  }
  const int missing = X_.missing_bin(feature);
  const bool has_missing = (present[missing >> 6] >> (missing & 63)) & 1;
  int n = 0;
  for (int w = 0; w < 4; ++w) {
    for (std::uint64_t bits = present[w]; bits != 0; bits &= bits - 1) {
      const int code = w * 64 + __builtin_ctzll(bits);
      if (code == missing) continue;
      slot_of_[code] = static_cast<std::uint8_t>(n);
      bin_of_[n++] = code;
    }
  }
  // Rows of one code: every threshold leaves a side empty, which min_samples_leaf >= 1 forbids.
  if (n + has_missing <= 1) return -1;
  slot_of_[missing] = static_cast<std::uint8_t>(n);
  const int stride = criterion_.n_channels();
  slots_.assign(static_cast<std::size_t>(n + 1) * stride, 0);
  for (std::size_t i = 0; i < rows_.size; ++i)
    add_row(slots_.data() + static_cast<std::size_t>(slot_of_[codes_[i]]) * stride, i);
  return n;
}

template <class Criterion>
void RowScanner<Criterion>::full_slots(int feature) {
  const int stride = criterion_.n_channels();
  slots_.assign(static_cast<std::size_t>(X_.n_slots(feature)) * stride, 0);
  X_.for_column(feature, [&](const auto& codes) {
    for (std::size_t i = 0; i < rows_.size; ++i) add_row(slots_.data() + static_cast<std::size_t>(codes[rows_[i]]) * stride, i);
  });
}

template <class Criterion>
Sums RowScanner<Criterion>::left_sums(Span<const row_t> rows, const SplitInfo& split) const {
  Sums left(criterion_.n_channels(), 0);
  const SplitTest test = split.test();
  const int missing = X_.missing_bin(split.feature);
  X_.for_column(split.feature, [&](const auto& codes) {
    for (row_t r : rows)
      if (goes_left(test, static_cast<int>(codes[r]), missing)) criterion_.add(left.data(), r);
  });
  return left;
}

template class RowScanner<GradientCriterion>;
template class RowScanner<ClassCriterion>;
template class RowScanner<TargetClassesCriterion>;
template class RowScanner<TargetsCriterion>;

}  // namespace treeforge
