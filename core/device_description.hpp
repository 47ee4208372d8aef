#pragma once
// What a device declares about itself: its channels with their units and safe ranges, its
// parameters and knobs, its capabilities, and how a settle went. Plain data, shared by the contract
// (core/device.hpp), the trainers and every device.

#include <cstddef>
#include <string>
#include <vector>

namespace aeqlab {

// A closed interval of physical values. A request outside it is refused, never clipped.
struct SafeRange {
  double low = 0.0;
  double high = 0.0;
  bool contains(double v) const { return v >= low && v <= high; }
};

// A named block of channels sharing a unit and a safe range (e.g. the 784x256 weights "W0",
// the 10 output voltages "out"). Values cross the contract flattened group after group.
struct ChannelGroup {
  std::string name;
  std::size_t count = 0;
  std::string unit;
  SafeRange safe;
  double safe_value = 0.0;  // what `safe_state` drives this group to
};

// Parameters are coupled one-to-one to knobs, group by group, with a compliance per group:
// F = E + sum_k (u_k - theta_k)^2 / (2 eps_k). Compliance plays the role of a learning rate.
struct ParameterGroup {
  ChannelGroup channels;
  double compliance = 0.0;
};

struct Capabilities {
  bool parameter_readback = false;     // read_parameters works (needed by the feedback homeostat)
  bool native_homeostasis = false;     // settle_homeostatic holds parameters by the device itself
  bool adjustable_compliance = false;  // set_compliance works (per-epoch decay)
  bool settable_parameters = false;    // parameters can be written directly (digital pots)
  bool local_probes = false;           // the local quantity each parameter needs can be read
  // save_snapshot/restore_snapshot capture the device's whole internal state exactly, so a
  // resumed session continues bit for bit (simulators). Hardware resumes from knobs instead.
  bool snapshot = false;
};

// What a local probe measures at each parameter, and how that parameter's energy term depends on
// it: dE/dtheta_k = law(p_k). The device declares the law, so a trainer that contrasts probes
// (EqProp, coupled learning) needs no physics: a resistor's probe is the voltage across it and
// its co-content is g (dV)^2 / 2, so its law is half_square.
enum class ProbeLaw { identity, half_square };

struct ProbeDescription {
  std::string unit;  // of the measured probe, e.g. "V"
  ProbeLaw law = ProbeLaw::identity;
  // Without local probes: what the device would need for them, for the refusal of a rule that
  // contrasts probes (a bench names the roles it does not map). Empty: nothing to add.
  std::string missing = {};
};

// Who answered for the device: an instrument's name, its identity string (*IDN?) and address.
// Recorded in the session so a result can be traced to the bench that produced it.
struct InstrumentIdentity {
  std::string name;
  std::string identity;
  std::string address;
};

struct DeviceDescription {
  std::string model;         // what the device is, e.g. "hopfield 784-256-10"
  std::size_t replicas = 1;  // copies sharing parameters (a mini-batch); hardware has 1
  ChannelGroup inputs;       // per replica
  ChannelGroup outputs;      // per replica; also the range of nudge targets
  SafeRange nudge;           // allowed nudging strengths beta
  std::vector<ParameterGroup> parameters;
  std::vector<ChannelGroup> knobs;  // knobs[k] drives parameters[k]; empty if parameters are set
  Capabilities capabilities;
  ProbeDescription probes;  // with capabilities.local_probes

  std::size_t parameter_count() const;
  std::size_t knob_count() const;
};

// How a device reached (or failed to reach) equilibrium.
struct SettleReport {
  double seconds = 0.0;        // wall time spent settling
  std::size_t iterations = 0;  // sweeps, polls, or solver steps, by the device's own rule
  double residual = 0.0;       // the device's own distance from equilibrium when it stopped
  bool converged = false;
};

}  // namespace aeqlab
