// BinMapper: quantile edges from a sample and the raw -> code transform.
#include "data/binning.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/parallel.hpp"
#include "core/random.hpp"

namespace treeforge {

namespace {

/// A cut strictly between two distinct sorted values a < b: x <= cut for x <= a, x > cut for x >= b.
double cut_between(double a, double b) {
  if (std::isinf(a)) return std::nextafter(b, -std::numeric_limits<double>::infinity());  // a == -inf
  if (std::isinf(b)) return a;                                       // b == +inf
  const double mid = a * 0.5 + b * 0.5;                              // halves first: no overflow
  return (mid >= a && mid < b) ? mid : a;
}

constexpr std::size_t kRowBlock = 512;

void check_rows(Span<const row_t> rows, std::size_t n_rows) {
  for (row_t r : rows) check(r < n_rows, "row ", r, " is out of range for ", n_rows, " rows");
}

}  // namespace

std::vector<double> find_bin_edges(std::vector<double>& values, int max_bins) {
  std::vector<double> uniques;
  std::vector<std::size_t> counts;
  for (std::size_t i = 0; i < values.size();) {
    std::size_t j = i;
    while (j < values.size() && values[j] == values[i]) ++j;
    uniques.push_back(values[i]);
    counts.push_back(j - i);
    i = j;
  }
  std::vector<double> edges;
  const std::size_t n_unique = uniques.size();
  if (n_unique <= 1) return edges;
  if (n_unique <= static_cast<std::size_t>(max_bins)) {
    for (std::size_t i = 0; i + 1 < n_unique; ++i) edges.push_back(cut_between(uniques[i], uniques[i + 1]));
    return edges;
  }
  // Greedy equal-count bins: the target size is re-derived from what is left after every cut,
  // and a value heavier than the target starts a bin of its own.
  double rest = static_cast<double>(values.size());
  int bins_left = max_bins;
  double target = rest / bins_left;
  double in_bin = 0;
  auto cut_before = [&](std::size_t i) {
    edges.push_back(cut_between(uniques[i - 1], uniques[i]));
    rest -= in_bin;
    in_bin = 0;
    --bins_left;
    target = rest / bins_left;
  };
  for (std::size_t i = 0; i < n_unique && bins_left > 1; ++i) {
    const double c = static_cast<double>(counts[i]);
    if (in_bin > 0 && c >= target) cut_before(i);
    if (bins_left <= 1) break;
    in_bin += c;
    if (in_bin >= target && i + 1 < n_unique) cut_before(i + 1);
  }
  return edges;
}

namespace {

/// Sorts doubles (no NaN) ascending by an LSD radix sort of their order-preserving bit patterns:
/// a few linear passes instead of a comparison sort's log2(n) (binning sorts 200,000 values per
/// feature). Byte positions where every key agrees are skipped. -0.0 sorts just before +0.0.
void radix_sort(double* first, double* last) {
  const std::size_t n = static_cast<std::size_t>(last - first);
  if (n < 2) return;
  std::vector<std::uint64_t> keys(n), scratch(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t bits;
    std::memcpy(&bits, first + i, sizeof bits);
    keys[i] = (bits >> 63) ? ~bits : bits | (std::uint64_t{1} << 63);
  }
  std::vector<std::size_t> counts(8 * 256, 0);
  for (std::uint64_t k : keys)
    for (int b = 0; b < 8; ++b) ++counts[b * 256 + ((k >> (8 * b)) & 0xff)];
  for (int b = 0; b < 8; ++b) {
    std::size_t* count = counts.data() + b * 256;
    if (count[(keys[0] >> (8 * b)) & 0xff] == n) continue;  // one value of this byte: order unchanged
    std::size_t offset = 0;
    for (int d = 0; d < 256; ++d) {
      const std::size_t c = count[d];
      count[d] = offset;
      offset += c;
    }
    for (std::uint64_t k : keys) scratch[count[(k >> (8 * b)) & 0xff]++] = k;
    keys.swap(scratch);
  }
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t k = keys[i];
    const std::uint64_t bits = (k >> 63) ? k & ~(std::uint64_t{1} << 63) : ~k;
    std::memcpy(first + i, &bits, sizeof bits);
  }
}

/// Codes of feature f of the rows of `block` (rows lo.. of out) into out's columns and group
/// codes, from the feature's edges padded to `width`; whether any code is the missing one.
template <class T>
std::uint8_t code_rows(MatrixView<const T> block, std::size_t lo, int f, const double* e, int width,
                       BinnedMatrix& out) {
  const int missing = out.missing_bin(f);
  const bool categorical = out.is_categorical[f] != 0;
  std::uint8_t nan_seen = 0;
  // The rows' codes, each handed to store(row, code): one loop per kind of column.
  auto codes = [&](auto&& store) {
    for (std::size_t i = lo; i < lo + block.n_rows; ++i) {
      const double v = static_cast<double>(block(i - lo, f));
      int pos = 0;
      for (int step = width / 2; step >= 1; step /= 2) pos += (e[pos + step - 1] < v) ? step : 0;
      // The last slot is never compared: it is +inf, never below any v.
      // A categorical feature's value is a category only when it is the code itself.
      const bool is_nan = v != v || (categorical && static_cast<double>(pos) != v);
      nan_seen |= is_nan;
      store(i, is_nan ? missing : pos);
    }
  };
  if (out.is_wide(f)) {
    wide_code_t* column = out.wide_columns.data() + static_cast<std::size_t>(out.wide_of[f]) * out.n_rows;
    codes([&](std::size_t i, int code) { column[i] = static_cast<wide_code_t>(code); });
  } else {
    bin_t* column = out.columns.data() + static_cast<std::size_t>(f) * out.n_rows;
    bin_t* group_code = out.group_codes.data() + out.group_of[f];
    const int code_stride = out.code_stride[f];
    codes([&](std::size_t i, int code) {
      group_code[i * out.n_byte_groups] += static_cast<bin_t>(code * code_stride);
      column[i] = static_cast<bin_t>(code);
    });
  }
  return nan_seen;
}

}  // namespace

