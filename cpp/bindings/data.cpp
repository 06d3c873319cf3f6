// BinnedData and BinMapper: binning a float matrix, whole or by rows.
#include <array>

#include <pybind11/stl.h>

#include "bindings/bind.hpp"
#include "bindings/convert.hpp"
#include "data/binning.hpp"

namespace treeforge {

namespace {

/// Categories per feature (None: none categorical).
std::vector<int> category_counts(const py::object& n_categories) {
  std::vector<int> out;
  for (std::int64_t k : int64_vector(n_categories, "n_categories")) {
    check(k >= 0 && k <= kMaxCategories, "n_categories must hold values in [0, ", kMaxCategories, "], got ", k);
    out.push_back(static_cast<int>(k));
  }
  return out;
}

/// The binned rows of X; min_stored applies to sparse X (dense matrices keep every feature).
template <class T>
BinnedMatrix binned(const BinMapper& mapper, MatrixView<const T> X, Span<const row_t> rows, int n_threads,
                    std::size_t) {
  return mapper.transform(X, rows, n_threads);
}

template <class T>
BinnedMatrix binned(const BinMapper& mapper, CsrView<const T> X, Span<const row_t> rows, int n_threads,
                    std::size_t min_stored) {
  return mapper.transform(X, rows, n_threads, min_stored);
}

/// What a distributed fit needs of a BinMapper: the rows its sample takes, and pickles (a fitted
/// mapper travels to the workers as its edges, checked on arrival by from_edges).
void bind_mapper_transport(py::class_<BinMapper, std::shared_ptr<BinMapper>>& mapper) {
  mapper
      // The positions among n_rows rows of the sample fit() learns from (all of them: empty), so
      // that a distributed fit gathers exactly those rows.
      .def("sample_rows", [](const BinMapper& b, std::size_t n_rows) { return to_numpy(b.sample_positions(n_rows)); },
           py::arg("n_rows"))
      // A fitted mapper travels to a distributed fit's workers as its edges, checked on arrival.
      .def(py::pickle(
          [](const BinMapper& b) {
            check(b.is_fitted(), "only a fitted BinMapper can be pickled");
            py::list edges;
            for (int f = 0; f < b.n_features(); ++f) edges.append(to_numpy(b.edges(f)));
            return py::make_tuple(b.max_bins(), edges, to_numpy(b.all_n_categories()));
          },
          [](const py::tuple& state) {
            check(state.size() == 3, "a pickled BinMapper holds 3 fields, got ", state.size());
            std::vector<std::vector<double>> edges;
            for (const py::handle& e : state[1].cast<py::list>())
              edges.push_back(to_vector(py::reinterpret_borrow<py::object>(e), "bin edges"));
            return std::make_shared<BinMapper>(
                BinMapper::from_edges(state[0].cast<int>(), std::move(edges), category_counts(state[2])));
          }));
}

}  // namespace

void bind_data(py::module_& m) {
  m.attr("MAX_CATEGORIES") = kMaxCategories;
  py::class_<BinnedMatrix, std::shared_ptr<BinnedMatrix>>(m, "BinnedData")
      .def_property_readonly("n_samples", [](const BinnedMatrix& b) { return b.n_rows; })
      .def_property_readonly("n_features", [](const BinnedMatrix& b) { return b.n_features; })
      .def_property_readonly("n_groups", [](const BinnedMatrix& b) { return b.n_groups; })
      .def_property_readonly("is_sparse", &BinnedMatrix::is_sparse)
      .def_property_readonly("n_stored", [](const BinnedMatrix& b) { return b.sparse_slot.size(); })
      .def_property_readonly("n_active", [](const BinnedMatrix& b) { return b.group_begin.back(); })
      .def_property_readonly("is_categorical", [](const BinnedMatrix& b) {
        std::vector<std::uint8_t> c(b.n_features);
        for (int f = 0; f < b.n_features; ++f) c[f] = b.categorical(f);
        return to_numpy(c);
      })
      .def("codes", [](const BinnedMatrix& b) -> py::array {  // uint16 when a feature is wide
        const std::array<std::size_t, 2> shape{b.n_rows, static_cast<std::size_t>(b.n_features)};
        if (b.has_wide()) {
          py::array_t<wide_code_t> out(shape);
          b.copy_rows(0, b.n_rows, out.mutable_data());
          return out;
        }
        py::array_t<bin_t> out(shape);
        b.copy_rows(0, b.n_rows, out.mutable_data());
        return out;
      });

  py::class_<BinMapper, std::shared_ptr<BinMapper>> mapper(m, "BinMapper");
  mapper
      // n_categories: None (all numeric) or per feature, 0 for a numeric one, K for one of K categories.
      .def(py::init([](int max_bins, std::size_t subsample, std::uint64_t seed, const py::object& n_categories) {
             return std::make_shared<BinMapper>(max_bins, subsample, seed, category_counts(n_categories));
           }), py::arg("max_bins") = 255, py::arg("subsample") = 200000, py::arg("seed") = 0,
           py::arg("n_categories") = py::none())
      // A fitted mapper with the same edges whose features are categorical as given (a loaded
      // model's mapper, continued by warm start): the edges must be those of the categories.
      .def("with_categories", [](const BinMapper& self, const py::object& n_categories) {
            return std::make_shared<BinMapper>(
                BinMapper::from_edges(self.max_bins(), self.all_edges(), category_counts(n_categories)));
          }, py::arg("n_categories"))
      .def_property_readonly("n_categories", [](const BinMapper& b) {
        std::vector<std::int32_t> n(b.n_features());
        for (int f = 0; f < b.n_features(); ++f) n[f] = b.n_categories(f);
        return to_numpy(n);
      })
      // rows: the rows of X to use, in order (None: all), so that a part of X needs no copy.
      .def("fit", [](std::shared_ptr<BinMapper> self, const py::object& X, int n_threads, const py::object& rows) {
            const std::vector<row_t> given = listed_rows(rows);
            const Span<const row_t> r(given.data(), given.size());
            with_rows(X, [&](auto view) { self->fit(view, r, n_threads); return 0; });
            return self;
          }, py::arg("X"), py::arg("n_threads") = 1, py::arg("rows") = py::none())
      // min_stored (sparse X): leave out the features of fewer non-zero codes, which cannot split.
      .def("transform", [](const BinMapper& self, const py::object& X, int n_threads, const py::object& rows,
                           std::size_t min_stored) {
            const std::vector<row_t> given = listed_rows(rows);
            const Span<const row_t> r(given.data(), given.size());
            return with_rows(X, [&](auto view) {
              return std::make_shared<BinnedMatrix>(binned(self, view, r, n_threads, min_stored));
            });
          }, py::arg("X"), py::arg("n_threads") = 1, py::arg("rows") = py::none(), py::arg("min_stored") = 0)
      .def_property_readonly("n_features", &BinMapper::n_features)
      .def_property_readonly("max_bins", &BinMapper::max_bins)
      .def_property_readonly("n_bins", [](const BinMapper& b) {
        std::vector<std::int32_t> n(b.n_features());
        for (int f = 0; f < b.n_features(); ++f) n[f] = b.n_bins(f);
        return to_numpy(n);
      })
      .def_property_readonly("bin_edges", [](const BinMapper& b) {
        py::list out;
        for (int f = 0; f < b.n_features(); ++f) out.append(to_numpy(b.edges(f)));
        return out;
      });
  bind_mapper_transport(mapper);
}

}  // namespace treeforge
