#pragma once
// The simulated layered Hopfield network behind the device contract: what a dry run trains.

#include <memory>

#include "core/device.hpp"
#include "sim/hopfield/hopfield_spec.hpp"

namespace aeqlab::sim {

class HopfieldDevice final : public Device {
 public:
  explicit HopfieldDevice(const HopfieldSpec& spec);
  ~HopfieldDevice() override;

  const DeviceDescription& describe() const override { return description_; }
  void set_inputs(std::span<const double> values, std::size_t active_replicas) override;
  void set_nudge(double beta, std::span<const double> targets) override;
  void set_knobs(std::span<const double> values) override;
  void read_knobs(std::span<double> out) override;
  void read_parameters(std::span<double> out) override;
  void read_outputs(std::span<double> out) override;
  SettleReport settle() override;
  SettleReport settle_homeostatic() override;
  void set_compliance(std::size_t group, double compliance) override;
  void write_parameters(std::span<const double> values) override;
  void save_snapshot(std::ostream& out) const override;
  void restore_snapshot(std::istream& in) override;
  std::vector<InstrumentIdentity> instruments() const override;
  void safe_state() override;

  const HopfieldSpec& spec() const { return spec_; }
  std::size_t safe_state_count() const { return safe_state_count_; }
  // Mean squared-error cost of the present outputs (for tests and diagnostics).
  double cost() const;

  struct Engine;  // the network at the chosen precision

 private:
  const ChannelGroup& group(std::size_t g, bool knob) const;
  void write_groups(std::span<const double> values, bool knob);
  void read_groups(std::span<double> out, bool knob);

  HopfieldSpec spec_;
  DeviceDescription description_;
  std::unique_ptr<Engine> engine_;
  std::size_t active_ = 0;
  std::size_t safe_state_count_ = 0;
};

}  // namespace aeqlab::sim
