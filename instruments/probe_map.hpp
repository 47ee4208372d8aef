#pragma once
// Where each trainable element's local probe comes from on a bench, and the law the bench
// declares for it (the `probes` section of a bench file; docs/pot-bench.md). The common case: node
// voltages are measured once (channels.probe_nodes) and each element's probe is the difference of
// its two ends, v_a - v_b, where an end is a measured node, an input source (the DAC value the
// bench set, or its negative for the "-x" source of an input pair) or a fixed rail. For a layered
// network the element list comes from the layer description, in the order the circuit device
// numbers its parameters (docs/circuit-device.md): nobody writes 10^4 pairs by hand. The other
// case, a measured channel per element (channels.probes), needs no map, only the law.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/device_description.hpp"

namespace aeqlab::instruments {

// One end of an element.
struct ProbeEnd {
  enum class Kind { node, input, rail };
  Kind kind = Kind::node;
  std::size_t index = 0;  // node: into the measured nodes; input: the data input
  double value = 1.0;     // input: +1 or -1 (the "-x" source); rail: its voltage
};

struct ProbeElement {
  ProbeEnd a, b;  // the probe is v(a) - v(b)
};

// The layered description (the circuit device's own keys, docs/circuit-device.md).
struct LayeredProbes {
  std::vector<std::size_t> layers;
  bool input_pairs = true;
  bool output_pairs = false;
  bool biases = true;
  double bias_voltage = 1.0;
};

struct ProbeMap {
  ProbeLaw law = ProbeLaw::half_square;
  std::string unit = "V";
  std::optional<LayeredProbes> layered;  // nullopt: one measured channel per element
  // With `layered`: every element in the parameters' order, and the count of measured nodes.
  std::vector<ProbeElement> elements;
  std::size_t nodes = 0;
};

// The `probes` section. ConfigError names `where` and the key.
ProbeMap parse_probe_map(const nlohmann::json& section, const std::string& where);
nlohmann::json probe_map_to_json(const ProbeMap& map);
const char* probe_law_name(ProbeLaw law);

// Each element's probe from the measured nodes and the inputs as set.
void probes_from_nodes(const ProbeMap& map, std::span<const double> nodes,
                       std::span<const double> inputs, std::span<double> probes);

// The inverse, for a simulator serving the node ADCs: node voltages that give these probes,
// found by walking the elements out from the ends whose voltage is known (inputs, rails).
// Throws DeviceError when a node is reached by no element from a known end.
void nodes_from_probes(const ProbeMap& map, std::span<const double> probes,
                       std::span<const double> inputs, std::span<double> nodes);

}  // namespace aeqlab::instruments
