// device.type "netlist": its keys, read into the circuit device's spec (docs/circuit-device.md,
// "Your own netlist"). The keys it shares with the layered circuit device (conductance bounds,
// parameters, pots, noise, solver, ...) are read by circuit_spec_from_json; the layered keys
// (layers, biases, diode, ...) are refused, since the netlist says all that.

#include <filesystem>

#include <spdlog/fmt/fmt.h>
#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "core/error.hpp"
#include "sim/circuit/circuit_spec.hpp"

namespace aeqlab::sim {

namespace {

// The keys the two device types share, as circuit_spec_to_json writes them.
const char* const kSharedKeys[] = {"input_range",    "conductance",     "nudge_limit", "parameters",
                                   "pots",           "parameter_steps", "max_rounds",  "noise",
                                   "settle_seconds", "solver",          "replicas",    "seed"};

// A list whose entries are a name or a list of two names: ["Vx1", ["Vp2", "Vn2"]].
std::vector<std::vector<std::string>> names_or_pairs(const nlohmann::json& device,
                                                     const char* key) {
  const std::string where = fmt::format("device.{}", key);
  if (!device.contains(key)) throw ConfigError(where + ": missing key");
  const auto& j = device.at(key);
  if (!j.is_array() || j.empty())
    throw ConfigError(fmt::format("{}: expected a non-empty list, got {}", where, j.dump()));
  std::vector<std::vector<std::string>> out;
  for (std::size_t k = 0; k < j.size(); ++k) {
    const auto& e = j[k];
    if (e.is_string()) {
      out.push_back({e.get<std::string>()});
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
      out.push_back({e[0].get<std::string>(), e[1].get<std::string>()});
    } else {
      throw ConfigError(
          fmt::format("{}[{}]: expected a name or [plus, minus], got {}", where, k, e.dump()));
    }
  }
  return out;
}

}  // namespace

nlohmann::json netlist_spec_to_json(const CircuitSpec& s) {
  const nlohmann::json layered = circuit_spec_to_json(s);
  nlohmann::json j = {{"type", "netlist"}, {"netlist", s.netlist.file}};
  auto list = [](const std::vector<std::vector<std::string>>& v) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& e : v) a.push_back(e.size() == 1 ? nlohmann::json(e[0]) : nlohmann::json(e));
    return a;
  };
  j["inputs"] = list(s.netlist.inputs);
  j["outputs"] = list(s.netlist.outputs);
  j["trainable"] = s.netlist.trainable;
  j["compliance"] = s.weight_compliance.empty() ? 1e-6 : s.weight_compliance.front();
  for (const char* key : kSharedKeys) j[key] = layered.at(key);
  j["conductance"].erase("init");  // the netlist's values are the initial conductances
  return j;
}

CircuitSpec netlist_spec_from_json(const nlohmann::json& device) {
  CircuitSpec defaults;
  defaults.netlist = {"x.cir", {{"V1"}}, {{"out"}}, {"R*"}};
  require_known_keys(device, netlist_spec_to_json(defaults), "device");
  ConfigReader r(device, "device");
  const std::string file = r.get<std::string>("netlist");
  if (file.empty()) throw ConfigError("device.netlist: needs a SPICE netlist file");
  NetlistMapping m;
  // Absolute, so a session resumed or exported from another folder finds the same file.
  m.file = std::filesystem::absolute(file).lexically_normal().string();
  m.inputs = names_or_pairs(device, "inputs");
  m.outputs = names_or_pairs(device, "outputs");
  for (std::size_t k = 1; k < m.inputs.size(); ++k)
    if (m.inputs[k].size() != m.inputs[0].size())
      throw ConfigError(fmt::format(
          "device.inputs[{}]: every input is one source, or every input a + and - pair", k));
  m.trainable = r.get<std::vector<std::string>>("trainable");
  if (m.trainable.empty()) throw ConfigError("device.trainable: names no resistor");

  // The shared keys, through the layered device's reader.
  nlohmann::json shared = nlohmann::json::object();
  for (const char* key : kSharedKeys)
    if (device.contains(key)) shared[key] = device.at(key);
  shared["layers"] = {m.inputs.size(), m.outputs.size()};
  // The layered device's initial draw does not apply: span the whole range so it validates.
  if (shared.contains("conductance") && shared["conductance"].is_object()) {
    auto& c = shared["conductance"];
    if (c.contains("init"))
      throw ConfigError(
          "device.conductance.init: unknown key (the netlist's values are the initial "
          "conductances)");
    c["init"] = {c.value("min", CircuitSpec{}.g_min), c.value("max", CircuitSpec{}.g_max)};
  }
  shared["input_pairs"] = m.inputs[0].size() == 2;
  bool any_pair = false;  // the outputs' declared range is a difference's if any is a pair
  for (const auto& o : m.outputs) any_pair |= o.size() == 2;
  shared["output_pairs"] = any_pair;
  CircuitSpec s = circuit_spec_from_json(shared);
  const double eps = device.contains("compliance") ? r.get<double>("compliance") : 1e-6;
  if (!(eps > 0)) throw ConfigError("device.compliance: must be > 0");
  s.weight_compliance = {eps};
  s.bias_compliance = {eps};
  s.netlist = std::move(m);
  s.validate();
  return s;
}

CircuitLayout circuit_layout(const CircuitSpec& spec) {
  return spec.netlist.file.empty() ? layered_circuit(spec) : netlist_circuit(spec);
}

}  // namespace aeqlab::sim
