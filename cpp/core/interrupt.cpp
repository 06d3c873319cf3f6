// The calling thread's interrupt poll, asked at most once per period; followers stop after it.
#include "core/interrupt.hpp"

#include <utility>

namespace treeforge {

namespace {
thread_local InterruptPoll* current_poll = nullptr;
}  // namespace

InterruptPoll::InterruptPoll(std::function<void()> poll)
    : poll_(std::move(poll)),
      last_(std::chrono::steady_clock::now()),
      caller_(std::this_thread::get_id()),
      outer_(current_poll) {
  current_poll = this;
}

InterruptPoll::~InterruptPoll() { current_poll = outer_; }

InterruptPoll* current_interrupt_poll() { return current_poll; }

InterruptFollower::InterruptFollower(InterruptPoll* poll)
    : previous_(current_poll), set_(poll != nullptr && poll != current_poll) {
  if (set_) current_poll = poll;
}

InterruptFollower::~InterruptFollower() {
  if (set_) current_poll = previous_;
}

void check_interrupt() {
  InterruptPoll* poll = current_poll;
  if (poll == nullptr) return;
  if (poll->stopped_.load(std::memory_order_relaxed)) throw Interrupted();
  if (std::this_thread::get_id() != poll->caller_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - poll->last_ < kInterruptPeriod) return;
  poll->last_ = now;
  try {
    poll->poll_();
  } catch (...) {
    poll->stopped_.store(true, std::memory_order_relaxed);
    throw;
  }
}

}  // namespace treeforge
