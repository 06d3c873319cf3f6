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
