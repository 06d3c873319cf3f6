// Core-to-core round trip: one cache line bounced between threads pinned to the first two CPUs.
//
// Prints the median of 5 timed runs of 20,000 trips, in nanoseconds; exits non-zero without a
// number when there are fewer than two CPUs or a thread cannot be pinned. On the 2-core
// benchmark machine it reads about 50-60 ns while the two virtual CPUs share a last-level cache
// and 330-375 ns in the stretches when the host places them apart, which slows 2-thread fits
// that pass data between their threads by about a quarter (bench/RESULTS.md, thirteenth
// session). bench/common.py builds it with the system compiler and runs it before and after
// every benchmark run.
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

namespace {

alignas(64) std::atomic<long> ball{0};

bool pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

/// Nanoseconds per round trip, the median over `trials` timed runs of n trips each, or a
/// negative number when a thread could not be pinned: this thread serves odd values, the
/// partner even ones. The first n trips warm up, so a CPU waking from idle is not counted.
double median_round_trip(int cpu_a, int cpu_b, long n, int trials) {
  const long total = n * (trials + 1);
  bool partner_pinned = false;
  std::thread partner([&] {
    partner_pinned = pin(cpu_b);
    for (long i = 0; i < total; ++i) {
      while (ball.load(std::memory_order_acquire) != 2 * i + 1) {
      }
      ball.store(2 * i + 2, std::memory_order_release);
    }
  });
  const bool pinned = pin(cpu_a);
  std::vector<double> ns;
  auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < total; ++i) {
    ball.store(2 * i + 1, std::memory_order_release);
    while (ball.load(std::memory_order_acquire) != 2 * i + 2) {
    }
    if ((i + 1) % n == 0) {
      const auto now = std::chrono::steady_clock::now();
      if (i + 1 > n) ns.push_back(std::chrono::duration<double, std::nano>(now - start).count() / n);
      start = now;
    }
  }
  partner.join();  // publishes partner_pinned
  if (!pinned || !partner_pinned) return -1.0;
  std::sort(ns.begin(), ns.end());
  return ns[ns.size() / 2];
}

}  // namespace

int main() {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return 1;
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE && cpus.size() < 2; ++c)
    if (CPU_ISSET(c, &allowed)) cpus.push_back(c);
  if (cpus.size() < 2) return 2;  // one CPU: nothing to measure
  const double ns = median_round_trip(cpus[0], cpus[1], 20000, 5);
  if (ns < 0) return 3;  // unpinned threads measure nothing in particular
  std::printf("%.0f\n", ns);
  return 0;
}
