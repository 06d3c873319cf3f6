// BinnedData and BinMapper: binning a float matrix, whole or by rows.
#include <pybind11/stl.h>

#include "bindings/bind.hpp"
#include "bindings/convert.hpp"
#include "data/binning.hpp"

namespace treeforge {

void bind_data(py::module_& m) {
  py::class_<BinnedMatrix, std::shared_ptr<BinnedMatrix>>(m, "BinnedData")
      .def_property_readonly("n_samples", [](const BinnedMatrix& b) { return b.n_rows; })
      .def_property_readonly("n_features", [](const BinnedMatrix& b) { return b.n_features; })
      .def_property_readonly("n_groups", [](const BinnedMatrix& b) { return b.n_groups; })
      .def("codes", [](const BinnedMatrix& b) {
        py::array_t<std::uint8_t> out({b.n_rows, static_cast<std::size_t>(b.n_features)});
        b.copy_rows(0, b.n_rows, out.mutable_data());
        return out;
      });

  py::class_<BinMapper, std::shared_ptr<BinMapper>>(m, "BinMapper")
      .def(py::init<int, std::size_t, std::uint64_t>(), py::arg("max_bins") = 255, py::arg("subsample") = 200000,
           py::arg("seed") = 0)
      // rows: the rows of X to use, in order (None: all), so that a part of X needs no copy.
      .def("fit", [](std::shared_ptr<BinMapper> self, const py::array& X, int n_threads, const py::object& rows) {
            const std::vector<row_t> given = listed_rows(rows);
            const Span<const row_t> r(given.data(), given.size());
            with_matrix(X, [&](auto view) { self->fit(view, r, n_threads); return 0; });
            return self;
          }, py::arg("X"), py::arg("n_threads") = 1, py::arg("rows") = py::none())
      .def("transform", [](const BinMapper& self, const py::array& X, int n_threads, const py::object& rows) {
            const std::vector<row_t> given = listed_rows(rows);
            const Span<const row_t> r(given.data(), given.size());
            return with_matrix(X, [&](auto view) { return std::make_shared<BinnedMatrix>(self.transform(view, r, n_threads)); });
          }, py::arg("X"), py::arg("n_threads") = 1, py::arg("rows") = py::none())
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

}

}  // namespace treeforge