std::vector<double> category_edges(int n_categories) {
  std::vector<double> edges;
  for (int k = 0; k + 1 < n_categories; ++k) edges.push_back(k + 0.5);
  return edges;
}

BinMapper::BinMapper(int max_bins, std::size_t subsample, std::uint64_t seed, std::vector<int> n_categories)
    : max_bins_(max_bins), subsample_(subsample), seed_(seed), n_categories_(std::move(n_categories)) {
  check(max_bins >= 2 && max_bins <= 255, "max_bins must be in [2, 255]");
  check(subsample >= 1, "subsample must be >= 1");
  for (std::size_t f = 0; f < n_categories_.size(); ++f)
    check(n_categories_[f] >= 0 && n_categories_[f] <= kMaxCategories, "feature ", f, " has ", n_categories_[f],
          " categories; a categorical feature holds 0 to ", kMaxCategories);
}

BinMapper BinMapper::from_edges(int max_bins, std::vector<std::vector<double>> edges, std::vector<int> n_categories) {
  BinMapper mapper(max_bins, 200000, 0, std::move(n_categories));
  check(mapper.n_categories_.empty() || mapper.n_categories_.size() == edges.size(), "n_categories has ",
        mapper.n_categories_.size(), " entries for ", edges.size(), " features");
  for (std::size_t f = 0; f < edges.size(); ++f) {
    const auto& e = edges[f];
    // More bins than max_bins: only a categorical feature's, one per category (a model's file
    // does not say which features are categorical; these edges behave alike either way).
    check(e.size() + 1 <= static_cast<std::size_t>(max_bins) ||
              (e.size() < static_cast<std::size_t>(kMaxCategories) && e == category_edges(static_cast<int>(e.size()) + 1)),
          "bin edges of feature ", f, " exceed max_bins");
    for (std::size_t i = 0; i < e.size(); ++i) {
      check(!std::isnan(e[i]), "bin edge of feature ", f, " is NaN");
      check(i == 0 || e[i - 1] < e[i], "bin edges of feature ", f, " are not increasing");
    }
    const int k = mapper.n_categories(static_cast<int>(f));
    check(k == 0 || e == category_edges(k), "the bin edges of feature ", f, " are not those of ", k, " categories");
  }
  mapper.edges_ = std::move(edges);
  mapper.fitted_ = true;
  return mapper;
}

