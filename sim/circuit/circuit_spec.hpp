#pragma once
// The circuit device as a lab writes it down: a layered diode-resistor network in Scellier's
// deep-resistive-network shape (inputs as voltage-source pairs +x and -x, hidden nodes bounded by
// two diodes to bias sources, trainable conductances between consecutive layers and to bias
// sources), the kind of conductance (self-adjusting, or set like a digital potentiometer), and
// the measurement imperfections. Kept free of the solver's headers.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "sim/circuit/circuit.hpp"

namespace aeqlab::sim {

// device.type "netlist": a lab's own SPICE netlist and how the contract maps onto it
// (docs/circuit-device.md, "Your own netlist"). An empty `file` means the layered network.
struct NetlistMapping {
  std::string file;  // absolute path of the SPICE netlist
  // Per data input: one voltage source, or a + and a - source (driven with x and -x).
  std::vector<std::vector<std::string>> inputs;
  // Per output: a node (against ground), or a + and a - node (their difference).
  std::vector<std::vector<std::string>> outputs;
  std::vector<std::string> trainable;  // resistor names or glob patterns (case-insensitive)
};

struct CircuitSpec {
  std::vector<std::size_t> layers{2, 8, 2};  // data inputs, hidden..., outputs
  bool input_pairs = true;    // each input drives a +x and a -x source (signed weights)
  bool output_pairs = false;  // each output is a differential pair v+ - v-
  bool biases = true;         // each non-input node has conductances to +bias and -bias sources
  double bias_voltage = 1.0;
  // Diodes: ideal, or SPICE's Shockley model.
  bool ideal_diodes = true;
  double saturation_current = 1e-14;           // IS
  double emission = 1.0;                       // N
  double hidden_low = 0.0, hidden_high = 1.0;  // the bias sources the hidden diodes end at
  bool output_diodes = false;                  // bound the outputs the same way
  double input_low = 0.0, input_high = 1.0;
  // Conductances, siemens.
  double g_min = 1e-7, g_max = 1e-3;
  double init_low = 1e-5, init_high = 2e-4;
  // S/V^2, one per edge / non-input layer. The feedback homeostat's loop gain is about
  // eps * d((dV)^2/2)/dg, so eps must stay well below g / (dV)^2.
  std::vector<double> weight_compliance{1e-6, 1e-6};
  std::vector<double> bias_compliance{1e-6, 1e-6};
  double nudge_limit = 1e-2;  // |beta| <= this, siemens
  // "relaxing": conductances relax with the circuit, coupled to knobs (AEqprop). "settable":
  // digital potentiometers, written directly, quantised to `taps` evenly spaced conductances,
  // each off its nominal value by a factor 1 + delta, delta uniform in +-tolerance, drawn once.
  bool settable = false;
  std::size_t taps = 256;
  double tolerance = 0.2;
  // Parameter moves per free-knob settle: 1 = one move once the node voltages have settled (slow
  // conductances); 0 = relax jointly to the fixed point (up to max_rounds).
  std::size_t parameter_steps = 1;
  std::size_t max_rounds = 50;
  double output_noise = 0.0;  // volts rms on every output reading
  double probe_noise = 0.0;   // volts rms on every probe reading
  double settle_seconds =
      0.0;  // wall time a settle takes (a real circuit's RC), on top of the solve
  double solver_tolerance = 1e-10;
  std::size_t solver_max_iterations = 200;
  std::size_t replicas = 1;
  std::uint64_t seed = 1;
  NetlistMapping netlist;  // set: the circuit is this netlist, not the layered network

  std::size_t edges() const { return layers.size() - 1; }
  std::string name() const;
  void validate() const;  // throws ConfigError naming the key
};

CircuitSpec circuit_spec_from_json(const nlohmann::json& device);
nlohmann::json circuit_spec_to_json(const CircuitSpec& spec);

// The circuit a spec describes, and where the contract's roles sit in it.
struct CircuitLayout {
  Circuit circuit;
  // Per data input: the + source and (with pairs) the - source, element indices.
  std::vector<std::size_t> input_plus, input_minus;
  // Per output: the node pair (minus = 0 when single-ended).
  std::vector<std::size_t> output_plus, output_minus;
  // Trainable resistors in the contract's order, and the groups' names and sizes.
  std::vector<std::size_t> parameters;
  std::vector<std::string> group_names;
  std::vector<std::size_t> group_sizes;
  std::vector<double> group_compliance;
  // Where node voltages can go (a passive circuit stays within its fixed nodes' voltages); set
  // by netlist_circuit, derived from the spec for the layered network.
  bool has_hull = false;
  double hull_low = 0.0, hull_high = 0.0;
};

// Initial conductances are drawn uniformly in [init_low, init_high] from the seed.
CircuitLayout layered_circuit(const CircuitSpec& spec);

// device.type "netlist" (sim/circuit/netlist_spec.cpp): the keys, and the layout the mapping
// gives on the netlist (sim/circuit/netlist_layout.cpp), the resistors' values as written being
// the initial conductances. Mapping mistakes are ConfigErrors naming the key, the element or
// node, and the netlist's file and line.
CircuitSpec netlist_spec_from_json(const nlohmann::json& device);
nlohmann::json netlist_spec_to_json(const CircuitSpec& spec);
CircuitLayout netlist_circuit(const CircuitSpec& spec);
// Either of the two, by the spec.
CircuitLayout circuit_layout(const CircuitSpec& spec);

}  // namespace aeqlab::sim
