// TcpRing: a distributed fit's reduction between worker processes, listened, joined and closed from Python.
#include <pybind11/stl.h>

#include "bindings/bind.hpp"
#include "bindings/convert.hpp"
#include "collective/tcp_ring.hpp"

namespace treeforge {

void bind_collective(py::module_& m) {
  py::class_<HistogramReduction, std::shared_ptr<HistogramReduction>>(m, "HistogramReduction")
      .def_property_readonly("n_participants", &HistogramReduction::n_participants);
  py::class_<TcpRing, HistogramReduction, std::shared_ptr<TcpRing>>(m, "TcpRing")
      .def(py::init<const std::string&, double>(), py::arg("host"), py::arg("timeout"))
      .def_property_readonly("port", &TcpRing::port)
      // Waits (GIL released) until both neighbours are connected, or the timeout.
      .def("connect", &TcpRing::connect, py::arg("hosts"), py::arg("ports"), py::arg("rank"), py::arg("token"),
           py::call_guard<py::gil_scoped_release>())
      .def("close", &TcpRing::close)
      // One reduction of an int64 array in place, as the grower's (tests, bench/bench_dask.py's
      // latency and bandwidth): every participant calls it with an array of the same length.
      .def(
          "sum",
          [](TcpRing& ring, const py::array& given) {
            // In place: the caller's own array, never a converted copy.
            const bool usable = py::isinstance<py::array_t<std::int64_t>>(given) && given.ndim() == 1 &&
                                given.writeable() && (given.flags() & py::array::c_style) && (given.flags() & kAligned);
            if (!usable) throw py::type_error("sum needs a writable, C-contiguous, aligned 1-D int64 array");
            auto values = py::reinterpret_borrow<py::array_t<std::int64_t>>(given);
            std::int64_t* data = values.mutable_data();
            const std::size_t n = static_cast<std::size_t>(values.size());
            py::gil_scoped_release release;
            ring.sum({Span<std::int64_t>(data, n)});
          },
          py::arg("values"))
      .def("stats", [](const TcpRing& ring) {
        const RingStats& s = ring.stats();
        py::dict out;
        out["reductions"] = s.reductions;
        out["bytes_sent"] = s.bytes_sent;
        out["seconds"] = s.seconds;
        return out;
      });
}

}  // namespace treeforge
