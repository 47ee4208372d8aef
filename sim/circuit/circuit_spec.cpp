#include "sim/circuit/circuit_spec.hpp"

#include <filesystem>
#include <random>

#include <spdlog/fmt/fmt.h>
#include <spdlog/fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/layer_compliances.hpp"

namespace aeqlab::sim {

std::string CircuitSpec::name() const {
  if (!netlist.file.empty())
    return fmt::format("netlist {} {}", std::filesystem::path(netlist.file).filename().string(),
                       settable ? "digital-pot" : "relaxing");
  return fmt::format("circuit {} {} {}", fmt::join(layers, "-"),
                     ideal_diodes ? "ideal-diode" : "shockley-diode",
                     settable ? "digital-pot" : "relaxing");
}

void CircuitSpec::validate() const {
  auto fail = [](const std::string& key, const std::string& why) {
    throw ConfigError(fmt::format("device.{}: {}", key, why));
  };
  if (layers.size() < 2) fail("layers", "needs at least an input and an output layer");
  for (auto n : layers)
    if (n == 0) fail("layers", "every layer needs at least one node");
  const std::size_t e = edges();
  require_layer_compliances(weight_compliance, bias_compliance, e);
  // Every physical setting within a stated range (docs/config-reference.md, "Physical ranges"):
  // wide enough for any bench, narrow enough that nothing overflows in a solve.
  const auto range = [](const std::string& key, double v, double lo, double hi, const char* unit) {
    require_range("device." + key, v, lo, hi, unit);
  };
  range("conductance.min", g_min, 1e-15, 1e3, "S");
  range("conductance.max", g_max, 1e-15, 1e3, "S");
  range("conductance.init", init_low, 1e-15, 1e3, "S");
  range("conductance.init", init_high, 1e-15, 1e3, "S");
  range("bias_voltage", bias_voltage, 1e-6, 1e3, "V");
  range("hidden_range", hidden_low, -1e3, 1e3, "V");
  range("hidden_range", hidden_high, -1e3, 1e3, "V");
  range("input_range", input_low, -1e3, 1e3, "V");
  range("input_range", input_high, -1e3, 1e3, "V");
  range("diode.IS", saturation_current, 1e-30, 1.0, "A");
  range("diode.N", emission, 0.01, 100.0, "");
  range("nudge_limit", nudge_limit, 1e-15, 1e3, "S");
  range("pots.taps", double(taps), 2, 1 << 20, "taps");
  range("parameter_steps", double(parameter_steps), 0, 1e6, "");
  range("max_rounds", double(max_rounds), 1, 1e6, "");
  range("noise.outputs", output_noise, 0.0, 1e3, "V rms");
  range("noise.probes", probe_noise, 0.0, 1e3, "V rms");
  range("settle_seconds", settle_seconds, 0.0, 3600.0, "s");
  range("solver.tolerance", solver_tolerance, 1e-15, 1.0, "");
  range("solver.max_iterations", double(solver_max_iterations), 1, 1e6, "");
  if (!(g_min > 0 && g_min < g_max)) fail("conductance", "needs 0 < min < max");
  if (!(g_min <= init_low && init_low <= init_high && init_high <= g_max))
    fail("conductance.init", "needs min <= low <= high <= max");
  if (!(hidden_low < hidden_high)) fail("hidden_range", "needs low < high");
  if (!(input_low < input_high)) fail("input_range", "needs low < high");
  if (!(input_low <= 0.0 && 0.0 <= input_high))
    fail("input_range", "must contain 0, the inputs' safe value");
  if (!(bias_voltage > 0)) fail("bias_voltage", "must be > 0");
  if (!ideal_diodes && !(saturation_current > 0 && emission > 0))
    fail("diode", "a Shockley diode needs IS > 0 and N > 0");
  if (!(nudge_limit > 0)) fail("nudge_limit", "must be > 0");
  if (taps < 2) fail("pots.taps", "must be >= 2");
  if (!(tolerance >= 0 && tolerance < 1)) fail("pots.tolerance", "must be in [0, 1)");
  if (max_rounds == 0) fail("max_rounds", "must be >= 1");
  if (!(output_noise >= 0)) fail("noise.outputs", "must be >= 0");
  if (!(probe_noise >= 0)) fail("noise.probes", "must be >= 0");
  if (!(settle_seconds >= 0)) fail("settle_seconds", "must be >= 0");
  if (!(solver_tolerance > 0)) fail("solver.tolerance", "must be > 0");
  if (solver_max_iterations == 0) fail("solver.max_iterations", "must be >= 1");
  if (replicas == 0) fail("replicas", "must be >= 1");
}

nlohmann::json circuit_spec_to_json(const CircuitSpec& s) {
  nlohmann::json diode = {{"model", s.ideal_diodes ? "ideal" : "shockley"},
                          {"IS", s.saturation_current},
                          {"N", s.emission}};
  return {
      {"type", "circuit"},
      {"layers", s.layers},
      {"input_pairs", s.input_pairs},
      {"output_pairs", s.output_pairs},
      {"biases", s.biases},
      {"bias_voltage", s.bias_voltage},
      {"diode", diode},
      {"hidden_range", {s.hidden_low, s.hidden_high}},
      {"output_diodes", s.output_diodes},
      {"input_range", {s.input_low, s.input_high}},
      {"conductance", {{"min", s.g_min}, {"max", s.g_max}, {"init", {s.init_low, s.init_high}}}},
      {"compliance", {{"weights", s.weight_compliance}, {"biases", s.bias_compliance}}},
      {"nudge_limit", s.nudge_limit},
      {"parameters", s.settable ? "settable" : "relaxing"},
      {"pots", {{"taps", s.taps}, {"tolerance", s.tolerance}}},
      {"parameter_steps", s.parameter_steps},
      {"max_rounds", s.max_rounds},
      {"noise", {{"outputs", s.output_noise}, {"probes", s.probe_noise}}},
      {"settle_seconds", s.settle_seconds},
      {"solver", {{"tolerance", s.solver_tolerance}, {"max_iterations", s.solver_max_iterations}}},
      {"replicas", s.replicas},
      {"seed", s.seed}};
}

static void pair_from(const nlohmann::json& j, const std::string& key, double& low, double& high) {
  if (!j.is_array() || j.size() != 2 || !j[0].is_number() || !j[1].is_number())
    throw ConfigError(fmt::format("device.{}: expected [low, high], got {}", key, j.dump()));
  low = j[0].get<double>();
  high = j[1].get<double>();
}

CircuitSpec circuit_spec_from_json(const nlohmann::json& device) {
  CircuitSpec s;
  require_known_keys(device, circuit_spec_to_json(s), "device");
  ConfigReader r(device, "device");
  auto has = [&](const char* k) { return device.contains(k); };
  if (has("layers")) s.layers = r.get<std::vector<std::size_t>>("layers");
  // Per-layer lists default to one entry per edge, so changing `layers` alone stays valid.
  s.weight_compliance.assign(s.edges(), 1e-6);
  s.bias_compliance.assign(s.edges(), 1e-6);
  if (has("input_pairs")) s.input_pairs = r.get<bool>("input_pairs");
  if (has("output_pairs")) s.output_pairs = r.get<bool>("output_pairs");
  if (has("biases")) s.biases = r.get<bool>("biases");
  if (has("bias_voltage")) s.bias_voltage = r.get<double>("bias_voltage");
  if (has("diode")) {
    ConfigReader d(device.at("diode"), "device.diode");
    if (device.at("diode").contains("model"))
      s.ideal_diodes = d.one_of("model", {"ideal", "shockley"}) == "ideal";
    if (device.at("diode").contains("IS")) s.saturation_current = d.get<double>("IS");
    if (device.at("diode").contains("N")) s.emission = d.get<double>("N");
  }
  if (has("hidden_range"))
    pair_from(device.at("hidden_range"), "hidden_range", s.hidden_low, s.hidden_high);
  if (has("output_diodes")) s.output_diodes = r.get<bool>("output_diodes");
  if (has("input_range"))
    pair_from(device.at("input_range"), "input_range", s.input_low, s.input_high);
  if (has("conductance")) {
    const auto& c = device.at("conductance");
    ConfigReader cr(c, "device.conductance");
    if (c.contains("min")) s.g_min = cr.get<double>("min");
    if (c.contains("max")) s.g_max = cr.get<double>("max");
    if (c.contains("init")) pair_from(c.at("init"), "conductance.init", s.init_low, s.init_high);
  }
  if (has("compliance")) {
    const auto& c = device.at("compliance");
    ConfigReader cr(c, "device.compliance");
    if (c.contains("weights")) s.weight_compliance = cr.get<std::vector<double>>("weights");
    if (c.contains("biases")) s.bias_compliance = cr.get<std::vector<double>>("biases");
  }
  if (has("nudge_limit")) s.nudge_limit = r.get<double>("nudge_limit");
  if (has("parameters"))
    s.settable = r.one_of("parameters", {"relaxing", "settable"}) == "settable";
  if (has("pots")) {
    const auto& p = device.at("pots");
    ConfigReader pr(p, "device.pots");
    if (p.contains("taps")) s.taps = pr.get<std::size_t>("taps");
    if (p.contains("tolerance")) s.tolerance = pr.get<double>("tolerance");
  }
  if (has("parameter_steps")) s.parameter_steps = r.get<std::size_t>("parameter_steps");
  if (has("max_rounds")) s.max_rounds = r.get<std::size_t>("max_rounds");
  if (has("noise")) {
    const auto& n = device.at("noise");
    ConfigReader nr(n, "device.noise");
    if (n.contains("outputs")) s.output_noise = nr.get<double>("outputs");
    if (n.contains("probes")) s.probe_noise = nr.get<double>("probes");
  }
  if (has("settle_seconds")) s.settle_seconds = r.get<double>("settle_seconds");
  if (has("solver")) {
    const auto& v = device.at("solver");
    ConfigReader vr(v, "device.solver");
    if (v.contains("tolerance")) s.solver_tolerance = vr.get<double>("tolerance");
    if (v.contains("max_iterations"))
      s.solver_max_iterations = vr.get<std::size_t>("max_iterations");
  }
  if (has("replicas")) s.replicas = r.get<std::size_t>("replicas");
  if (has("seed")) s.seed = r.seed("seed");
  s.validate();
  return s;
}

CircuitLayout layered_circuit(const CircuitSpec& s) {
  s.validate();
  CircuitLayout out;
  Circuit& c = out.circuit;
  c.title = s.name();
  std::size_t diode_model = 0;
  if (!s.ideal_diodes || s.edges() > 1 || s.output_diodes) {
    c.models.push_back({"dbound", s.ideal_diodes, s.saturation_current, s.emission});
  }
  // Sources first, so a netlist reads top-down: inputs, then the bias rails.
  std::vector<std::vector<std::size_t>> layer_nodes(s.layers.size());
  for (std::size_t i = 0; i < s.layers[0]; ++i) {
    const std::string tag = std::to_string(i + 1);
    if (s.input_pairs) {
      const auto p = c.node("inp" + tag), n = c.node("inn" + tag);
      out.input_plus.push_back(c.add(ElementKind::voltage_source, "Vinp" + tag, p, 0, 0.0));
      out.input_minus.push_back(c.add(ElementKind::voltage_source, "Vinn" + tag, n, 0, 0.0));
      layer_nodes[0].push_back(p);
      layer_nodes[0].push_back(n);
    } else {
      const auto p = c.node("in" + tag);
      out.input_plus.push_back(c.add(ElementKind::voltage_source, "Vin" + tag, p, 0, 0.0));
      layer_nodes[0].push_back(p);
    }
  }
  std::size_t rail_high = 0, rail_low = 0, bias_plus = 0, bias_minus = 0;
  if (!c.models.empty()) {
    rail_high = c.node("vhigh");
    rail_low = c.node("vlow");
    c.add(ElementKind::voltage_source, "Vhigh", rail_high, 0, s.hidden_high);
    c.add(ElementKind::voltage_source, "Vlow", rail_low, 0, s.hidden_low);
  }
  if (s.biases) {
    bias_plus = c.node("vbp");
    bias_minus = c.node("vbn");
    c.add(ElementKind::voltage_source, "Vbp", bias_plus, 0, s.bias_voltage);
    c.add(ElementKind::voltage_source, "Vbn", bias_minus, 0, -s.bias_voltage);
  }
  const std::size_t last = s.layers.size() - 1;
  for (std::size_t l = 1; l <= last; ++l) {
    for (std::size_t j = 0; j < s.layers[l]; ++j) {
      const std::string tag = std::to_string(j + 1);
      if (l == last) {
        if (s.output_pairs) {
          const auto p = c.node("outp" + tag), n = c.node("outn" + tag);
          out.output_plus.push_back(p);
          out.output_minus.push_back(n);
          layer_nodes[l].push_back(p);
          layer_nodes[l].push_back(n);
        } else {
          const auto p = c.node("out" + tag);
          out.output_plus.push_back(p);
          out.output_minus.push_back(0);
          layer_nodes[l].push_back(p);
        }
      } else {
        layer_nodes[l].push_back(c.node(fmt::format("h{}_{}", l, tag)));
      }
    }
  }
  std::mt19937_64 rng(s.seed);
  std::uniform_real_distribution<double> init(s.init_low, s.init_high);
  // Trainable conductances: every node of one layer to every node of the next, then biases.
  for (std::size_t l = 1; l <= last; ++l) {
    const std::size_t first = c.elements.size();
    for (std::size_t i = 0; i < layer_nodes[l - 1].size(); ++i)
      for (std::size_t j = 0; j < layer_nodes[l].size(); ++j)
        out.parameters.push_back(c.add(ElementKind::resistor,
                                       fmt::format("RW{}_{}_{}", l, i + 1, j + 1),
                                       layer_nodes[l - 1][i], layer_nodes[l][j], init(rng)));
    out.group_names.push_back(fmt::format("W{}", l));
    out.group_sizes.push_back(c.elements.size() - first);
    out.group_compliance.push_back(s.weight_compliance[l - 1]);
  }
  if (s.biases) {
    for (std::size_t l = 1; l <= last; ++l) {
      const std::size_t first = c.elements.size();
      for (std::size_t j = 0; j < layer_nodes[l].size(); ++j) {
        const auto node = layer_nodes[l][j];
        out.parameters.push_back(c.add(ElementKind::resistor, fmt::format("RB{}_{}p", l, j + 1),
                                       node, bias_plus, init(rng)));
        out.parameters.push_back(c.add(ElementKind::resistor, fmt::format("RB{}_{}n", l, j + 1),
                                       node, bias_minus, init(rng)));
      }
      out.group_names.push_back(fmt::format("B{}", l));
      out.group_sizes.push_back(c.elements.size() - first);
      out.group_compliance.push_back(s.bias_compliance[l - 1]);
    }
  }
  // The nonlinearity: each bounded node sits between two diodes, one to each rail, so it stays
  // within [low, high] (exactly for ideal diodes, up to a forward drop for Shockley ones).
  for (std::size_t l = 1; l <= last; ++l) {
    if (l == last && !s.output_diodes) continue;
    for (std::size_t j = 0; j < layer_nodes[l].size(); ++j) {
      const auto node = layer_nodes[l][j];
      const std::string name = c.nodes[node];
      c.add(ElementKind::diode, "Dup_" + name, node, rail_high, 0.0, diode_model);
      c.add(ElementKind::diode, "Ddn_" + name, rail_low, node, 0.0, diode_model);
    }
  }
  return out;
}

}  // namespace aeqlab::sim
