// BinMapper: per-feature quantile bin edges fitted on a row sample; raw floats -> uint8 codes, NaN -> missing bin.
#pragma once

#include <vector>

#include "core/common.hpp"
#include "data/dataset.hpp"
#include "data/sparse.hpp"

namespace treeforge {

/// Maps raw feature values to bin codes.
///
/// Feature f has n_bins(f) value bins separated by n_bins(f) - 1 sorted edges; a value x gets the
/// code #{edges < x} (NumPy's searchsorted 'left'), so `x <= edges[t]` exactly when `code <= t`,
/// which lets a tree split on a bin and predict on the raw value with the same result.
/// NaN gets the missing code n_bins(f); -inf and +inf land in the first and last value bins.
///
/// A categorical feature (n_categories[f] = K > 0) holds category codes 0..K-1, and code v is
/// bin v: its edges are v + 0.5, so the numeric reading of a split agrees, and its set splits
/// test bins that are categories. Any other value (NaN, negative, non-integral, >= K: a category
/// unseen in training) gets the missing code.
/// Immutable after fit(); const methods are thread-safe.
class BinMapper {
 public:
  /// n_categories: empty (all numeric) or one entry per feature, 0 for a numeric one.
  explicit BinMapper(int max_bins = 255, std::size_t subsample = 200000, std::uint64_t seed = 0,
                     std::vector<int> n_categories = {});

  /// Rebuilds a fitted mapper from its edges (a loaded model); validates them. n_categories as
  /// in the constructor: a categorical feature's edges must be those of its categories.
  static BinMapper from_edges(int max_bins, std::vector<std::vector<double>> edges,
                              std::vector<int> n_categories = {});

  /// Learns edges from the rows of X (n_rows x n_features) listed in `rows` (empty: every row,
  /// in order), or from `subsample` of them drawn with the seed.
  template <class T>
  void fit(MatrixView<const T> X, Span<const row_t> rows, int n_threads);

  /// Codes of the rows of X listed in `rows`, in that order (empty: every row); X must have
  /// n_features() columns. A list of rows spares the caller a copy of them.
  template <class T>
  BinnedMatrix transform(MatrixView<const T> X, Span<const row_t> rows, int n_threads) const;

  /// The same from sparse rows, whose absent elements are the value 0: the same edges as from
  /// the rows made dense. Memory follows the stored values of the sample.
  template <class T>
  void fit(CsrView<const T> X, Span<const row_t> rows, int n_threads);

  /// The same codes as from the rows made dense, as a sparse BinnedMatrix: each row keeps only
  /// its codes that are not the code of 0. min_stored > 0 leaves out (BinnedMatrix::active) the
  /// features of fewer rows than that of other codes: with min_stored the fewest rows a leaf
  /// takes, no split of theirs could send so many rows away from the zero code's side; such a
  /// training matrix is also indexed by feature (BinnedMatrix::column_begin).
  template <class T>
  BinnedMatrix transform(CsrView<const T> X, Span<const row_t> rows, int n_threads, std::size_t min_stored = 0) const;

  int max_bins() const { return max_bins_; }
  int n_features() const { return static_cast<int>(edges_.size()); }
  bool is_fitted() const { return fitted_; }
  int n_bins(int f) const { return static_cast<int>(edges_[f].size()) + 1; }
  const std::vector<double>& edges(int f) const { return edges_[f]; }
  const std::vector<std::vector<double>>& all_edges() const { return edges_; }
  /// Categories of feature f (0: numeric).
  int n_categories(int f) const { return n_categories_.empty() ? 0 : n_categories_[f]; }
  const std::vector<int>& all_n_categories() const { return n_categories_; }
  /// Positions among n_given rows of the sample the edges are fitted on (empty: all of them):
  /// a distributed fit gathers these rows by global id, and fit() on them alone gives its edges.
  std::vector<row_t> sample_positions(std::size_t n_given) const;

 private:
  /// Shared by both transforms: out's shape, bins and layout (sparse when `sparse`).
  BinnedMatrix empty_binned(std::size_t n_rows, bool sparse) const;
  /// Each feature's edges padded with +inf to a power of two (code_of), and that width.
  void padded_edges(std::vector<std::vector<double>>& padded, std::vector<int>& width) const;

  int max_bins_;
  std::size_t subsample_;
  std::uint64_t seed_;
  bool fitted_ = false;
  std::vector<std::vector<double>> edges_;
  std::vector<int> n_categories_;
};

/// The edges of a categorical feature of K categories: k + 0.5 for k < K - 1.
std::vector<double> category_edges(int n_categories);

/// Edges for one feature from its sorted non-NaN sample: every distinct value its own bin when there
/// are at most max_bins of them, else bins of about equal count, a value heavier than a bin kept alone.
std::vector<double> find_bin_edges(std::vector<double>& sorted_values, int max_bins);

/// The same from the distinct sorted values of the sample and how often each occurs.
std::vector<double> edges_from_counts(const std::vector<double>& uniques, const std::vector<std::size_t>& counts,
                                      int max_bins);

}  // namespace treeforge
