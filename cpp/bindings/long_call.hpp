// LongCall: what every long call into the core holds, the GIL released and Ctrl-C heard.
#pragma once

#include <pybind11/pybind11.h>

#include <optional>

#include "core/interrupt.hpp"

namespace treeforge {

/// Records the ident of Python's main thread (at module import, from `threading`).
void remember_main_thread();

/// Held around a long call into the core (as a py::call_guard or a scoped variable): the GIL is
/// released, and on Python's main thread the core's interrupt poll (core/interrupt.hpp) runs
/// Python's signal handlers every kInterruptPeriod. A handler that raises (Ctrl-C's
/// KeyboardInterrupt) stops the call, and the call raises that exception. Other threads have no
/// signal handlers to run and take no poll.
class LongCall {
 public:
  LongCall();

 private:
  pybind11::gil_scoped_release release_;
  std::optional<InterruptPoll> poll_;
};

}  // namespace treeforge
