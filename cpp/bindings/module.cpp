// Module _core: its areas bound in turn, and the C++ exceptions as Python's.
#include <pybind11/pybind11.h>

#include <stdexcept>

#include "bindings/bind.hpp"
#include "bindings/long_call.hpp"
#include "collective/tcp_ring.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "treeforge C++ core";
  // The caller's bad input (check) is a ValueError; an internal error (check_internal, a
  // std::logic_error) falls to pybind11's default for std::exception, a RuntimeError.
  pybind11::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const std::invalid_argument& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const treeforge::PeerError& e) {  // a distributed fit's peer died, failed or fell silent
      PyErr_SetString(PyExc_ConnectionError, e.what());
    }
  });
  treeforge::remember_main_thread();
  treeforge::bind_data(m);
  treeforge::bind_configs(m);
  treeforge::bind_model(m);
  treeforge::bind_learners(m);
  treeforge::bind_testing(m);
  treeforge::bind_collective(m);
}
