// LongCall: the GIL released, and Python's signal handlers run from the core's interrupt poll.
#include "bindings/long_call.hpp"

#include <pythread.h>

namespace treeforge {

namespace py = pybind11;

namespace {

unsigned long main_thread_ident = 0;

/// Python's handlers of the signals received so far; a handler's exception stops the call.
void run_signal_handlers() {
  py::gil_scoped_acquire gil;
  if (PyErr_CheckSignals() != 0) throw py::error_already_set();
}

}  // namespace

void remember_main_thread() {
  main_thread_ident = py::module_::import("threading").attr("main_thread")().attr("ident").cast<unsigned long>();
}

LongCall::LongCall() {
  if (PyThread_get_thread_ident() == main_thread_ident) poll_.emplace(run_signal_handlers);
}

}  // namespace treeforge
