// CsrView: a caller's sparse matrix in compressed sparse rows, and its validation.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/common.hpp"

namespace treeforge {

/// Non-owning view of a sparse matrix in compressed sparse rows: row i holds values[k] at column
/// indices[k] for k in [indptr[i], indptr[i + 1]), columns strictly ascending; every other element
/// is 0 (the value 0, not missing: an explicit NaN is missing). Callers validate a view they did
/// not build with check_csr before anything reads it.
template <class T>
struct CsrView {
  const std::int64_t* indptr = nullptr;
  const std::int32_t* indices = nullptr;
  T* values = nullptr;
  std::size_t n_rows = 0;
  std::size_t n_cols = 0;

  std::size_t nnz() const { return static_cast<std::size_t>(indptr[n_rows]); }
  /// Row i's value at column `column`: bisection among the row's columns.
  double at(std::size_t i, std::int32_t column) const;
};

template <class T>
double CsrView<T>::at(std::size_t i, std::int32_t column) const {
  std::int64_t lo = indptr[i], hi = indptr[i + 1];
  while (lo < hi) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    if (indices[mid] < column) lo = mid + 1; else hi = mid;
  }
  return lo < indptr[i + 1] && indices[lo] == column ? static_cast<double>(values[lo]) : 0.0;
}

/// Checks that X's row pointers rise from 0 to the number of stored values, and that each row's
/// columns are in range and strictly ascending (scipy's canonical form), with a message naming
/// the first row that breaks it. n_stored: the length of indices and values.
template <class T>
void check_csr(const CsrView<T>& X, std::size_t n_stored) {
  check(X.indptr[0] == 0, "sparse X: indptr must start at 0");
  check(static_cast<std::size_t>(X.indptr[X.n_rows]) == n_stored, "sparse X: indptr ends at ", X.indptr[X.n_rows],
        " for ", n_stored, " stored values");
  check(X.n_cols <= static_cast<std::size_t>(INT32_MAX), "sparse X has too many columns");
  for (std::size_t i = 0; i < X.n_rows; ++i) {
    const std::int64_t begin = X.indptr[i], end = X.indptr[i + 1];
    check(begin <= end && end <= X.indptr[X.n_rows], "sparse X: indptr decreases at row ", i);
    for (std::int64_t k = begin; k < end; ++k)
      check(X.indices[k] >= 0 && static_cast<std::size_t>(X.indices[k]) < X.n_cols && (k == begin || X.indices[k - 1] < X.indices[k]),
            "sparse X: the columns of row ", i, " are out of range or not strictly ascending");
  }
}

}  // namespace treeforge
