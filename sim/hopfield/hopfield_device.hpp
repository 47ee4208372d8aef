#pragma once
// The simulated layered Hopfield network behind the device contract: what a dry run trains.

#include <atomic>
#include <memory>

#include "core/device.hpp"
#include "core/replica_group.hpp"
#include "sim/hopfield/hopfield_spec.hpp"

namespace aeqlab::sim {

class HopfieldDevice final : public Device {
 public:
  explicit HopfieldDevice(const HopfieldSpec& spec);
  // Data-parallel (docs/mpi.md): every member of `group` builds the same device and makes the
  // same calls; each settles its share of the replicas. Float64 results equal one process's.
  HopfieldDevice(const HopfieldSpec& spec, std::shared_ptr<ReplicaGroup> group);
  ~HopfieldDevice() override;

  const HopfieldSpec& spec() const { return spec_; }
  std::size_t safe_state_count() const { return safe_state_count_; }
  std::size_t threads() const;  // the simulation's threads, as device.threads chose them
  // Mean squared-error cost of the present outputs (for tests and diagnostics).
  double cost() const;

  struct Engine;  // the network at the chosen precision

 private:
  // Values cross in double and are converted to the engine's precision.
  void do_set_inputs(std::span<const double> values, std::size_t active_replicas) override;
  void do_set_nudge(double beta, std::span<const double> targets) override;
  void do_set_knobs(std::span<const double> values) override;
  void do_read_knobs(std::span<double> out) override;
  void do_read_parameters(std::span<double> out) override;
  void do_read_outputs(std::span<double> out) override;
  // Exact block-coordinate relaxation, free or with the parameters held (docs/hopfield-device.md).
  SettleReport do_settle() override;
  SettleReport do_settle_homeostatic() override;
  void do_set_compliance(std::size_t group, double compliance) override;
  void do_write_parameters(std::span<const double> values) override;
  void do_save_snapshot(std::ostream& out) const override;
  void do_restore_snapshot(std::istream& in) override;
  std::vector<InstrumentIdentity> do_instruments() const override;
  void do_safe_state(bool beside_a_call) override;

  const ChannelGroup& group(std::size_t g, bool knob) const;
  void write_groups(std::span<const double> values, bool knob);
  void read_groups(std::span<double> out, bool knob);

  HopfieldSpec spec_;
  std::unique_ptr<Engine> engine_;
  std::atomic<std::size_t> safe_state_count_{0};
};

}  // namespace aeqlab::sim
