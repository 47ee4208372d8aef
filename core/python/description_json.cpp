#include "core/python/description_json.hpp"

#include <cmath>

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"

namespace aeqlab::python {

namespace {

// Reads keys of one object, each error naming the device and the key's path.
class Reader {
 public:
  Reader(const nlohmann::json& j, std::string who, std::string path)
      : j_(j), who_(std::move(who)), path_(std::move(path)) {
    if (!j_.is_object()) fail(path_, "expected a dict, got " + j_.dump());
  }

  [[noreturn]] void fail(const std::string& key, const std::string& why) const {
    throw DeviceError(fmt::format("{}: describe(): {}: {}", who_, key, why));
  }
  std::string key(const std::string& k) const { return path_.empty() ? k : path_ + "." + k; }
  bool has(const std::string& k) const { return j_.contains(k) && !j_.at(k).is_null(); }
  const nlohmann::json& at(const std::string& k) const {
    if (!has(k)) fail(key(k), "missing");
    return j_.at(k);
  }
  std::string text(const std::string& k, const std::string& fallback) const {
    if (!has(k)) return fallback;
    if (!j_.at(k).is_string()) fail(key(k), "expected a string, got " + j_.at(k).dump());
    return j_.at(k).get<std::string>();
  }
  std::size_t count(const std::string& k, std::size_t fallback, bool required) const {
    if (!has(k)) {
      if (required) fail(key(k), "missing");
      return fallback;
    }
    const auto& v = j_.at(k);
    if (!v.is_number_unsigned() || v.get<std::size_t>() == 0)
      fail(key(k), "expected a whole number >= 1, got " + v.dump());
    return v.get<std::size_t>();
  }
  double number(const std::string& k, double fallback, bool required) const {
    if (!has(k)) {
      if (required) fail(key(k), "missing");
      return fallback;
    }
    const auto& v = j_.at(k);
    if (!v.is_number() || !std::isfinite(v.get<double>()))
      fail(key(k), "expected a finite number, got " + v.dump());
    return v.get<double>();
  }
  SafeRange range(const std::string& k) const {
    const auto& v = at(k);
    if (!v.is_array() || v.size() != 2 || !v[0].is_number() || !v[1].is_number())
      fail(key(k), "expected [low, high], got " + v.dump());
    const SafeRange r{v[0].get<double>(), v[1].get<double>()};
    if (!std::isfinite(r.low) || !std::isfinite(r.high) || r.low > r.high)
      fail(key(k), "expected finite low <= high, got " + v.dump());
    return r;
  }
  bool flag(const std::string& k) const {
    if (!has(k)) return false;
    if (!j_.at(k).is_boolean()) fail(key(k), "expected True or False, got " + j_.at(k).dump());
    return j_.at(k).get<bool>();
  }

 private:
  const nlohmann::json& j_;
  std::string who_, path_;
};

ChannelGroup group_from(const nlohmann::json& j, const std::string& who, const std::string& path,
                        const std::string& default_name) {
  const Reader r(j, who, path);
  ChannelGroup g;
  g.name = r.text("name", default_name);
  g.count = r.count("count", 0, true);
  g.unit = r.text("unit", "");
  g.safe = r.range("safe");
  g.safe_value = r.number("safe_value", g.safe.low, false);
  if (!g.safe.contains(g.safe_value))
    r.fail(r.key("safe_value"),
           fmt::format("{} lies outside safe [{}, {}]", g.safe_value, g.safe.low, g.safe.high));
  return g;
}

}  // namespace

DeviceDescription description_from_json(const nlohmann::json& j, const std::string& who) {
  const Reader r(j, who, "");
  DeviceDescription d;
  d.model = r.text("model", who);
  d.replicas = r.count("replicas", 1, false);
  d.inputs = group_from(r.at("inputs"), who, "inputs", "in");
  d.outputs = group_from(r.at("outputs"), who, "outputs", "out");
  d.nudge = r.has("nudge") ? r.range("nudge") : SafeRange{0.0, 1.0};
  const auto& params = r.has("parameters") ? r.at("parameters") : nlohmann::json::array();
  if (!params.is_array()) r.fail("parameters", "expected a list of groups");
  for (std::size_t i = 0; i < params.size(); ++i) {
    const std::string path = fmt::format("parameters[{}]", i);
    ParameterGroup p;
    p.channels = group_from(params[i], who, path, fmt::format("theta{}", i));
    p.compliance = Reader(params[i], who, path).number("compliance", 0.0, false);
    if (p.compliance < 0) r.fail(path + ".compliance", "must be >= 0");
    d.parameters.push_back(p);
  }
  const auto& knobs = r.has("knobs") ? r.at("knobs") : nlohmann::json::array();
  if (!knobs.is_array()) r.fail("knobs", "expected a list of groups");
  for (std::size_t i = 0; i < knobs.size(); ++i)
    d.knobs.push_back(
        group_from(knobs[i], who, fmt::format("knobs[{}]", i), fmt::format("u{}", i)));
  // knobs[k] drives parameters[k] (core/device_description.hpp).
  if (!d.knobs.empty()) {
    if (d.knobs.size() != d.parameters.size())
      r.fail("knobs", fmt::format("{} groups for {} parameter groups (knobs[k] drives "
                                  "parameters[k]; give none when parameters are set directly)",
                                  d.knobs.size(), d.parameters.size()));
    for (std::size_t k = 0; k < d.knobs.size(); ++k)
      if (d.knobs[k].count != d.parameters[k].channels.count)
        r.fail(fmt::format("knobs[{}].count", k),
               fmt::format("{}, but parameters[{}] has {}", d.knobs[k].count, k,
                           d.parameters[k].channels.count));
  }
  if (r.has("capabilities")) {
    const Reader c(r.at("capabilities"), who, "capabilities");
    static const char* const known[] = {"parameter_readback",    "native_homeostasis",
                                        "adjustable_compliance", "settable_parameters",
                                        "local_probes",          "snapshot"};
    for (const auto& [k, v] : r.at("capabilities").items()) {
      bool found = false;
      for (const char* name : known) found = found || k == name;
      if (!found)
        c.fail(c.key(k),
               "not a capability (known: parameter_readback, native_homeostasis, "
               "adjustable_compliance, settable_parameters, local_probes, snapshot)");
      (void)v;
    }
    auto& caps = d.capabilities;
    caps.parameter_readback = c.flag("parameter_readback");
    caps.native_homeostasis = c.flag("native_homeostasis");
    caps.adjustable_compliance = c.flag("adjustable_compliance");
    caps.settable_parameters = c.flag("settable_parameters");
    caps.local_probes = c.flag("local_probes");
    caps.snapshot = c.flag("snapshot");
  }
  if (d.capabilities.local_probes) {
    // Held here: a Reader keeps a reference to what it reads.
    const nlohmann::json probes = r.has("probes") ? r.at("probes") : nlohmann::json::object();
    const Reader p(probes, who, "probes");
    d.probes.unit = p.text("unit", "");
    const auto law = p.text("law", "identity");
    if (law == "identity")
      d.probes.law = ProbeLaw::identity;
    else if (law == "half_square")
      d.probes.law = ProbeLaw::half_square;
    else
      p.fail("probes.law", "\"" + law + "\" is not a probe law (known: identity, half_square)");
  }
  return d;
}

}  // namespace aeqlab::python
