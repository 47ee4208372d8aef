#include "core/device.hpp"

#include <chrono>
#include <cmath>
#include <exception>
#include <istream>
#include <ostream>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include "core/error.hpp"
#include "core/safe_range.hpp"

namespace aeqlab {

std::size_t DeviceDescription::parameter_count() const {
  std::size_t n = 0;
  for (const auto& g : parameters) n += g.channels.count;
  return n;
}

std::size_t DeviceDescription::knob_count() const {
  std::size_t n = 0;
  for (const auto& g : knobs) n += g.count;
  return n;
}

// How long safe_state waits for the call in progress before it acts beside it. Long enough for a
// healthy call to finish its round trip, short against the emergency stop's grace period.
static constexpr auto kSafeStateWait = std::chrono::milliseconds(200);

// Holds the call lock for one public operation. When it is let go and a safe state was asked for
// meanwhile from another thread, the full safe state runs first, under the same lock.
class Device::Call {
 public:
  explicit Call(const Device& d) : device_(const_cast<Device&>(d)), lock_(d.mutex_) {}
  ~Call() {
    if (!device_.safe_state_pending_.load()) return;
    try {
      device_.do_safe_state(false);
    } catch (const std::exception& e) {
      spdlog::error("{}: the safe state asked for during a call failed: {}",
                    device_.description_.model, e.what());
    }
    device_.safe_state_pending_ = false;
  }
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

