#include "sim/hopfield/hopfield_spec.hpp"

#include <cmath>

#include <spdlog/fmt/fmt.h>
#include <spdlog/fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/layer_compliances.hpp"

namespace aeqlab::sim {

std::string HopfieldSpec::name() const {
  return fmt::format("hopfield {}", fmt::join(layers, "-"));
}

void HopfieldSpec::validate() const {
  auto fail = [](const std::string& key, const std::string& why) {
    throw ConfigError(fmt::format("device.{}: {}", key, why));
  };
  if (layers.size() < 2) fail("layers", "needs at least an input and an output layer");
  for (auto n : layers)
    if (n == 0) fail("layers", "every layer needs at least one unit");
  const std::size_t e = layers.size() - 1;
  if (intervals.size() != e)
    fail("intervals", fmt::format("needs one [low, high] per non-input layer ({}), got {}", e,
                                  intervals.size()));
  // Physical settings within stated ranges (docs/config-reference.md, "Physical ranges"): far
  // beyond any useful network, well inside what float32 holds through a relaxation.
  for (const auto& iv : intervals) {
    require_range("device.intervals", iv.low, -1e6, 1e6, "");
    require_range("device.intervals", iv.high, -1e6, 1e6, "");
    if (!(iv.low < iv.high)) fail("intervals", "each interval needs low < high");
  }
  for (const double g : gains) require_range("device.gains", g, 1e-12, 1e6, "");
  require_range("device.threshold", threshold, 1e-15, 1e3, "");
  require_range("device.input_range", input_range.low, -1e6, 1e6, "");
  require_range("device.input_range", input_range.high, -1e6, 1e6, "");
  require_range("device.parameter_limit", parameter_limit, 1e-12, 1e6, "");
  if (gains.size() != e) fail("gains", fmt::format("needs one gain per edge ({})", e));
  require_layer_compliances(weight_compliance, bias_compliance, e);
  if (!(threshold > 0)) fail("threshold", "must be > 0");
  if (max_iterations == 0) fail("max_iterations", "must be >= 1");
  if (replicas == 0) fail("replicas", "must be >= 1");
  if (threads > 64) fail("threads", "must be \"auto\" or between 1 and 64");
  if (!(input_range.low < input_range.high)) fail("input_range", "needs low < high");
  if (!(input_range.low <= 0.0 && 0.0 <= input_range.high))
    fail("input_range", "must contain 0, the inputs' safe value");
  if (!(parameter_limit > 0)) fail("parameter_limit", "must be > 0");
  for (std::size_t k = 0; k < gains.size(); ++k) {
    // The initial weights must lie inside the safe range they will later be checked against.
    const double scale = gains[k] * 0.5 * std::sqrt(6.0 / double(layers[k] + layers[k + 1]));
    if (!(gains[k] > 0)) fail("gains", "each gain must be > 0");
    if (scale > parameter_limit)
      fail("parameter_limit", fmt::format("{} is below the initial weight bound {} of W{}",
                                          parameter_limit, scale, k));
  }
}

static Interval interval_from(const nlohmann::json& j, const std::string& key) {
  if (!j.is_array() || j.size() != 2 || !j[0].is_number() || !j[1].is_number())
    throw ConfigError(fmt::format("device.{}: expected [low, high], got {}", key, j.dump()));
  return {j[0].get<double>(), j[1].get<double>()};
}

HopfieldSpec hopfield_spec_from_json(const nlohmann::json& device) {
  HopfieldSpec s;
  nlohmann::json schema = hopfield_spec_to_json(s);
  schema["threads"] = nullptr;  // "auto" or a count: checked below
  require_known_keys(device, schema, "device");
  const auto at = [&](const char* k) -> const nlohmann::json& { return device.at(k); };
  ConfigReader r(device, "device");
  if (device.contains("layers")) s.layers = r.get<std::vector<std::size_t>>("layers");
  if (device.contains("intervals")) {
    s.intervals.clear();
    if (!at("intervals").is_array()) throw ConfigError("device.intervals: expected a list");
    for (const auto& iv : at("intervals")) s.intervals.push_back(interval_from(iv, "intervals"));
  }
  if (device.contains("gains")) s.gains = r.get<std::vector<double>>("gains");
  if (device.contains("compliance")) {
    ConfigReader c(at("compliance"), "device.compliance");
    if (at("compliance").contains("weights"))
      s.weight_compliance = c.get<std::vector<double>>("weights");
    if (at("compliance").contains("biases"))
      s.bias_compliance = c.get<std::vector<double>>("biases");
  }
  if (device.contains("threshold")) s.threshold = r.get<double>("threshold");
  if (device.contains("max_iterations")) s.max_iterations = r.get<std::size_t>("max_iterations");
  if (device.contains("parameter_sweeps"))
    s.parameter_sweeps = r.get<std::size_t>("parameter_sweeps");
  if (device.contains("threads")) {
    if (at("threads").is_string()) {
      if (at("threads").get<std::string>() != "auto")
        throw ConfigError("device.threads: expected \"auto\" or a count from 1 to 64, got " +
                          at("threads").dump());
      s.threads = 0;
    } else {
      s.threads = r.get<std::size_t>("threads");
      if (s.threads == 0)
        throw ConfigError("device.threads: must be \"auto\" or between 1 and 64, got 0");
    }
  }
  if (device.contains("sparse_inputs")) s.sparse_inputs = r.get<bool>("sparse_inputs");
  if (device.contains("replicas")) s.replicas = r.get<std::size_t>("replicas");
  if (device.contains("seed")) s.seed = r.seed("seed");
  if (device.contains("precision")) {
    const auto p = r.get<std::string>("precision");
    if (p != "float32" && p != "float64")
      throw ConfigError("device.precision: expected \"float32\" or \"float64\", got \"" + p + "\"");
    s.double_precision = p == "float64";
  }
  if (device.contains("input_range"))
    s.input_range = interval_from(at("input_range"), "input_range");
  if (device.contains("parameter_limit")) s.parameter_limit = r.get<double>("parameter_limit");
  s.validate();
  return s;
}

nlohmann::json hopfield_spec_to_json(const HopfieldSpec& s) {
  nlohmann::json intervals = nlohmann::json::array();
  for (const auto& iv : s.intervals) intervals.push_back({iv.low, iv.high});
  return {{"type", "hopfield"},
          {"layers", s.layers},
          {"intervals", intervals},
          {"gains", s.gains},
          {"compliance", {{"weights", s.weight_compliance}, {"biases", s.bias_compliance}}},
          {"threshold", s.threshold},
          {"max_iterations", s.max_iterations},
          {"parameter_sweeps", s.parameter_sweeps},
          {"replicas", s.replicas},
          {"seed", s.seed},
          {"precision", s.double_precision ? "float64" : "float32"},
          {"threads", s.threads ? nlohmann::json(s.threads) : nlohmann::json("auto")},
          {"sparse_inputs", s.sparse_inputs},
          {"input_range", {s.input_range.low, s.input_range.high}},
          {"parameter_limit", s.parameter_limit}};
}

}  // namespace aeqlab::sim
