#pragma once
// The second Ctrl-C's backstop. The run answers a second interrupt at its next check (between
// phases, between batches) and brings the device to its safe state itself. But a device can be
// blocked in a call (an instrument that stopped answering, a long settle): if the run has not
// reported its safe state within the grace period, this thread calls the emergency action from
// outside the run, then ends the process. Safety of the bench first, tidiness second.

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

namespace aeqlab {

class EmergencyStop {
 public:
  // `action` runs on the watcher thread; the process then exits with 128 + the signal.
  EmergencyStop(std::function<void()> action, std::chrono::milliseconds grace);
  ~EmergencyStop();
  EmergencyStop(const EmergencyStop&) = delete;
  EmergencyStop& operator=(const EmergencyStop&) = delete;

  // The run is bringing the device to its safe state itself: a slow ramp-down gets more time
  // (five grace periods) before the watcher steps in beside it.
  void reaching_safe_state() { reaching_ = true; }
  // The run has reached its safe state by itself: nothing left for the watcher to do.
  void disarm() { disarmed_ = true; }

 private:
  void watch();

  std::function<void()> action_;
  std::chrono::milliseconds grace_;
  std::atomic<bool> done_{false}, disarmed_{false}, reaching_{false};
  std::thread thread_;
};

}  // namespace aeqlab
