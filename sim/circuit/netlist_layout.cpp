// A lab's own netlist as the circuit device's circuit: the mapping of device.type "netlist"
// (inputs, outputs, trainable resistors) checked against the netlist, every mistake named with
// the key, the element or node, and the netlist's file and line (docs/circuit-device.md, "Your
// own netlist").

#include <fnmatch.h>

#include <algorithm>
#include <cmath>

#include <spdlog/fmt/fmt.h>

#include "core/config.hpp"
#include "core/error.hpp"
#include "sim/circuit/circuit_netlist.hpp"
#include "sim/circuit/circuit_spec.hpp"

namespace aeqlab::sim {

CircuitLayout netlist_circuit(const CircuitSpec& spec) {
  spec.validate();
  const auto& m = spec.netlist;
  CircuitLayout out;
  // Each element's card, "file:line", so a refusal sends the designer to it (in an included
  // file or a subcircuit's definition too).
  std::vector<std::string> lines;
  out.circuit = load_netlist(m.file, &lines);
  const Circuit& c = out.circuit;
  auto where = [&](std::size_t e) { return e < lines.size() ? lines[e] : m.file; };
  auto kind = [&](std::size_t e) { return std::string(names_of(c.elements[e].kind).name); };

  // Every element's value and every diode model within the ranges the layered device states
  // (docs/config-reference.md, "Physical ranges"): a typo of 1e308 is named, not solved.
  for (std::size_t e = 0; e < c.elements.size(); ++e) {
    const auto& el = c.elements[e];
    const std::string key = fmt::format("device.netlist: {}: {} {}", where(e), kind(e), el.name);
    if (el.kind == ElementKind::resistor) require_range(key, el.value, 1e-15, 1e3, "S");
    if (el.kind == ElementKind::voltage_source) require_range(key, el.value, -1e3, 1e3, "V");
  }
  for (const auto& model : c.models) {
    if (model.ideal) continue;
    const std::string key = fmt::format("device.netlist: {}: model {}", m.file, model.name);
    require_range(key + " IS", model.saturation_current, 1e-30, 1.0, "A");
    require_range(key + " N", model.emission, 0.01, 100.0, "");
  }

  // Sources: no current sources (the outputs' declared range assumes a passive circuit between
  // voltage sources), and which node each voltage source holds.
  std::vector<std::size_t> held_by(c.nodes.size(), c.elements.size());
  for (std::size_t e = 0; e < c.elements.size(); ++e) {
    const auto& el = c.elements[e];
    if (el.kind == ElementKind::current_source)
      throw ConfigError(fmt::format(
          "device.netlist: {}: current source {}: the netlist device takes voltage sources only "
          "(its outputs' range assumes a passive circuit between them)",
          where(e), el.name));
    if (el.kind == ElementKind::voltage_source) held_by[el.a] = held_by[el.b] = e;
  }
  held_by[0] = c.elements.size();

  // Inputs.
  std::vector<char> used(c.elements.size(), 0);
  const double input_peak = std::max(std::abs(spec.input_low), std::abs(spec.input_high));
  double hull = 0.0;  // a bound on every fixed node's |voltage|: the sources' sum
  for (std::size_t k = 0; k < m.inputs.size(); ++k)
    for (std::size_t side = 0; side < m.inputs[k].size(); ++side) {
      const std::string& name = m.inputs[k][side];
      const auto e = c.find_element(name);
      if (!e)
        throw ConfigError(fmt::format("device.inputs[{}]: no element '{}' in {}", k, name, m.file));
      if (c.elements[*e].kind != ElementKind::voltage_source)
        throw ConfigError(fmt::format("device.inputs[{}]: {}: {} is a {}, not a voltage source", k,
                                      where(*e), c.elements[*e].name, kind(*e)));
      if (used[*e])
        throw ConfigError(fmt::format("device.inputs[{}]: {}: voltage source {} is mapped twice", k,
                                      where(*e), c.elements[*e].name));
      used[*e] = 1;
      (side == 0 ? out.input_plus : out.input_minus).push_back(*e);
      hull += input_peak;
    }
  for (std::size_t e = 0; e < c.elements.size(); ++e)
    if (c.elements[e].kind == ElementKind::voltage_source && !used[e])
      hull += std::abs(c.elements[e].value);

  // Outputs.
  auto output_node = [&](std::size_t k, const std::string& name, bool minus) {
    const auto n = c.find_node(name);
    if (!n)
      throw ConfigError(fmt::format("device.outputs[{}]: no node '{}' in {}", k, name, m.file));
    if (*n == 0 && !minus)
      throw ConfigError(fmt::format(
          "device.outputs[{}]: node '{}' is ground; an output is a node or a node pair", k, name));
    if (held_by[*n] < c.elements.size())
      throw ConfigError(fmt::format(
          "device.outputs[{}]: node '{}' is held by voltage source {} ({}): nudging it would "
          "move nothing",
          k, name, c.elements[held_by[*n]].name, where(held_by[*n])));
    return *n;
  };
  for (std::size_t k = 0; k < m.outputs.size(); ++k) {
    out.output_plus.push_back(output_node(k, m.outputs[k][0], false));
    out.output_minus.push_back(m.outputs[k].size() == 2 ? output_node(k, m.outputs[k][1], true)
                                                        : 0);
    if (out.output_plus.back() == out.output_minus.back())
      throw ConfigError(
          fmt::format("device.outputs[{}]: both ends are node '{}'", k, m.outputs[k][0]));
  }

  // Trainable resistors, in netlist order within each pattern, each once.
  std::vector<char> trainable(c.elements.size(), 0);
  for (std::size_t k = 0; k < m.trainable.size(); ++k) {
    const std::string& pattern = m.trainable[k];
    std::size_t matched = 0;
    for (std::size_t e = 0; e < c.elements.size(); ++e) {
      if (fnmatch(pattern.c_str(), c.elements[e].name.c_str(), FNM_CASEFOLD) != 0) continue;
      if (c.elements[e].kind != ElementKind::resistor) {
        // A glob may sweep past other elements; a plain name must be a resistor.
        if (pattern.find_first_of("*?[") == std::string::npos)
          throw ConfigError(fmt::format("device.trainable[{}]: {}: {} is a {}, not a resistor", k,
                                        where(e), c.elements[e].name, kind(e)));
        continue;
      }
      ++matched;
      if (trainable[e]) continue;
      const double g = c.elements[e].value;
      if (!(g >= spec.g_min && g <= spec.g_max))
        throw ConfigError(
            fmt::format("device.trainable[{}]: {}: resistor {} is {:.6g} ohm ({:.6g} S), outside "
                        "device.conductance [{:.6g}, {:.6g}] S",
                        k, where(e), c.elements[e].name, 1.0 / g, g, spec.g_min, spec.g_max));
      trainable[e] = 1;
      out.parameters.push_back(e);
    }
    if (matched == 0)
      throw ConfigError(
          fmt::format("device.trainable[{}]: '{}' matches no resistor in {}", k, pattern, m.file));
  }
  out.group_names = {"g"};
  out.group_sizes = {out.parameters.size()};
  out.group_compliance = {spec.weight_compliance.front()};
  out.has_hull = true;
  out.hull_low = -hull;
  out.hull_high = hull;
  return out;
}

}  // namespace aeqlab::sim
