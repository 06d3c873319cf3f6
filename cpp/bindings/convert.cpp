// Conversions of 1-D arrays (labels, weights, rows, gradients) and margins.
#include "bindings/convert.hpp"

#include <string>
#include <tuple>

namespace treeforge {

std::vector<double> to_vector(const py::object& obj, const char* name) {
  if (obj.is_none()) return {};
  auto a = DoubleArray::ensure(obj);
  check(a && a.ndim() == 1, name, " must be a 1-D numeric array");
  return std::vector<double>(a.data(), a.data() + a.size());
}

std::vector<std::int64_t> int64_vector(const py::object& obj, const char* name) {
  if (obj.is_none()) return {};
  auto a = CArrayCast<std::int64_t>::ensure(obj);
  check(a && a.ndim() == 1, name, " must be a 1-D integer array");
  return std::vector<std::int64_t>(a.data(), a.data() + a.size());
}

std::vector<row_t> row_vector(const py::object& rows) {
  std::vector<row_t> out;
  for (std::int64_t r : int64_vector(rows, "rows")) out.push_back(static_cast<row_t>(r));
  return out;
}

std::vector<row_t> listed_rows(const py::object& rows) {
  std::vector<row_t> out = row_vector(rows);
  check(rows.is_none() || !out.empty(), "rows is empty: there are no rows to bin");
  return out;
}

bool is_csr(const py::object& X) {
  if (!py::hasattr(X, "format") || !py::hasattr(X, "indptr")) return false;
  return py::str(X.attr("format")).cast<std::string>() == "csr";
}

std::size_t n_rows_of(const py::object& X) {
  if (is_csr(X)) return X.attr("shape").cast<std::pair<std::size_t, std::size_t>>().first;
  py::array a = py::array::ensure(X);
  check(static_cast<bool>(a) && a.ndim() == 2, "X must be a 2-D array");
  return static_cast<std::size_t>(a.shape(0));
}

CsrIndex csr_index(const py::object& X) {
  CsrIndex index;
  std::tie(index.n_rows, index.n_cols) = X.attr("shape").cast<std::pair<std::size_t, std::size_t>>();
  index.indptr = decltype(index.indptr)::ensure(X.attr("indptr"));
  check(static_cast<bool>(index.indptr) && static_cast<std::size_t>(index.indptr.size()) == index.n_rows + 1,
        "sparse X: indptr must hold one integer more than X has rows");
  py::array columns = py::array::ensure(X.attr("indices"));
  check(static_cast<bool>(columns) && columns.ndim() == 1, "sparse X: indices must be a 1-D integer array");
  index.n_stored = static_cast<std::size_t>(columns.size());
  if (py::isinstance<py::array_t<std::int32_t>>(columns) && (columns.flags() & py::array::c_style)) {
    index.indices = columns.cast<CArray<std::int32_t>>();
    return index;
  }
  auto wide = CArrayCast<std::int64_t>::ensure(columns);
  check(static_cast<bool>(wide), "sparse X: indices must be integers");
  index.narrowed.resize(index.n_stored);
  for (std::size_t k = 0; k < index.n_stored; ++k) {
    const std::int64_t c = wide.data()[k];
    check(c >= 0 && static_cast<std::size_t>(c) < index.n_cols, "sparse X: column index ", c, " is out of range");
    index.narrowed[k] = static_cast<std::int32_t>(c);
  }
  return index;
}

std::vector<GradPair> grad_pairs(const py::object& grad, const py::object& hess) {
  const auto g = to_vector(grad, "grad"), h = to_vector(hess, "hess");
  check(g.size() == h.size(), "grad and hess must have the same length");
  std::vector<GradPair> gh(g.size());
  for (std::size_t i = 0; i < g.size(); ++i) gh[i] = {static_cast<float>(g[i]), static_cast<float>(h[i])};
  return gh;
}

std::vector<double> output_major(const py::object& obj, const char* name) {
  auto a = DoubleArray::ensure(obj);
  check(a && (a.ndim() == 1 || a.ndim() == 2), name, " must be a 1-D or 2-D numeric array");
  const std::size_t n = a.shape(0), k = a.ndim() == 2 ? a.shape(1) : 1;
  std::vector<double> out(n * k);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t c = 0; c < k; ++c) out[c * n + i] = a.data()[i * k + c];
  return out;
}

py::array_t<double> margin_rows(const std::vector<double>& margin, std::size_t n, int k) {
  py::array_t<double> out({n, static_cast<std::size_t>(k)});
  double* o = out.mutable_data();
  for (std::size_t i = 0; i < n; ++i)
    for (int c = 0; c < k; ++c) o[i * k + c] = margin[c * n + i];
  return out;
}

TrainData ensemble_data(const py::object& y, const py::object& classes, const py::object& sample_weight) {
  TrainData data;
  data.y = to_vector(classes.is_none() ? y : classes, classes.is_none() ? "y" : "classes");
  data.weight = to_vector(sample_weight, "sample_weight");
  return data;
}

}  // namespace treeforge
