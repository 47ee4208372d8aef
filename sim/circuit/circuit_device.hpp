#pragma once
// The nonlinear resistive circuit behind the device contract: inputs are voltage sources, outputs
// node voltages (or differential pairs), the nudge a current beta (target - v_out) injected at
// each output, and the parameters the trainable conductances. A "relaxing" circuit lets its
// conductances relax toward their knobs, g = clamp(u - eps (dV)^2 / 2, g_min, g_max) (AEqprop);
// a "settable" one has digital potentiometers with taps and tolerances (EqProp, coupled learning,
// SPSA). Every trainable element has a probe: the voltage across it.

#include <memory>
#include <random>
#include <vector>

#include "core/device.hpp"
#include "sim/circuit/circuit_solver.hpp"
#include "sim/circuit/circuit_spec.hpp"

namespace aeqlab::sim {

class CircuitDevice final : public Device {
 public:
  explicit CircuitDevice(const CircuitSpec& spec);
  ~CircuitDevice() override;

  const CircuitSpec& spec() const { return spec_; }
  const CircuitLayout& layout() const { return layout_; }
  // The circuit as it stands for one replica (its inputs, the conductances as built), e.g. to
  // write a netlist for SPICE.
  Circuit circuit(std::size_t replica = 0) const;
  // Node voltages of a replica at the last settle.
  const std::vector<double>& voltages(std::size_t replica) const { return voltages_[replica]; }
  // Exact gradient of 1/2 |y - t|^2 for one replica with respect to the conductances as built
  // (the parameters' true values), at its last free (beta = 0) settle: the tests' oracle.
  std::vector<double> loss_gradient(std::size_t replica, std::span<const double> targets) const;

 private:
  // Inputs set the sources, the nudge the injected currents, knobs the conductances' targets.
  void do_set_inputs(std::span<const double> values, std::size_t active_replicas) override;
  void do_set_nudge(double beta, std::span<const double> targets) override;
  void do_set_knobs(std::span<const double> values) override;
  // Reads of the last settle's node voltages, with the configured noise.
  void do_read_outputs(std::span<double> out) override;
  void do_read_probes(std::span<double> out) override;
  void do_read_knobs(std::span<double> out) override;
  void do_read_parameters(std::span<double> out) override;
  SettleReport do_settle() override;
  SettleReport do_settle_homeostatic() override;
  void do_set_compliance(std::size_t group, double compliance) override;
  void do_write_parameters(std::span<const double> values) override;
  void do_save_snapshot(std::ostream& out) const override;
  void do_restore_snapshot(std::istream& in) override;
  std::vector<InstrumentIdentity> do_instruments() const override;
  void do_safe_state(bool beside_a_call) override;

  SettleReport relax(bool hold_parameters);
  void solve_all(SettleReport& report);
  void mean_probe_energy(std::vector<double>& q) const;  // mean over replicas of (dV)^2 / 2
  std::vector<double> built_conductances() const;
  void apply_conductances();

  CircuitSpec spec_;
  CircuitLayout layout_;
  std::vector<double> theta_;     // relaxing: the conductances; settable: the nominal tap values
  std::vector<double> knobs_;     // relaxing only
  std::vector<double> eps_;       // per parameter (its group's compliance)
  std::vector<double> mismatch_;  // settable: 1 + delta per element
  std::vector<std::vector<double>> values_;    // per replica: every element's value
  std::vector<std::vector<double>> voltages_;  // per replica: every node's voltage
  std::vector<std::vector<NudgeTerm>> nudges_;
  std::vector<CircuitSolver> solvers_;  // one per replica (each keeps its factorisation)
  std::size_t active_ = 1;
  double beta_ = 0.0;
  std::mt19937_64 noise_;
};

}  // namespace aeqlab::sim
