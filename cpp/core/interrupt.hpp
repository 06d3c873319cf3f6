// Stopping long calls early: the calling thread installs a poll that the core's loops ask now and then.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <stdexcept>
#include <thread>

namespace treeforge {

/// How often check_interrupt() asks the poll: often enough that a stop request ends a call within
/// a few tens of milliseconds, rarely enough that asking costs nothing measurable.
constexpr std::chrono::milliseconds kInterruptPeriod{20};

/// What the other threads of an interrupted call throw to unwind their work; the caller's thread
/// throws the poll's own exception, which parallel_for prefers (so the call ends with it).
struct Interrupted : std::runtime_error {
  Interrupted() : std::runtime_error("internal error: an interrupted call's worker stopped") {}
};

/// While alive, check_interrupt() on the thread that constructed it (the caller) calls `poll` at
/// most once per kInterruptPeriod; the poll throws to stop the call. From then on the threads
/// working for the call (parallel_for makes them followers of the caller's poll) throw Interrupted
/// at their next check, so a tree grown on another thread stops too. The exceptions leave the core
/// like any other: parallel_for rethrows the poll's on the caller's thread. Nestable.
class InterruptPoll {
 public:
  explicit InterruptPoll(std::function<void()> poll);
  ~InterruptPoll();
  InterruptPoll(const InterruptPoll&) = delete;
  InterruptPoll& operator=(const InterruptPoll&) = delete;

 private:
  friend void check_interrupt();
  std::function<void()> poll_;
  std::chrono::steady_clock::time_point last_;
  std::thread::id caller_;
  std::atomic<bool> stopped_{false};
  InterruptPoll* outer_;
};

/// The calling thread's poll, own or followed (nullptr: none).
InterruptPoll* current_interrupt_poll();

/// Makes the calling thread follow `poll` while alive (parallel_for's workers); nothing when the
/// thread already has that poll or `poll` is null.
class InterruptFollower {
 public:
  explicit InterruptFollower(InterruptPoll* poll);
  ~InterruptFollower();
  InterruptFollower(const InterruptFollower&) = delete;
  InterruptFollower& operator=(const InterruptFollower&) = delete;

 private:
  InterruptPoll* previous_;
  bool set_;
};

/// On the caller's thread: calls its poll when the period has passed (which may throw). On a
/// follower: throws Interrupted once the caller's poll has thrown. Otherwise does nothing. Long
/// loops call it between pieces of work of at most a few milliseconds (parallel_for before each body).
void check_interrupt();

}  // namespace treeforge
