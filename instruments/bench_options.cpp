#include "instruments/bench_options.hpp"

#include <cmath>
#include <set>

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"

namespace aeqlab::instruments {

using nlohmann::json;

namespace {

void require_keys(const json& j, const std::set<std::string>& known, const std::string& where) {
  if (!j.is_object())
    throw ConfigError(fmt::format("{}: expected an object, got {}", where, j.dump()));
  for (const auto& [k, v] : j.items()) {
    if (known.count(k)) continue;
    std::string list;
    for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
    throw ConfigError(fmt::format("{}.{}: unknown key (known here: {})", where, k, list));
  }
}

double non_negative(const json& j, const std::string& key, double fallback,
                    const std::string& where) {
  if (!j.contains(key)) return fallback;
  const auto& v = j.at(key);
  if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < 0)
    throw ConfigError(fmt::format("{}.{}: expected a number >= 0, got {}", where, key, v.dump()));
  return v.get<double>();
}

std::size_t count(const json& j, const std::string& key, std::size_t fallback,
                  const std::string& where) {
  if (!j.contains(key)) return fallback;
  const auto& v = j.at(key);
  if (!v.is_number_integer() || v.get<long long>() < 0)
    throw ConfigError(
        fmt::format("{}.{}: expected a whole number >= 0, got {}", where, key, v.dump()));
  return static_cast<std::size_t>(v.get<long long>());
}

}  // namespace

// The probes against the parameters they serve: a map that does not match is refused by key.
void check_probes(const json& j, const BenchConfig& b, const std::string& source) {
  const std::string cw = source + ".channels";
  std::size_t parameters = 0;
  std::string groups;
  for (const auto& p : b.parameters) {
    parameters += p.group.count;
    groups += fmt::format("{}{} {}", groups.empty() ? "" : ", ", p.group.name, p.group.count);
  }
  const bool per_element = !b.probes.empty();
  if (!b.probe_map) {
    if (per_element || b.probe_nodes)
      throw ConfigError(fmt::format(
          "{}.probes: missing; the bench measures probes ({}) and must declare their law, e.g. "
          "\"probes\": {{\"law\": \"half_square\"}} for conductances",
          source, per_element ? "channels.probes" : "channels.probe_nodes"));
    return;
  }
  const auto& m = *b.probe_map;
  if (per_element && b.probe_nodes)
    throw ConfigError(fmt::format(
        "{}.probe_nodes: the bench maps both a channel per element (channels.probes) and the "
        "nodes; give one",
        cw));
  if (!per_element && !b.probe_nodes)
    throw ConfigError(fmt::format(
        "{}.probes: no channel measures the probes; map the node voltages (channels.probe_nodes) "
        "or a channel per element (channels.probes)",
        source));
  if (per_element && m.layered)
    throw ConfigError(fmt::format(
        "{}.probes.layered: the probes are measured per element (channels.probes); the layer "
        "description is for node voltages (channels.probe_nodes)",
        source));
  if (b.probe_nodes && !m.layered)
    throw ConfigError(fmt::format(
        "{}.probes.layered: missing; channels.probe_nodes needs the layer description that says "
        "which two nodes each element joins",
        source));
  if (!m.layered) return;
  if (m.layered->layers.front() != b.inputs.group.count)
    throw ConfigError(
        fmt::format("{}.probes.layered.layers: starts with {} inputs, but channels.inputs maps {}",
                    source, m.layered->layers.front(), b.inputs.group.count));
  if (m.elements.size() != parameters)
    throw ConfigError(fmt::format(
        "{}.probes.layered: the layers {} give {} elements, but the parameters have {} ({})",
        source, j.at("probes").at("layered").at("layers").dump(), m.elements.size(), parameters,
        groups));
  if (b.probe_nodes->group.count != m.nodes)
    throw ConfigError(fmt::format(
        "{}.probe_nodes: maps {} channel(s); probes.layered has {} measured nodes (every "
        "non-input node, in layer order, outputs as +/- pairs with output_pairs)",
        cw, b.probe_nodes->group.count, m.nodes));
}

// Emulated plasticity needs what it emulates with: parameters to set, probes to move them by.
PlasticityEmulation parse_plasticity(const json& j, const BenchConfig& b,
                                     const std::string& source) {
  const std::string w = source + ".plasticity";
  require_keys(j, {"compliance", "rounds", "tolerance"}, w);
  if (b.parameter_setpoints.empty())
    throw ConfigError(w +
                      ": emulated plasticity writes the parameters; the bench maps no "
                      "channels.parameter_setpoints");
  if (!b.probe_map)
    throw ConfigError(w +
                      ": emulated plasticity moves each element by its probe; the bench "
                      "measures none (channels.probe_nodes or channels.probes)");
  if (!b.knobs.empty())
    throw ConfigError(w +
                      ": the bench has knobs of its own (channels.knobs); emulated "
                      "plasticity holds its knobs itself");
  PlasticityEmulation p;
  if (!j.contains("compliance"))
    throw ConfigError(w + ".compliance: missing (eps per parameter group, or one for all)");
  const auto& c = j.at("compliance");
  if (c.is_number()) {
    p.compliance.assign(b.parameters.size(), c.get<double>());
  } else if (c.is_array() && c.size() == b.parameters.size()) {
    for (const auto& v : c) {
      if (!v.is_number()) throw ConfigError(w + ".compliance: expected numbers");
      p.compliance.push_back(v.get<double>());
    }
  } else {
    throw ConfigError(
        fmt::format("{}.compliance: expected one number or {} (one per parameter group), got {}", w,
                    b.parameters.size(), c.dump()));
  }
  for (double e : p.compliance)
    if (!(e > 0) || !std::isfinite(e))
      throw ConfigError(fmt::format("{}.compliance: every compliance must be > 0, got {}", w, e));
  p.rounds = count(j, "rounds", p.rounds, w);
  if (p.rounds == 0) throw ConfigError(w + ".rounds: must be at least 1");
  p.tolerance = non_negative(j, "tolerance", p.tolerance, w);
  return p;
}

WriteVerify parse_write_verify(const json& j, const BenchConfig& b, const std::string& source) {
  const std::string w = source + ".write_verify";
  const auto& v = j;
  require_keys(v, {"tolerance", "retries"}, w);
  if (b.parameter_setpoints.empty())
    throw ConfigError(w + ": the bench maps no channels.parameter_setpoints to verify");
  WriteVerify wv;
  wv.tolerance = non_negative(v, "tolerance", wv.tolerance, w);
  wv.retries = static_cast<int>(count(v, "retries", static_cast<std::size_t>(wv.retries), w));
  return wv;
}

}  // namespace aeqlab::instruments
