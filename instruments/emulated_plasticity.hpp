#pragma once
// AEqprop on today's programmable resistors (docs/pot-bench.md, "AEqprop by emulated
// plasticity"). No commercial part relaxes toward a knob by itself; this device makes a bench of
// settable parts behave as if each did. It holds a knob u and a compliance eps per element, and
// after every settle of the bench it moves each element by its declared law,
//     g <- clamp(u - eps * law(probe), g_min, g_max),
// writes the new values (one block per resistor array) and settles again, `rounds` times or until
// no element moves more than the tolerance. Its native homeostasis holds the elements and sets
// u = g + eps * law(probe), as a relaxing circuit's does. It is an emulation: every relaxation
// costs writes, settles and probe reads on the wire, which the bench's tally counts.

#include <memory>
#include <vector>

#include "core/device.hpp"
#include "instruments/bench_config.hpp"

namespace aeqlab::instruments {

// What the emulation cost on top of the bench's own work.
struct PlasticityTally {
  std::size_t relaxations = 0;  // settles that moved the elements
  std::size_t moves = 0;        // rounds of writes (one block per resistor array each)
  std::size_t holds = 0;        // homeostatic settles
};

class EmulatedPlasticity final : public Device {
 public:
  // `bench`: a device with settable parameters, parameter readback and local probes (a bench of
  // programmable resistors); DeviceError when it lacks one.
  EmulatedPlasticity(std::unique_ptr<Device> bench, PlasticityEmulation settings);

  PlasticityTally tally() const;
  Device& bench() { return *bench_; }

 private:
  void do_set_inputs(std::span<const double> values, std::size_t active_replicas) override;
  void do_set_nudge(double beta, std::span<const double> targets) override;
  void do_set_knobs(std::span<const double> values) override;
  void do_read_knobs(std::span<double> out) override;
  void do_read_parameters(std::span<double> out) override;
  void do_read_outputs(std::span<double> out) override;
  void do_read_probes(std::span<double> out) override;
  SettleReport do_settle() override;
  SettleReport do_settle_homeostatic() override;
  void do_set_compliance(std::size_t group, double compliance) override;
  void do_write_parameters(std::span<const double> values) override;
  std::vector<InstrumentIdentity> do_instruments() const override;
  void do_safe_state(bool beside_a_call) override;

  void add(SettleReport& total, const SettleReport& one) const;
  // law(probe) per element at the bench's last settle.
  void probe_energy(std::vector<double>& q);

  std::unique_ptr<Device> bench_;
  PlasticityEmulation settings_;
  std::vector<double> knobs_, eps_, low_, high_;
  std::vector<double> g_, q_, probes_;
  PlasticityTally tally_;
};

}  // namespace aeqlab::instruments
