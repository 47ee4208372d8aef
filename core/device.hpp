#pragma once
// The device contract: everything an orchestrator may do to a physical system, simulated or real.
// Trainers in core/ see a device only through this interface, so the same learning loop drives a
// simulator, a bench of instruments, or anything else that keeps these promises.

#include <cstddef>
#include <iosfwd>
#include <span>
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

class Device {
 public:
  virtual ~Device() = default;

  virtual const DeviceDescription& describe() const = 0;

  // Present inputs to the first `active_replicas` replicas (rows of `values`, row-major).
  virtual void set_inputs(std::span<const double> values, std::size_t active_replicas) = 0;
  // Nudge the outputs toward `targets` (one row per active replica) with strength beta; 0 = free.
  virtual void set_nudge(double beta, std::span<const double> targets) = 0;
  virtual void set_knobs(std::span<const double> values) = 0;
  virtual void read_knobs(std::span<double> out) = 0;
  virtual void read_parameters(std::span<double> out) = 0;
  // Output state of the active replicas, row-major.
  virtual void read_outputs(std::span<double> out) = 0;

  // Let the system (state and parameters) relax with the knobs held where they are.
  virtual SettleReport settle() = 0;
  // Native homeostasis: relax while the device itself holds the parameters at their present
  // values, leaving the knobs where they must be for that. Only with
  // capabilities.native_homeostasis.
  virtual SettleReport settle_homeostatic();
  virtual void set_compliance(std::size_t group, double compliance);
  virtual void write_parameters(std::span<const double> values);
  // Only with capabilities.local_probes: one probe per parameter per active replica (row-major,
  // replica after replica), at the equilibrium of the last settle.
  virtual void read_probes(std::span<double> out);

  // Only with capabilities.snapshot: the exact internal state (parameters, knobs, compliances,
  // the physical state that warm-starts the next settle), and its restoration on a device built
  // from the same description. Saving must not change the device in any way.
  virtual void save_snapshot(std::ostream& out) const;
  virtual void restore_snapshot(std::istream& in);
  // The instruments behind the device (empty for a simulator in the same process).
  virtual std::vector<InstrumentIdentity> instruments() const { return {}; }

  // Bring every output of the device to its safe value (stop, fault, Ctrl-C). Must be callable
  // at any time, including after a failed operation, and from another thread while a call is
  // blocked (the emergency stop of a second Ctrl-C does that when the run cannot answer).
  virtual void safe_state() = 0;
};

}  // namespace aeqlab
