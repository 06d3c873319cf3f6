// The only home of OpenMP: parallel_for over fixed blocks, with a serial fallback and exception capture.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <utility>

#include "core/interrupt.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace treeforge {

/// Number of threads the machine offers (1 without OpenMP).
inline int max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

/// Index of the calling thread inside a parallel region (0 outside one).
inline int thread_index() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

/// How parallel_for hands out indices: in equal contiguous runs, or one at a time to idle threads.
enum class Schedule { kStatic, kDynamic };

/// Runs body(i) for i in [0, n) on up to n_threads threads.
/// The caller's interrupt poll is asked before each body (interrupt.hpp): the caller's thread
/// polls, the others follow it. The first exception thrown by any body is rethrown on the caller's
/// thread after the loop (an interrupted follower's only when no other was thrown), and bodies not
/// yet started by then are skipped, so an interrupt stops the loop promptly.
/// Results must not depend on which thread ran which i: callers write to disjoint slots.
template <class Body>
void parallel_for(std::size_t n, int n_threads, Body&& body, Schedule schedule = Schedule::kStatic) {
  n_threads = std::max(1, std::min<int>(n_threads, static_cast<int>(std::min<std::size_t>(n, 1 << 20))));
  if (n_threads <= 1 || n <= 1) {
    for (std::size_t i = 0; i < n; ++i) {
      check_interrupt();
      body(i);
    }
    return;
  }
  InterruptPoll* const poll = current_interrupt_poll();
  std::exception_ptr error;
  bool error_is_follower = false;
  std::mutex error_mutex;
  std::atomic<bool> failed{false};
  auto record = [&](bool follower) {
    std::lock_guard<std::mutex> lock(error_mutex);
    if (!error || (error_is_follower && !follower)) {
      error = std::current_exception();
      error_is_follower = follower;
    }
    failed.store(true, std::memory_order_relaxed);
  };
  auto run = [&](std::ptrdiff_t i) {
    if (failed.load(std::memory_order_relaxed)) return;
    const InterruptFollower follow(poll);
    try {
      check_interrupt();
      body(static_cast<std::size_t>(i));
    } catch (const Interrupted&) {
      record(true);
    } catch (...) {
      record(false);
    }
  };
  const auto count = static_cast<std::ptrdiff_t>(n);
  if (schedule == Schedule::kDynamic) {
#ifdef _OPENMP
#pragma omp parallel for num_threads(n_threads) schedule(dynamic, 1)
#endif
    for (std::ptrdiff_t i = 0; i < count; ++i) run(i);
  } else {
#ifdef _OPENMP
#pragma omp parallel for num_threads(n_threads) schedule(static)
#endif
    for (std::ptrdiff_t i = 0; i < count; ++i) run(i);
  }
  if (error) std::rethrow_exception(error);
}

/// parallel_for with dynamic scheduling, for tasks of uneven cost (features, trees).
template <class Body>
void parallel_for_dynamic(std::size_t n, int n_threads, Body&& body) {
  parallel_for(n, n_threads, std::forward<Body>(body), Schedule::kDynamic);
}

/// Number of fixed-size blocks covering n items; block sizes never depend on the thread count,
/// which keeps block-ordered reductions bit-identical for any n_threads.
inline std::size_t n_blocks(std::size_t n, std::size_t block_size) { return (n + block_size - 1) / block_size; }

}  // namespace treeforge
