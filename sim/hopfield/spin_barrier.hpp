#pragma once
// A barrier for the members of a RowTeam job that must agree after every sweep (the threaded
// relaxation's stopping rule, docs/hopfield-device.md §8). Like the team, a waiting member spins
// briefly (10 µs), then sleeps on the atomic (a futex), so a sweep costs a fraction of a
// microsecond on an idle machine and a member that lost its core does not burn the other one.

#include <atomic>
#include <chrono>
#include <cstddef>

namespace aeqlab::sim {

class SpinBarrier {
 public:
  // The members do equal shares of one sweep, so on free cores they arrive within a few
  // microseconds of each other; longer than that, the one awaited has lost its core, and spinning
  // on would only take time from it.
  static constexpr auto kSpin = std::chrono::microseconds(10);

  explicit SpinBarrier(std::size_t members) : members_(members) {}

  void arrive_and_wait() {
    if (members_ <= 1) return;
    const std::size_t seen = generation_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == members_) {
      arrived_.store(0, std::memory_order_relaxed);  // before the release below: safe to reuse
      generation_.fetch_add(1, std::memory_order_release);
      generation_.notify_all();
      return;
    }
    const auto until = std::chrono::steady_clock::now() + kSpin;
    while (generation_.load(std::memory_order_acquire) == seen) {
      if (std::chrono::steady_clock::now() >= until) {
        generation_.wait(seen, std::memory_order_acquire);
      }
    }
  }

 private:
  const std::size_t members_;
  std::atomic<std::size_t> arrived_{0};
  std::atomic<std::size_t> generation_{0};
};

}  // namespace aeqlab::sim