 private:
  Device& device_;
  std::unique_lock<std::recursive_timed_mutex> lock_;
};

void Device::require_capability(bool declared, const char* what) const {
  if (!declared) throw DeviceError(description_.model + " " + what);
}

void Device::require_size(std::size_t got, std::size_t expected, const char* what) const {
  if (got != expected)
    throw DeviceError(fmt::format("{}: {} {}, it has {}", description_.model, got, what, expected));
}

// Every group checked before anything is applied. `channels_of` finds a group's channels (a knob
// group is one; a parameter group holds one), so no list of them is built on the way.
template <class Group, class ChannelsOf>
static void require_groups(const std::vector<Group>& groups, ChannelsOf channels_of,
                           std::span<const double> values, const char* role) {
  std::size_t at = 0;
  for (const Group& g : groups) {
    const ChannelGroup& c = channels_of(g);
    require_in_range(c, values.subspan(at, c.count), role);
    at += c.count;
  }
}

void Device::set_inputs(std::span<const double> values, std::size_t active_replicas) {
  observe("set_inputs");
  const auto& d = description_;
  if (active_replicas == 0 || active_replicas > d.replicas)
    throw DeviceError(fmt::format("{}: {} active replicas requested, it has {}{}", d.model,
                                  active_replicas, d.replicas,
                                  d.replicas == 1 ? " (use trainer.batch_size 1)" : ""));
  if (values.size() != active_replicas * d.inputs.count)
    throw DeviceError(fmt::format("{}: {} input values for {} replicas of {} inputs", d.model,
                                  values.size(), active_replicas, d.inputs.count));
  require_in_range(d.inputs, values, "input");
  Call call(*this);
  do_set_inputs(values, active_replicas);
  active_ = active_replicas;
  active_known_ = true;
}

void Device::set_nudge(double beta, std::span<const double> targets) {
  observe("set_nudge");
  const auto& d = description_;
  require_in_range(d.nudge, beta, "nudge beta");
  if (targets.size() != active_replicas() * d.outputs.count)
    throw DeviceError(fmt::format("{}: {} targets for {} replicas of {} outputs", d.model,
                                  targets.size(), active_replicas(), d.outputs.count));
  require_in_range(d.outputs, targets, "nudge target");
  Call call(*this);
  do_set_nudge(beta, targets);
}

void Device::set_knobs(std::span<const double> values) {
  observe("set_knobs");
  const auto& d = description_;
  if (d.knobs.empty())
    throw DeviceError(d.model + " has no knobs: its parameters are set directly");
  require_size(values.size(), d.knob_count(), "knob values");
  require_groups(
      d.knobs, [](const ChannelGroup& g) -> const ChannelGroup& { return g; }, values, "knob");
  Call call(*this);
  do_set_knobs(values);
}

void Device::read_knobs(std::span<double> out) {
  observe("read_knobs");
  if (description_.knobs.empty())
    throw DeviceError(description_.model + " has no knobs: its parameters are set directly");
  require_size(out.size(), description_.knob_count(), "knob values asked for");
  Call call(*this);
  do_read_knobs(out);
}

void Device::read_parameters(std::span<double> out) {
  observe("read_parameters");
  require_capability(description_.capabilities.parameter_readback, "cannot read its parameters");
  require_size(out.size(), description_.parameter_count(), "parameter values asked for");
  Call call(*this);
  do_read_parameters(out);
}

void Device::read_outputs(std::span<double> out) {
  observe("read_outputs");
  const auto& d = description_;
  if (out.size() != active_replicas() * d.outputs.count)
    throw DeviceError(fmt::format("{}: output buffer of {} for {} replicas of {} outputs", d.model,
                                  out.size(), active_replicas(), d.outputs.count));
  Call call(*this);
  do_read_outputs(out);
}

SettleReport Device::settle() {
  observe("settle");
  Call call(*this);
  return do_settle();
}

SettleReport Device::settle_homeostatic() {
  observe("settle_homeostatic");
  require_capability(description_.capabilities.native_homeostasis,
                     "has no native homeostasis; use the feedback homeostat");
  Call call(*this);
  return do_settle_homeostatic();
}

void Device::set_compliance(std::size_t group, double compliance) {
  observe("set_compliance");
  require_capability(description_.capabilities.adjustable_compliance,
                     "cannot adjust its compliance");
  if (group >= description_.parameters.size() || !std::isfinite(compliance) || compliance < 0)
    throw DeviceError(fmt::format("{}: cannot set compliance {} on group {}", description_.model,
                                  compliance, group));
  Call call(*this);
  do_set_compliance(group, compliance);
  // The description follows, as on any device: the trainer's per-epoch decay compounds on it.
  description_.parameters[group].compliance = compliance;
}

void Device::write_parameters(std::span<const double> values) {
  observe("write_parameters");
  const auto& d = description_;
  require_capability(d.capabilities.settable_parameters, "has no settable parameters");
  require_size(values.size(), d.parameter_count(), "parameter values");
  require_groups(
      d.parameters, [](const ParameterGroup& g) -> const ChannelGroup& { return g.channels; },
      values, "parameter");
  Call call(*this);
  do_write_parameters(values);
}

void Device::read_probes(std::span<double> out) {
  observe("read_probes");
  const auto& d = description_;
  require_capability(d.capabilities.local_probes, "has no local probes");
  if (out.size() != active_replicas() * d.parameter_count())
    throw DeviceError(fmt::format("{}: probe buffer of {} for {} replicas of {} parameters",
                                  d.model, out.size(), active_replicas(), d.parameter_count()));
  Call call(*this);
  do_read_probes(out);
}

void Device::save_snapshot(std::ostream& out) const {
  observe("save_snapshot");
  require_capability(description_.capabilities.snapshot, "cannot save a snapshot of its state");
  Call call(*this);
  do_save_snapshot(out);
  if (!out) throw DeviceError(description_.model + ": could not write the snapshot");
}

void Device::restore_snapshot(std::istream& in) {
  observe("restore_snapshot");
  require_capability(description_.capabilities.snapshot, "cannot restore a snapshot of its state");
  Call call(*this);
  try {
    do_restore_snapshot(in);
  } catch (const std::exception& e) {  // bad_alloc too: a damaged size can ask for anything
    throw DeviceError(
        fmt::format("{}: cannot restore the snapshot: {}", description_.model, e.what()));
  }
}

std::vector<InstrumentIdentity> Device::instruments() const {
  Call call(*this);
  return do_instruments();
}

void Device::safe_state() {
  observe("safe_state");
  // Pending before the wait: a call that ends while this thread waits applies it too (a safe state
  // is idempotent), so none can slip between a failed wait and the flag.
  safe_state_pending_ = true;
  std::unique_lock<std::recursive_timed_mutex> lock(mutex_, std::defer_lock);
  if (lock.try_lock_for(kSafeStateWait)) {
    // Done, or failed for the caller to hear of: either way no later call should try it again.
    struct Clear {
      std::atomic<bool>& pending;
      ~Clear() { pending = false; }
    } clear{safe_state_pending_};
    do_safe_state(false);
    return;
  }
  // Another thread is inside a call that does not return: act beside it now; the call applies
  // the whole safe state when it comes back.
  do_safe_state(true);
}

// What a device did not declare, it refuses. The base checks the capability before a hook runs,
// so these run only for a device that declares a capability and forgets its hook.
SettleReport Device::do_settle_homeostatic() {
  throw DeviceError(description_.model + " declares native homeostasis but does not implement it");
}
void Device::do_set_compliance(std::size_t, double) {
  throw DeviceError(description_.model + " declares an adjustable compliance but has no hook");
}
void Device::do_write_parameters(std::span<const double>) {
  throw DeviceError(description_.model + " declares settable parameters but has no hook");
}
void Device::do_read_probes(std::span<double>) {
  throw DeviceError(description_.model + " declares local probes but has no hook");
}
void Device::do_save_snapshot(std::ostream&) const {
  throw DeviceError(description_.model + " declares snapshots but has no hook");
}
void Device::do_restore_snapshot(std::istream&) {
  throw DeviceError(description_.model + " declares snapshots but has no hook");
}

}  // namespace aeqlab
