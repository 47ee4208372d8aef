#include "core/device_record.hpp"

namespace aeqlab {

nlohmann::json describe_json(const Device& device) {
  const auto& d = device.describe();
  auto group = [](const ChannelGroup& g) {
    return nlohmann::json{{"name", g.name},
                          {"count", g.count},
                          {"unit", g.unit},
                          {"safe", {g.safe.low, g.safe.high}},
                          {"safe_value", g.safe_value}};
  };
  nlohmann::json parameters = nlohmann::json::array(), knobs = nlohmann::json::array();
  for (const auto& p : d.parameters) {
    auto j = group(p.channels);
    j["compliance"] = p.compliance;
    parameters.push_back(j);
  }
  for (const auto& k : d.knobs) knobs.push_back(group(k));
  nlohmann::json instruments = nlohmann::json::array();
  for (const auto& i : device.instruments())
    instruments.push_back({{"name", i.name}, {"identity", i.identity}, {"address", i.address}});
  const auto& c = d.capabilities;
  nlohmann::json description = {{"model", d.model},
                                {"replicas", d.replicas},
                                {"inputs", group(d.inputs)},
                                {"outputs", group(d.outputs)},
                                {"nudge", {d.nudge.low, d.nudge.high}},
                                {"parameters", parameters},
                                {"knobs", knobs},
                                {"capabilities",
                                 {{"parameter_readback", c.parameter_readback},
                                  {"native_homeostasis", c.native_homeostasis},
                                  {"adjustable_compliance", c.adjustable_compliance},
                                  {"settable_parameters", c.settable_parameters},
                                  {"local_probes", c.local_probes},
                                  {"snapshot", c.snapshot}}},
                                {"instruments", instruments}};
  if (c.local_probes)
    description["probes"] = {
        {"unit", d.probes.unit},
        {"law", d.probes.law == ProbeLaw::half_square ? "half_square" : "identity"}};
  return description;
}

}  // namespace aeqlab
