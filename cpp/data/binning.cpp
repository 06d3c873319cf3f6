// BinMapper: quantile edges from a sample and the raw -> code transform.
#include "data/binning.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

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
  return edges_from_counts(uniques, counts, max_bins);
}

std::vector<double> edges_from_counts(const std::vector<double>& uniques, const std::vector<std::size_t>& counts,
                                      int max_bins) {
  std::vector<double> edges;
  const std::size_t n_unique = uniques.size();
  if (n_unique <= 1) return edges;
  if (n_unique <= static_cast<std::size_t>(max_bins)) {
    for (std::size_t i = 0; i + 1 < n_unique; ++i) edges.push_back(cut_between(uniques[i], uniques[i + 1]));
    return edges;
  }
  // Greedy equal-count bins: the target size is re-derived from what is left after every cut,
  // and a value heavier than the target starts a bin of its own.
  double rest = 0;
  for (std::size_t c : counts) rest += static_cast<double>(c);
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

/// The code of value v of a feature whose edges are e, padded with +inf to `width` (a power of
/// two): #{edges < v} by a fixed number of halving steps with no unpredictable branch, or
/// `missing` for NaN and, at a categorical feature, for a value that is not a category.
inline int code_of(double v, const double* e, int width, bool categorical, int missing) {
  int pos = 0;
  for (int step = width / 2; step >= 1; step /= 2) pos += (e[pos + step - 1] < v) ? step : 0;
  // The last slot is never compared: it is +inf, never below any v.
  // A categorical feature's value is a category only when it is the code itself.
  const bool is_nan = v != v || (categorical && static_cast<double>(pos) != v);
  return is_nan ? missing : pos;
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
      const int code = code_of(static_cast<double>(block(i - lo, f)), e, width, categorical, missing);
      nan_seen |= code == missing;
      store(i, code);
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

std::vector<row_t> BinMapper::sample_positions(std::size_t n_given) const {
  if (n_given <= subsample_) return {};
  Rng rng(derive_seed(seed_, 0x62696e73 /* "bins" */));
  return sample_without_replacement(n_given, subsample_, rng);
}

template <class T>
void BinMapper::fit(MatrixView<const T> X, Span<const row_t> rows, int n_threads) {
  check_rows(rows, X.n_rows);
  const std::size_t n_given = rows.empty() ? X.n_rows : rows.size;
  check(n_given > 0, "cannot fit bins on 0 rows");
  const std::vector<row_t> sample = sample_positions(n_given);  // positions in the given rows
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

BinnedMatrix BinMapper::empty_binned(std::size_t n_rows, bool sparse) const {
  BinnedMatrix out;
  out.n_rows = n_rows;
  out.n_features = n_features();
  out.n_bins.resize(out.n_features);
  out.is_categorical.assign(out.n_features, 0);
  for (int f = 0; f < out.n_features; ++f) {
    out.n_bins[f] = n_bins(f);
    out.is_categorical[f] = n_categories(f) > 0;
  }
  if (sparse) out.sparse_begin.assign(n_rows + 1, 0);
  out.finalize_layout();
  return out;
}

void BinMapper::padded_edges(std::vector<std::vector<double>>& padded, std::vector<int>& width) const {
  padded.assign(n_features(), {});
  width.assign(n_features(), 1);
  for (int f = 0; f < n_features(); ++f) {
    while (width[f] < n_bins(f)) width[f] *= 2;
    padded[f].assign(width[f], std::numeric_limits<double>::infinity());
    std::copy(edges_[f].begin(), edges_[f].end(), padded[f].begin());
  }
}

template <class T>
BinnedMatrix BinMapper::transform(MatrixView<const T> X, Span<const row_t> rows, int n_threads) const {
  check(fitted_, "BinMapper is not fitted");
  check(static_cast<int>(X.n_cols) == n_features(),
        "X has ", X.n_cols, " features, the bins were fitted on ", n_features());
  check_rows(rows, X.n_rows);
  BinnedMatrix out = empty_binned(rows.empty() ? X.n_rows : rows.size, false);
  out.columns.resize(out.n_rows * X.n_cols);
  out.group_codes.resize(out.n_rows * static_cast<std::size_t>(out.n_byte_groups));  // zeros: bundles add into them
  out.wide_columns.resize(out.n_rows * static_cast<std::size_t>(out.n_groups - out.n_byte_groups));
  std::vector<std::vector<double>> padded;
  std::vector<int> steps;
  padded_edges(padded, steps);

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

namespace {

/// Inserts `n_zeros` occurrences of the value 0 into distinct sorted values and their counts.
void add_zeros(std::vector<double>& uniques, std::vector<std::size_t>& counts, std::size_t n_zeros) {
  if (n_zeros == 0) return;
  const auto at = std::lower_bound(uniques.begin(), uniques.end(), 0.0);  // -0.0 == 0.0: merged as dense rows do
  const std::size_t p = static_cast<std::size_t>(at - uniques.begin());
  if (at != uniques.end() && *at == 0.0) {
    counts[p] += n_zeros;
    return;
  }
  uniques.insert(at, 0.0);
  counts.insert(counts.begin() + static_cast<std::ptrdiff_t>(p), n_zeros);
}

}  // namespace

template <class T>
void BinMapper::fit(CsrView<const T> X, Span<const row_t> rows, int n_threads) {
  check_rows(rows, X.n_rows);
  const std::size_t n_given = rows.empty() ? X.n_rows : rows.size;
  check(n_given > 0, "cannot fit bins on 0 rows");
  const std::vector<row_t> sample = sample_positions(n_given);
  const std::size_t n = sample.empty() ? n_given : sample.size();
  const std::size_t n_features = X.n_cols;
  check(n_categories_.empty() || n_categories_.size() == n_features, "n_categories has ", n_categories_.size(),
        " entries, X has ", n_features, " features");
  auto row_of = [&](std::size_t i) {
    const std::size_t at = sample.empty() ? i : sample[i];
    return rows.empty() ? at : rows[at];
  };
  // The sample's stored values by column (counted, then placed): memory follows them.
  std::vector<std::size_t> start(n_features + 1, 0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::int64_t k = X.indptr[row_of(i)]; k < X.indptr[row_of(i) + 1]; ++k) ++start[X.indices[k] + 1];
  std::partial_sum(start.begin(), start.end(), start.begin());
  std::vector<double> columns(start.back());
  std::vector<std::size_t> at(start.begin(), start.end() - 1);
  for (std::size_t i = 0; i < n; ++i)
    for (std::int64_t k = X.indptr[row_of(i)]; k < X.indptr[row_of(i) + 1]; ++k)
      columns[at[X.indices[k]]++] = static_cast<double>(X.values[k]);
  edges_.assign(n_features, {});
  parallel_for_dynamic(n_features, n_threads, [&](std::size_t f) {
    if (n_categories(static_cast<int>(f)) > 0) {
      edges_[f] = category_edges(n_categories(static_cast<int>(f)));
      return;
    }
    double* col = columns.data() + start[f];
    const std::size_t n_stored = start[f + 1] - start[f];
    double* end = std::remove_if(col, col + n_stored, [](double v) { return std::isnan(v); });
    radix_sort(col, end);
    std::vector<double> uniques;
    std::vector<std::size_t> counts;
    for (const double* v = col; v != end;) {
      const double* w = v;
      while (w != end && *w == *v) ++w;
      uniques.push_back(*v);
      counts.push_back(static_cast<std::size_t>(w - v));
      v = w;
    }
    add_zeros(uniques, counts, n - n_stored);  // the rows that store nothing for f hold 0
    edges_[f] = edges_from_counts(uniques, counts, max_bins_);
  });
  fitted_ = true;
}

namespace {

/// The feature of each histogram slot of X's layout.
std::vector<int> slot_features(const BinnedMatrix& X) {
  std::vector<int> feature_of(static_cast<std::size_t>(X.hist_offset.back()));
  for (int f = 0; f < X.n_features; ++f)
    std::fill(feature_of.begin() + X.hist_offset[f], feature_of.begin() + X.hist_offset[f + 1], f);
  return feature_of;
}

/// Leaves out of sparse matrix `out` the features of fewer than max(1, min_stored) entries: their
/// entries are dropped and the others' slots renumbered in the layout of the active features.
void leave_out_rare_features(BinnedMatrix& out, std::size_t min_stored, int n_threads) {
  const std::vector<int> old_offset = out.hist_offset;
  const std::vector<int> feature_of = slot_features(out);
  std::vector<std::size_t> stored(out.n_features, 0);
  for (const std::uint32_t slot : out.sparse_slot) ++stored[feature_of[slot]];
  std::vector<std::uint8_t> active(out.n_features);
  for (int f = 0; f < out.n_features; ++f) active[f] = stored[f] >= std::max<std::size_t>(1, min_stored);
  out.finalize_sparse_layout(active);
  constexpr std::uint32_t kLeftOut = UINT32_MAX;
  std::vector<std::uint32_t> moved(feature_of.size());
  for (std::size_t s = 0; s < moved.size(); ++s) {
    const int f = feature_of[s];
    moved[s] = active[f] ? static_cast<std::uint32_t>(s - old_offset[f] + out.hist_offset[f]) : kLeftOut;
  }
  // Each row's kept entries counted, then written, by blocks of rows.
  std::vector<std::size_t> begin(out.n_rows + 1, 0);
  const std::size_t blocks = n_blocks(out.n_rows, kRowBlock);
  parallel_for(blocks, n_threads, [&](std::size_t b) {
    for (std::size_t i = b * kRowBlock, end = std::min(out.n_rows, (b + 1) * kRowBlock); i < end; ++i)
      for (std::size_t k = out.sparse_begin[i]; k < out.sparse_begin[i + 1]; ++k)
        begin[i + 1] += moved[out.sparse_slot[k]] != kLeftOut;
  });
  std::partial_sum(begin.begin(), begin.end(), begin.begin());
  std::vector<std::uint32_t> slots(begin.back());
  parallel_for(blocks, n_threads, [&](std::size_t b) {
    for (std::size_t i = b * kRowBlock, end = std::min(out.n_rows, (b + 1) * kRowBlock); i < end; ++i) {
      std::size_t at = begin[i];
      for (std::size_t k = out.sparse_begin[i]; k < out.sparse_begin[i + 1]; ++k)
        if (moved[out.sparse_slot[k]] != kLeftOut) slots[at++] = moved[out.sparse_slot[k]];
    }
  });
  out.sparse_begin.swap(begin);
  out.sparse_slot.swap(slots);
}

/// Fills a sparse matrix's index by feature (column_begin, column_rows, column_codes).
void index_columns(BinnedMatrix& out) {
  const std::vector<int> feature_of = slot_features(out);
  out.column_begin.assign(out.n_features + 1, 0);
  for (const std::uint32_t slot : out.sparse_slot) ++out.column_begin[feature_of[slot] + 1];
  std::partial_sum(out.column_begin.begin(), out.column_begin.end(), out.column_begin.begin());
  out.column_rows.resize(out.sparse_slot.size());
  out.column_codes.resize(out.sparse_slot.size());
  std::vector<std::size_t> at(out.column_begin.begin(), out.column_begin.end() - 1);
  for (std::size_t i = 0; i < out.n_rows; ++i)
    for (std::size_t k = out.sparse_begin[i]; k < out.sparse_begin[i + 1]; ++k) {
      const int f = feature_of[out.sparse_slot[k]];
      out.column_rows[at[f]] = static_cast<row_t>(i);
      out.column_codes[at[f]++] = static_cast<wide_code_t>(out.sparse_slot[k] - out.hist_offset[f]);
    }
}

}  // namespace

template <class T>
BinnedMatrix BinMapper::transform(CsrView<const T> X, Span<const row_t> rows, int n_threads,
                                  std::size_t min_stored) const {
  check(fitted_, "BinMapper is not fitted");
  check(static_cast<int>(X.n_cols) == n_features(), "X has ", X.n_cols, " features, the bins were fitted on ",
        n_features());
  check_rows(rows, X.n_rows);
  BinnedMatrix out = empty_binned(rows.empty() ? X.n_rows : rows.size, true);
  check(out.n_hist_slots() >= 0 && static_cast<std::uint64_t>(out.n_hist_slots()) < UINT32_MAX,
        "sparse X has too many features for its bins");
  std::vector<std::vector<double>> padded;
  std::vector<int> width;
  padded_edges(padded, width);
  out.zero_code.resize(out.n_features);
  for (int f = 0; f < out.n_features; ++f)
    out.zero_code[f] = code_of(0.0, padded[f].data(), width[f], out.categorical(f), out.missing_bin(f));
  // Each block's slots apart, then laid end to end.
  const std::size_t blocks = n_blocks(out.n_rows, kRowBlock);
  std::vector<std::vector<std::uint32_t>> block_slots(blocks);
  std::vector<std::vector<int>> block_nan_features(blocks);
  parallel_for(blocks, n_threads, [&](std::size_t b) {
    const std::size_t lo = b * kRowBlock, hi = std::min(out.n_rows, lo + kRowBlock);
    for (std::size_t i = lo; i < hi; ++i) {
      const std::size_t r = rows.empty() ? i : rows[i];
      for (std::int64_t k = X.indptr[r]; k < X.indptr[r + 1]; ++k) {
        const int f = X.indices[k];
        const int code = code_of(static_cast<double>(X.values[k]), padded[f].data(), width[f], out.categorical(f),
                                 out.missing_bin(f));
        if (code == out.zero_code[f]) continue;
        if (code == out.missing_bin(f)) block_nan_features[b].push_back(f);
        block_slots[b].push_back(static_cast<std::uint32_t>(out.hist_offset[f] + code));
      }
      out.sparse_begin[i + 1] = block_slots[b].size();  // within the block, made global below
    }
  });
  std::size_t offset = 0;
  for (std::size_t b = 0; b < blocks; ++b) {
    const std::size_t lo = b * kRowBlock, hi = std::min(out.n_rows, lo + kRowBlock);
    for (std::size_t i = lo; i < hi; ++i) out.sparse_begin[i + 1] += offset;
    offset += block_slots[b].size();
  }
  out.sparse_slot.resize(offset);
  parallel_for(blocks, n_threads, [&](std::size_t b) {
    const auto at = out.sparse_slot.begin() + static_cast<std::ptrdiff_t>(out.sparse_begin[b * kRowBlock]);
    std::copy(block_slots[b].begin(), block_slots[b].end(), at);
    std::vector<std::uint32_t>().swap(block_slots[b]);
  });
  out.has_nan.assign(out.n_features, 0);
  for (const auto& features : block_nan_features)
    for (int f : features) out.has_nan[f] = 1;
  if (min_stored > 0) {  // a training matrix
    leave_out_rare_features(out, min_stored, n_threads);
    index_columns(out);
  }
  return out;
}

template void BinMapper::fit<float>(MatrixView<const float>, Span<const row_t>, int);
template void BinMapper::fit<double>(MatrixView<const double>, Span<const row_t>, int);
template BinnedMatrix BinMapper::transform<float>(MatrixView<const float>, Span<const row_t>, int) const;
template BinnedMatrix BinMapper::transform<double>(MatrixView<const double>, Span<const row_t>, int) const;
template void BinMapper::fit<float>(CsrView<const float>, Span<const row_t>, int);
template void BinMapper::fit<double>(CsrView<const double>, Span<const row_t>, int);
template BinnedMatrix BinMapper::transform<float>(CsrView<const float>, Span<const row_t>, int, std::size_t) const;
template BinnedMatrix BinMapper::transform<double>(CsrView<const double>, Span<const row_t>, int, std::size_t) const;

}  // namespace treeforge
