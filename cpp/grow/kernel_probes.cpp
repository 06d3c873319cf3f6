// Kernel probes: histogram, subtraction, split search and partition on explicit inputs.
#include "grow/kernel_probes.hpp"

#include <algorithm>

#include "grow/histogram.hpp"
#include "grow/partition.hpp"
#include "grow/row_scan.hpp"

namespace treeforge {

namespace {

std::vector<row_t> all_rows(const BinnedMatrix& X) {
  std::vector<row_t> rows(X.n_rows);
  for (row_t r = 0; r < X.n_rows; ++r) rows[r] = r;
  return rows;
}

std::vector<std::int64_t> gradient_histogram(const BinnedMatrix& X, const GradientCriterion& criterion,
                                             Span<const row_t> rows, int n_threads) {
  std::vector<std::int64_t> hist(static_cast<std::size_t>(X.n_hist_slots()) * GradientCriterion::kChannels);
  HistogramBuilder(X, n_threads).build(criterion, rows, hist.data());
  return hist;
}

}  // namespace

std::vector<double> decoded_histogram(const BinnedMatrix& X, Span<const GradPair> gh, Span<const row_t> rows) {
  for (row_t r : rows) check(r < X.n_rows, "row out of range");
  const std::vector<row_t> every = rows.empty() ? all_rows(X) : std::vector<row_t>();
  if (rows.empty()) rows = Span<const row_t>(every.data(), every.size());
  const TreeConfig config;
  const GradScale scale = GradScale::fit(gh, rows, 1);
  const GradientCriterion criterion(gh, scale, config);
  const std::vector<std::int64_t> hist = gradient_histogram(X, criterion, rows, 2);
  std::vector<double> out(static_cast<std::size_t>(X.n_hist_slots()) * 3);
  for (int s = 0; s < X.n_hist_slots(); ++s) {
    const std::int64_t* slot = hist.data() + static_cast<std::size_t>(s) * GradientCriterion::kChannels;
    out[3 * s] = scale.grad(slot[0]);
    out[3 * s + 1] = scale.hess(slot[1]);
    out[3 * s + 2] = static_cast<double>(criterion.count(slot));
  }
  return out;
}

std::int64_t subtraction_error(const BinnedMatrix& X, Span<const GradPair> gh, Span<const row_t> left_rows) {
  std::vector<std::uint8_t> is_left(X.n_rows, 0);
  for (row_t r : left_rows) {
    check(r < X.n_rows, "row ", r, " is out of range for ", X.n_rows, " rows");
    is_left[r] = 1;
  }
  const std::vector<row_t> every = all_rows(X);
  std::vector<row_t> right_rows;
  for (row_t r : every)
    if (!is_left[r]) right_rows.push_back(r);
  const TreeConfig config;
  const GradientCriterion criterion(gh, GradScale::fit(gh, {}, 1), config);
  std::vector<std::int64_t> parent = gradient_histogram(X, criterion, Span<const row_t>(every.data(), every.size()), 2);
  const std::vector<std::int64_t> left = gradient_histogram(X, criterion, left_rows, 2);
  const std::vector<std::int64_t> right =
      gradient_histogram(X, criterion, Span<const row_t>(right_rows.data(), right_rows.size()), 2);
  HistogramBuilder(X, 1).subtract(parent.data(), left.data(), GradientCriterion::kChannels);
  std::int64_t worst = 0;
  for (std::size_t s = 0; s < parent.size(); ++s) {
    const std::int64_t diff = parent[s] - right[s];
    worst = std::max<std::int64_t>(worst, diff < 0 ? -diff : diff);
  }
  return worst;
}

SplitProbe best_split(const BinnedMatrix& X, Span<const GradPair> gh, const TreeConfig& config,
                      Span<const row_t> rows, bool by_rows) {
  for (row_t r : rows) check(r < X.n_rows, "row out of range");
  const std::vector<row_t> every = rows.empty() ? all_rows(X) : std::vector<row_t>();
  if (rows.empty()) rows = Span<const row_t>(every.data(), every.size());
  const GradientCriterion criterion(gh, GradScale::fit(gh, rows, 1), config);
  constexpr int kStride = GradientCriterion::kChannels;
  const std::vector<std::int64_t> hist = gradient_histogram(X, criterion, rows, 1);
  Sums total(kStride, 0);
  for (int s = X.hist_offset[0]; s < X.hist_offset[1]; ++s)
    for (int c = 0; c < kStride; ++c) total[c] += hist[static_cast<std::size_t>(s) * kStride + c];
  const SplitFinder<GradientCriterion> finder(X, criterion);
  RowScanner<GradientCriterion> scanner(X, criterion, finder);
  scanner.set_node(rows);
  SplitProbe probe;
  for (int f = 0; f < X.n_features; ++f) {  // ascending, as the grower reduces
    const SplitInfo s = by_rows ? scanner.find_on_feature(total.data(), f, ValueBounds{})
                                : finder.find_on_feature(hist.data(), total.data(), f);
    if (s.is_valid() && s.gain > probe.split.gain) probe.split = s;
  }
  if (probe.split.is_valid()) {
    const Sums left = by_rows ? scanner.left_sums(rows, probe.split) : finder.left_sums(hist.data(), probe.split);
    probe.left_count = criterion.count(left.data());
    probe.right_count = criterion.count(total.data()) - probe.left_count;
  }
  return probe;
}

std::pair<std::vector<row_t>, std::vector<row_t>> partition_rows(const BinnedMatrix& X, Span<const row_t> rows,
                                                                 int feature, int bin, bool default_left,
                                                                 int n_threads) {
  check(feature >= 0 && feature < X.n_features, "feature out of range");
  for (row_t r : rows) check(r < X.n_rows, "row out of range");
  RowPartition partition;
  partition.reset(X.n_rows, rows);
  const std::size_t n = partition.indices().size();
  const std::size_t mid =
      partition.split(0, n, X, feature, SplitTest::numeric(bin, 0.0, default_left), n_threads);
  const auto& idx = partition.indices();
  return {std::vector<row_t>(idx.begin(), idx.begin() + mid), std::vector<row_t>(idx.begin() + mid, idx.end())};
}

}  // namespace treeforge
