#pragma once
// Devices for core/ tests, written against the contract alone (core tests cannot link sim/):
//
// * TinyHopfield: a small layered Hopfield network (docs/hopfield-device.md) computed in plain
// loops, with its
//   parameters coupled to knobs: after a free settle W = u_W + eps mean(pre post^T) and
//   b = u_b + eps mean(s); native homeostasis relaxes with the parameters held, then sets
//   u = theta - eps mean(...). Enough physics for AEqprop to learn XOR in a fraction of a second.
//   With `settable`, it is instead a network of digital potentiometers: no knobs, parameters
//   written directly and left where they are written (a settle relaxes the states only), with
//   optional local probes and quantisation, for the rules that set the parameters themselves.
// * RecordingDevice: forwards every call to another device and records each contract method's
//   name, so a test can check what an orchestrator did to the device.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/device.hpp"
#include "forwarding_device.hpp"

namespace aeqlab::test_devices {

// The defaults learn XOR with either homeostat (full batch, centered, beta = 0.5) for every seed
// tried: a wide first layer gives the hidden units diverse features, and a small compliance on
// the hidden-output weights keeps the feedback homeostat's loop well inside its stable range.
struct TinyHopfieldSpec {
  std::vector<std::size_t> layers{2, 16, 2};                  // input first, output last
  std::vector<SafeRange> intervals{{0.0, 1.0}, {-1.0, 2.0}};  // one per non-input layer
  std::vector<double> weight_compliance{0.3, 0.03};           // one per edge
  std::vector<double> bias_compliance{0.2, 0.02};             // one per non-input layer
  // Initial weights of edge k uniform in +-gains[k] * 0.5 * sqrt(6 / (fan_in + fan_out)).
  std::vector<double> gains{4.0, 1.0};
  std::size_t replicas = 4;
  std::uint64_t seed = 1;
  double threshold = 1e-9;  // a sweep moving every layer by less than this (L1) has settled
  std::size_t max_iterations = 200;
  double parameter_limit = 100.0;
  // Declared capabilities; an undeclared one refuses when used.
  bool parameter_readback = true;
  bool native_homeostasis = true;
  bool adjustable_compliance = true;
  // Parameters written (write_parameters) and not relaxing: no knobs, no native homeostasis, no
  // compliance. Without it the parameters relax toward knobs as above.
  bool settable = false;
  // read_probes: the local quantity of each parameter of a Hopfield energy, -pre_i post_j for
  // W_ij and -s_i for b_i (law identity: dE/dtheta is the probe itself).
  bool local_probes = false;
  // save_snapshot/restore_snapshot capture the whole state, so a resumed run continues exactly.
  bool snapshot = false;
  // write_parameters rounds every value to a multiple of this (a digital pot's taps); 0 = exact.
  double parameter_quantum = 0.0;
};

class TinyHopfield final : public Device {
 public:
  explicit TinyHopfield(TinyHopfieldSpec spec);

  std::size_t safe_state_count() const { return safe_state_count_; }

 private:
  // Plain loops over plain vectors: the physics of the header comment, nothing hidden.
  void do_set_inputs(std::span<const double> values, std::size_t active_replicas) override;
  void do_set_nudge(double beta, std::span<const double> targets) override;
  void do_set_knobs(std::span<const double> values) override;
  void do_write_parameters(std::span<const double> values) override;
  void do_read_knobs(std::span<double> out) override;
  void do_read_parameters(std::span<double> out) override;
  void do_read_outputs(std::span<double> out) override;
  void do_read_probes(std::span<double> out) override;
  SettleReport do_settle() override;
  SettleReport do_settle_homeostatic() override;
  void do_set_compliance(std::size_t group, double compliance) override;
  void do_save_snapshot(std::ostream& out) const override;
  void do_restore_snapshot(std::istream& in) override;
  void do_safe_state(bool beside_a_call) override;

  std::size_t edges() const { return spec_.layers.size() - 1; }
  SettleReport relax_states();
  // mean over active replicas of -dE/dtheta for each parameter, in the contract's order.
  std::vector<double> hebbian() const;

  TinyHopfieldSpec spec_;
  std::vector<double> theta_, knobs_, eps_;  // eps_ per parameter (its group's compliance)
  std::vector<std::vector<double>> states_;  // per layer, active replicas x units
  std::vector<double> targets_;
  double beta_ = 0.0;
  std::size_t active_ = 0;
  std::size_t safe_state_count_ = 0;
};

// The names of the methods of the device contract (core/device.hpp).
const std::vector<std::string>& contract_methods();

class RecordingDevice final : public ForwardingDevice {
 public:
  explicit RecordingDevice(Device& inner) : ForwardingDevice(inner) {}

  const std::vector<std::string>& calls() const { return calls_; }
  std::size_t count(const std::string& method) const;
  void clear() { calls_.clear(); }

  // Runs `action` (which may throw, or raise a signal) at the nth call of `method`, before the
  // call reaches the device: a fault injected at a known point of a run.
  void on_call(std::string method, std::size_t nth, std::function<void()> action);

 private:
  void observe(const char* operation) const override;

  mutable std::vector<std::string> calls_;
  std::string hook_method_;
  std::size_t hook_nth_ = 0;
  std::function<void()> hook_;
};

}  // namespace aeqlab::test_devices
