// Conversions between NumPy arrays and the core's vectors, spans and matrix views, for every binding file.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <vector>

#include "bindings/long_call.hpp"
#include "core/common.hpp"
#include "data/sparse.hpp"
#include "data/train_data.hpp"

namespace treeforge {

namespace py = pybind11;

/// NumPy arrays as the core reads them: C order and aligned for their element type. An array over
/// a pickled or shared buffer (as Dask's transfers make) may be unaligned; `ensure` and the
/// argument casts copy such an array rather than hand the core misaligned elements.
constexpr int kAligned = py::detail::npy_api::NPY_ARRAY_ALIGNED_;
template <class T>
using CArray = py::array_t<T, py::array::c_style | kAligned>;
template <class T>
using CArrayCast = py::array_t<T, py::array::c_style | py::array::forcecast | kAligned>;
using FloatArray = CArray<float>;
using DoubleArray = CArrayCast<double>;

template <class T, int Flags>
MatrixView<const T> matrix_view(const py::array_t<T, Flags>& X) {
  check(X.ndim() == 2, "X must be a 2-D array");
  return {X.data(), static_cast<std::size_t>(X.shape(0)), static_cast<std::size_t>(X.shape(1))};
}

/// Calls fn(MatrixView<const float>) for C-contiguous float32 input, else fn(MatrixView<const double>)
/// on a float64 C-contiguous view (converted only if needed). fn runs as a LongCall.
template <class Fn>
auto with_matrix(const py::array& X, Fn&& fn) {
  if (py::isinstance<FloatArray>(X) && (X.flags() & py::array::c_style)) {
    auto a = X.cast<FloatArray>();
    auto view = matrix_view(a);
    LongCall long_call;
    return fn(view);
  }
  auto a = DoubleArray::ensure(X);
  check(static_cast<bool>(a), "X must be a numeric array");
  auto view = matrix_view(a);
  LongCall long_call;
  return fn(view);
}

/// Whether X is a scipy sparse matrix or array in CSR form (the estimators hand every sparse X
/// over as one).
bool is_csr(const py::object& X);
/// X's number of rows: an array's or a sparse matrix's first dimension.
std::size_t n_rows_of(const py::object& X);

/// The index arrays of a CSR matrix as the core reads them; `narrowed` holds the columns when
/// they came as 64-bit integers (checked in range before narrowing).
struct CsrIndex {
  CArrayCast<std::int64_t> indptr;
  CArray<std::int32_t> indices;
  std::vector<std::int32_t> narrowed;
  std::size_t n_rows = 0, n_cols = 0, n_stored = 0;
  const std::int32_t* columns() const { return narrowed.empty() ? indices.data() : narrowed.data(); }
};
CsrIndex csr_index(const py::object& X);

/// with_matrix for a dense array, or for a scipy CSR matrix fn(CsrView<const float>) (float32
/// values) or fn(CsrView<const double>), validated by check_csr first. fn runs as a LongCall.
template <class Fn>
auto with_rows(const py::object& X, Fn&& fn) {
  if (!is_csr(X)) {
    py::array a = py::array::ensure(X);
    check(static_cast<bool>(a), "X must be a numeric array or a sparse matrix");
    return with_matrix(a, fn);
  }
  const CsrIndex index = csr_index(X);
  py::object values = X.attr("data");
  auto run = [&](auto* data) {
    using T = std::remove_const_t<std::remove_pointer_t<decltype(data)>>;
    const CsrView<const T> view{index.indptr.data(), index.columns(), data, index.n_rows, index.n_cols};
    check_csr(view, index.n_stored);
    LongCall long_call;
    return fn(view);
  };
  if (py::isinstance<FloatArray>(values) && (values.cast<py::array>().flags() & py::array::c_style)) {
    auto a = values.cast<FloatArray>();
    check(static_cast<std::size_t>(a.size()) == index.n_stored, "sparse X: data and indices differ in length");
    return run(a.data());
  }
  auto a = DoubleArray::ensure(values);
  check(static_cast<bool>(a) && static_cast<std::size_t>(a.size()) == index.n_stored,
        "sparse X: data must be numeric, as long as indices");
  return run(a.data());
}

template <class T>
py::array_t<T> to_numpy(const std::vector<T>& v) {
  py::array_t<T> out(v.size());
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

/// A 1-D numeric array as doubles (None: empty); `name` names it in errors.
std::vector<double> to_vector(const py::object& obj, const char* name);
/// A 1-D integer array as int64 (None: empty).
std::vector<std::int64_t> int64_vector(const py::object& obj, const char* name);
/// Row indices (None: empty).
std::vector<row_t> row_vector(const py::object& rows);
/// row_vector of a list the caller gave: an empty list means no rows (not all of them).
std::vector<row_t> listed_rows(const py::object& rows);
/// Gradients and hessians as the core's float pairs.
std::vector<GradPair> grad_pairs(const py::object& grad, const py::object& hess);
/// A (n,) or (n, k) array of per-row values of k outputs as one output-major vector (k * n + i).
std::vector<double> output_major(const py::object& obj, const char* name);
/// Output-major (k * n + i) margins as a (n, k) array.
py::array_t<double> margin_rows(const std::vector<double>& margin, std::size_t n, int k);
/// Labels of a forest or AdaBoost: y (regression) or class indices (classification), and weights.
TrainData ensemble_data(const py::object& y, const py::object& classes, const py::object& sample_weight);

}  // namespace treeforge
