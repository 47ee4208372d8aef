#pragma once
// The device contract: everything an orchestrator may do to a physical system, simulated or real.
// Trainers in core/ see a device only through this class, so the same learning loop drives a
// simulator, a bench of instruments, or anything else that implements its hooks.
//
// The contract keeps its own promises (docs/architecture.md, "The device contract"): the public
// operations are not virtual. Each checks sizes, safe ranges and declared capabilities, refuses the
// whole request with the channel named before anything is applied, takes the device's call lock,
// and only then calls a protected `do_*` hook. A device author writes physics or wire code in the
// hooks and cannot forget a promise.
//
// Threads: one thread runs the device (the run); `safe_state()` may be called from any other
// thread at any time (the emergency stop). See `safe_state()` below for how the two meet.

#include <atomic>
#include <cstddef>
#include <iosfwd>
#include <mutex>
#include <span>
#include <vector>

#include "core/device_description.hpp"

namespace aeqlab {

class Device {
 public:
  virtual ~Device() = default;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  const DeviceDescription& describe() const {
    observe("describe");
    return description_;
  }
  // Replicas the last set_inputs presented (all of them before the first).
  std::size_t active_replicas() const { return active_known_ ? active_ : description_.replicas; }

  // Present inputs to the first `active_replicas` replicas (rows of `values`, row-major).
  void set_inputs(std::span<const double> values, std::size_t active_replicas);
  // Nudge the outputs toward `targets` (one row per active replica) with strength beta; 0 = free.
  void set_nudge(double beta, std::span<const double> targets);
  void set_knobs(std::span<const double> values);
  void read_knobs(std::span<double> out);
  // Only with capabilities.parameter_readback.
  void read_parameters(std::span<double> out);
  // Output state of the active replicas, row-major.
  void read_outputs(std::span<double> out);

  // Let the system (state and parameters) relax with the knobs held where they are.
  SettleReport settle();
  // Native homeostasis: relax while the device itself holds the parameters at their present
  // values, leaving the knobs where they must be for that. Only with
  // capabilities.native_homeostasis.
  SettleReport settle_homeostatic();
  // Only with capabilities.adjustable_compliance; the description follows.
  void set_compliance(std::size_t group, double compliance);
  // Only with capabilities.settable_parameters.
  void write_parameters(std::span<const double> values);
  // Only with capabilities.local_probes: one probe per parameter per active replica (row-major,
  // replica after replica), at the equilibrium of the last settle.
  void read_probes(std::span<double> out);

  // Only with capabilities.snapshot: the exact internal state (parameters, knobs, compliances,
  // the physical state that warm-starts the next settle), and its restoration on a device built
  // from the same description. Saving must not change the device in any way.
  void save_snapshot(std::ostream& out) const;
  void restore_snapshot(std::istream& in);
  // The instruments behind the device (for a simulator: itself, "in-process").
  std::vector<InstrumentIdentity> instruments() const;

  // Bring every output of the device to its safe value (stop, fault, Ctrl-C). Callable at any
  // time, including after a failed operation, and from another thread while a call is blocked.
  // When the call lock is free (or held by this thread) the device's hook runs alone. When another
  // thread holds it past a short wait (an instrument that stopped answering, a long settle), the
  // hook runs at once *beside* that call, with `beside_a_call` set: hardware drives its outputs to
  // safe values with what it can reach without the call's state; a simulator does nothing then.
  // Either way the blocked call, when it returns, applies the full safe state before it lets go.
  void safe_state();

 protected:
  Device() = default;

  // Filled by the device's constructor; afterwards changed only by the base (compliances) or by
  // a hook that restores a snapshot.
  DeviceDescription description_;

  // The hooks. Each runs under the call lock, after the base has checked everything the
  // description allows it to check; the device adds only what its physics or wire must.
  virtual void do_set_inputs(std::span<const double> values, std::size_t active_replicas) = 0;
  virtual void do_set_nudge(double beta, std::span<const double> targets) = 0;
  virtual void do_set_knobs(std::span<const double> values) = 0;
  virtual void do_read_knobs(std::span<double> out) = 0;
  virtual void do_read_parameters(std::span<double> out) = 0;
  virtual void do_read_outputs(std::span<double> out) = 0;
  virtual SettleReport do_settle() = 0;
  virtual SettleReport do_settle_homeostatic();
  virtual void do_set_compliance(std::size_t group, double compliance);
  virtual void do_write_parameters(std::span<const double> values);
  virtual void do_read_probes(std::span<double> out);
  virtual void do_save_snapshot(std::ostream& out) const;
  virtual void do_restore_snapshot(std::istream& in);
  virtual std::vector<InstrumentIdentity> do_instruments() const { return {}; }
  virtual void do_safe_state(bool beside_a_call) = 0;

  // Called first by every operation of the contract, with its name, before any check: for a
  // device that records or traces what an orchestrator does to it (tests, wire logs).
  virtual void observe(const char* /*operation*/) const {}

  // After a snapshot restores a batch of another size.
  void restore_active_replicas(std::size_t n) {
    active_ = n;
    active_known_ = true;
  }
  // True while a safe state waits for the call in progress: a long loop (polling, relaxing) may
  // look at it and return early; the base applies the safe state as soon as the call returns.
  bool safe_state_pending() const { return safe_state_pending_.load(); }
  // For a device's own accessors (tallies, caches) that must not race the call in progress.
  std::recursive_timed_mutex& call_mutex() const { return mutex_; }

 private:
  class Call;  // the call lock, and the pending safe state applied when it is let go

  void require_capability(bool declared, const char* what) const;
  void require_size(std::size_t got, std::size_t expected, const char* what) const;

  mutable std::recursive_timed_mutex mutex_;
  std::atomic<bool> safe_state_pending_{false};
  std::size_t active_ = 0;
  bool active_known_ = false;
};

}  // namespace aeqlab
