#include "instruments/probe_map.hpp"

#include <cmath>
#include <set>

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"

namespace aeqlab::instruments {

using nlohmann::json;

namespace {

[[noreturn]] void fail(const std::string& where, const std::string& key, const std::string& why) {
  throw ConfigError(fmt::format("{}.{}: {}", where, key, why));
}

void known_keys(const json& j, const std::set<std::string>& keys, const std::string& where) {
  if (!j.is_object())
    throw ConfigError(fmt::format("{}: expected an object, got {}", where, j.dump()));
  for (const auto& [k, v] : j.items()) {
    if (keys.count(k)) continue;
    std::string list;
    for (const auto& n : keys) list += (list.empty() ? "" : ", ") + n;
    fail(where, k, fmt::format("unknown key (known here: {})", list));
  }
}

bool flag(const json& j, const char* key, bool fallback, const std::string& where) {
  if (!j.contains(key)) return fallback;
  if (!j.at(key).is_boolean()) fail(where, key, "expected true or false");
  return j.at(key).get<bool>();
}

// The elements of a layered network in the circuit device's parameter order: every node of a
// layer to every node of the next (W1, W2, ...), then with biases each non-input node to the
// +bias and the -bias rail (B1, B2, ...). Layer 0's nodes are the input sources.
void lay_out(ProbeMap& m) {
  const LayeredProbes& l = *m.layered;
  std::vector<std::vector<ProbeEnd>> nodes(l.layers.size());
  for (std::size_t i = 0; i < l.layers[0]; ++i) {
    nodes[0].push_back({ProbeEnd::Kind::input, i, 1.0});
    if (l.input_pairs) nodes[0].push_back({ProbeEnd::Kind::input, i, -1.0});
  }
  const std::size_t last = l.layers.size() - 1;
  for (std::size_t k = 1; k <= last; ++k) {
    const std::size_t per = k == last && l.output_pairs ? 2 : 1;
    for (std::size_t j = 0; j < l.layers[k] * per; ++j)
      nodes[k].push_back({ProbeEnd::Kind::node, m.nodes++, 0.0});
  }
  for (std::size_t k = 1; k <= last; ++k)
    for (const auto& a : nodes[k - 1])
      for (const auto& b : nodes[k]) m.elements.push_back({a, b});
  if (l.biases)
    for (std::size_t k = 1; k <= last; ++k)
      for (const auto& a : nodes[k]) {
        m.elements.push_back({a, {ProbeEnd::Kind::rail, 0, l.bias_voltage}});
        m.elements.push_back({a, {ProbeEnd::Kind::rail, 0, -l.bias_voltage}});
      }
}

double value_of(const ProbeEnd& e, std::span<const double> nodes, std::span<const double> inputs) {
  switch (e.kind) {
    case ProbeEnd::Kind::node:
      return nodes[e.index];
    case ProbeEnd::Kind::input:
      return e.value * inputs[e.index];
    case ProbeEnd::Kind::rail:
      return e.value;
  }
  return 0.0;
}

}  // namespace

const char* probe_law_name(ProbeLaw law) {
  return law == ProbeLaw::half_square ? "half_square" : "identity";
}

ProbeMap parse_probe_map(const json& j, const std::string& where) {
  known_keys(j, {"law", "unit", "layered"}, where);
  ProbeMap m;
  if (!j.contains("law"))
    fail(where, "law",
         "missing (the law of each element's energy in its probe: \"half_square\" for a "
         "conductance, whose co-content is g dV^2 / 2, or \"identity\")");
  const auto& law = j.at("law");
  if (law == "half_square")
    m.law = ProbeLaw::half_square;
  else if (law == "identity")
    m.law = ProbeLaw::identity;
  else
    fail(where, "law", fmt::format("{} is not a probe law (half_square or identity)", law.dump()));
  if (j.contains("unit")) {
    if (!j.at("unit").is_string()) fail(where, "unit", "expected a string");
    m.unit = j.at("unit").get<std::string>();
  }
  if (!j.contains("layered")) return m;
  const std::string w = where + ".layered";
  const json& l = j.at("layered");
  known_keys(l, {"layers", "input_pairs", "output_pairs", "biases", "bias_voltage"}, w);
  LayeredProbes layered;
  if (!l.contains("layers") || !l.at("layers").is_array() || l.at("layers").size() < 2)
    fail(w, "layers", "expected the layer sizes, inputs first and outputs last, e.g. [2, 8, 2]");
  for (const auto& n : l.at("layers")) {
    if (!n.is_number_integer() || n.get<long long>() < 1 || n.get<long long>() > 1000000)
      fail(w, "layers", fmt::format("{} is not a layer size (a whole number >= 1)", n.dump()));
    layered.layers.push_back(static_cast<std::size_t>(n.get<long long>()));
  }
  layered.input_pairs = flag(l, "input_pairs", layered.input_pairs, w);
  layered.output_pairs = flag(l, "output_pairs", layered.output_pairs, w);
  layered.biases = flag(l, "biases", layered.biases, w);
  if (l.contains("bias_voltage")) {
    const auto& v = l.at("bias_voltage");
    if (!v.is_number() || !std::isfinite(v.get<double>()))
      fail(w, "bias_voltage", "expected a number (volts)");
    layered.bias_voltage = v.get<double>();
  }
  m.layered = layered;
  lay_out(m);
  return m;
}

json probe_map_to_json(const ProbeMap& m) {
  json j = {{"law", probe_law_name(m.law)}, {"unit", m.unit}};
  if (m.layered)
    j["layered"] = {{"layers", m.layered->layers},
                    {"input_pairs", m.layered->input_pairs},
                    {"output_pairs", m.layered->output_pairs},
                    {"biases", m.layered->biases},
                    {"bias_voltage", m.layered->bias_voltage}};
  return j;
}

void probes_from_nodes(const ProbeMap& map, std::span<const double> nodes,
                       std::span<const double> inputs, std::span<double> probes) {
  for (std::size_t k = 0; k < map.elements.size(); ++k)
    probes[k] =
        value_of(map.elements[k].a, nodes, inputs) - value_of(map.elements[k].b, nodes, inputs);
}

void nodes_from_probes(const ProbeMap& map, std::span<const double> probes,
                       std::span<const double> inputs, std::span<double> nodes) {
  std::vector<char> known(map.nodes, 0);
  std::size_t left = map.nodes;
  // A layered network resolves in one pass (each layer from the one before it, or from a rail);
  // the loop is for maps whose elements come in another order.
  for (bool progress = true; left > 0 && progress;) {
    progress = false;
    for (std::size_t k = 0; k < map.elements.size(); ++k) {
      const auto& [a, b] = map.elements[k];
      const bool ka = a.kind != ProbeEnd::Kind::node || known[a.index];
      const bool kb = b.kind != ProbeEnd::Kind::node || known[b.index];
      if (ka == kb) continue;
      if (ka) {
        nodes[b.index] = value_of(a, nodes, inputs) - probes[k];
        known[b.index] = 1;
      } else {
        nodes[a.index] = value_of(b, nodes, inputs) + probes[k];
        known[a.index] = 1;
      }
      --left;
      progress = true;
    }
  }
  if (left > 0)
    for (std::size_t n = 0; n < map.nodes; ++n)
      if (!known[n])
        throw DeviceError(fmt::format(
            "probe node {} is joined to no input or rail by any element: its voltage cannot be "
            "told from the probes",
            n + 1));
}

}  // namespace aeqlab::instruments