template <class T>
void BinMapper::fit(MatrixView<const T> X, Span<const row_t> rows, int n_threads) {
  check_rows(rows, X.n_rows);
  const std::size_t n_given = rows.empty() ? X.n_rows : rows.size;
  check(n_given > 0, "cannot fit bins on 0 rows");
  std::vector<row_t> sample;  // positions in the given rows
  if (n_given > subsample_) {
    Rng rng(derive_seed(seed_, 0x62696e73 /* "bins" */));
    sample = sample_without_replacement(n_given, subsample_, rng);
  }
  const std::size_t n = sample.empty() ? n_given : sample.size();
  const std::size_t n_features = X.n_cols;
  check(n_categories_.empty() || n_categories_.size() == n_features, "n_categories has ", n_categories_.size(),
        " entries, X has ", n_features, " features");
  // Gather the sample column-major in one pass over its rows (one cache line per row, not one per
  // row and feature), then sort each column on its own.
  std::vector<double> columns(n * n_features);
  parallel_for(n_blocks(n, kRowBlock), n_threads, [&](std::size_t b) {
    for (std::size_t i = b * kRowBlock, end = std::min(n, (b + 1) * kRowBlock); i < end; ++i) {
      const std::size_t at = sample.empty() ? i : sample[i];
      const T* x = X.row(rows.empty() ? at : rows[at]);
      for (std::size_t f = 0; f < n_features; ++f) columns[f * n + i] = static_cast<double>(x[f]);
    }
  });
  edges_.assign(n_features, {});
  parallel_for_dynamic(n_features, n_threads, [&](std::size_t f) {
    if (n_categories(static_cast<int>(f)) > 0) {
      edges_[f] = category_edges(n_categories(static_cast<int>(f)));
      return;
    }
    double* col = columns.data() + f * n;
    double* end = std::remove_if(col, col + n, [](double v) { return std::isnan(v); });
    radix_sort(col, end);
    std::vector<double> values(col, end);
    edges_[f] = find_bin_edges(values, max_bins_);
  });
  fitted_ = true;
}

template <class T>
BinnedMatrix BinMapper::transform(MatrixView<const T> X, Span<const row_t> rows, int n_threads) const {
  check(fitted_, "BinMapper is not fitted");
  check(static_cast<int>(X.n_cols) == n_features(),
        "X has ", X.n_cols, " features, the bins were fitted on ", n_features());
  check_rows(rows, X.n_rows);
  BinnedMatrix out;
  out.n_rows = rows.empty() ? X.n_rows : rows.size;
  out.n_features = n_features();
  out.columns.resize(out.n_rows * X.n_cols);
  out.n_bins.resize(out.n_features);
  out.is_categorical.assign(out.n_features, 0);
  for (int f = 0; f < out.n_features; ++f) {
    out.n_bins[f] = n_bins(f);
    out.is_categorical[f] = n_categories(f) > 0;
  }
  out.finalize_layout();
  out.group_codes.resize(out.n_rows * static_cast<std::size_t>(out.n_byte_groups));  // zeros: bundles add into them
  out.wide_columns.resize(out.n_rows * static_cast<std::size_t>(out.n_groups - out.n_byte_groups));

  // Branch-free search: each feature's edges padded with +inf to a power of two, so finding
  // #{edges < x} is a fixed number of halving steps with no unpredictable branch.
  std::vector<int> steps(out.n_features);
  std::vector<std::vector<double>> padded(out.n_features);
  for (int f = 0; f < out.n_features; ++f) {
    int width = 1;
    while (width < n_bins(f)) width *= 2;
    steps[f] = width;
    padded[f].assign(width, std::numeric_limits<double>::infinity());
    std::copy(edges_[f].begin(), edges_[f].end(), padded[f].begin());
  }

  const std::size_t blocks = n_blocks(out.n_rows, kRowBlock);
  std::vector<std::vector<std::uint8_t>> block_has_nan(blocks, std::vector<std::uint8_t>(out.n_features, 0));
  parallel_for(blocks, n_threads, [&](std::size_t b) {
    const std::size_t lo = b * kRowBlock, hi = std::min(out.n_rows, lo + kRowBlock);
    auto& has_nan = block_has_nan[b];
    // The block's rows of X; listed rows are gathered first, a row at a time, so that the
    // feature-major pass below reads them from cache rather than one scattered row per value.
    MatrixView<const T> block{X.row(lo), hi - lo, X.n_cols};
    std::vector<T> gathered;
    if (!rows.empty()) {
      gathered.resize((hi - lo) * X.n_cols);
      for (std::size_t i = lo; i < hi; ++i) std::copy_n(X.row(rows[i]), X.n_cols, gathered.data() + (i - lo) * X.n_cols);
      block = MatrixView<const T>{gathered.data(), hi - lo, X.n_cols};
    }
    // Feature-major inside the block: one feature's edges stay in L1 across the block's rows.
    for (int f = 0; f < out.n_features; ++f)
      has_nan[f] = code_rows(block, lo, f, padded[f].data(), steps[f], out);
  });
  out.has_nan.assign(out.n_features, 0);
  for (const auto& block : block_has_nan)
    for (int f = 0; f < out.n_features; ++f) out.has_nan[f] |= block[f];
  return out;
}

template void BinMapper::fit<float>(MatrixView<const float>, Span<const row_t>, int);
template void BinMapper::fit<double>(MatrixView<const double>, Span<const row_t>, int);
template BinnedMatrix BinMapper::transform<float>(MatrixView<const float>, Span<const row_t>, int) const;
template BinnedMatrix BinMapper::transform<double>(MatrixView<const double>, Span<const row_t>, int) const;

}  // namespace treeforge
