#include "instruments/bench_layout.hpp"

#include <algorithm>
#include <stdexcept>

#include <spdlog/fmt/fmt.h>

namespace aeqlab::instruments {

namespace {

constexpr const char* kAddress = "tcp://127.0.0.1:0";

InstrumentConfig instrument(const std::string& name, const std::string& profile) {
  InstrumentConfig c;
  c.name = name;
  c.profile = profile;
  c.address = kAddress;
  return c;
}

std::vector<int> channels(int first, std::size_t count) {
  std::vector<int> out(count);
  for (std::size_t i = 0; i < count; ++i) out[i] = first + static_cast<int>(i);
  return out;
}

ChannelRole role_on(const ChannelGroup& group, const std::string& instrument, int first) {
  ChannelRole r;
  r.group = group;
  r.map.push_back({instrument, channels(first, group.count)});
  return r;
}

// Lays groups back to back over instruments "<prefix>_1", "<prefix>_2", ... of `per` channels:
// a group may start on one instrument and end on the next.
std::vector<ChannelRole> chunked(const std::vector<ChannelGroup>& groups, const std::string& prefix,
                                 const std::string& profile, std::size_t per,
                                 std::vector<InstrumentConfig>& instruments) {
  std::vector<ChannelRole> roles;
  std::size_t used = per;  // channels taken on the current instrument; full forces a new one
  std::size_t number = 0;
  for (const auto& g : groups) {
    ChannelRole r;
    r.group = g;
    std::size_t left = g.count;
    while (left > 0) {
      if (used == per) {
        instruments.push_back(instrument(fmt::format("{}_{}", prefix, ++number), profile));
        used = 0;
      }
      const std::size_t take = std::min(left, per - used);
      r.map.push_back({instruments.back().name, channels(static_cast<int>(used) + 1, take)});
      used += take;
      left -= take;
    }
    roles.push_back(std::move(r));
  }
  return roles;
}

}  // namespace

BenchConfig virtual_bench_layout(const DeviceDescription& d, std::size_t channels_per_instrument,
                                 bool settable_parameters) {
  if (channels_per_instrument == 0 || channels_per_instrument > 1u << 30)
    throw std::invalid_argument(
        fmt::format("virtual_bench_layout: {} channels per instrument", channels_per_instrument));
  BenchConfig b;
  b.name = d.model + " (virtual bench)";
  const std::size_t n_out = d.outputs.count;

  b.instruments.push_back(instrument("dac_inputs", "aeqlab-vdac"));
  b.inputs = role_on(d.inputs, "dac_inputs", 1);

  b.instruments.push_back(instrument("dac_nudge", "aeqlab-vdac"));
  ChannelGroup targets = d.outputs;
  targets.name = d.outputs.name + "_target";
  b.nudge_targets = role_on(targets, "dac_nudge", 1);
  const ChannelGroup beta{"beta", 1, "a.u.", d.nudge, 0.0};
  b.nudge_strength = role_on(beta, "dac_nudge", static_cast<int>(n_out) + 1);

  b.instruments.push_back(instrument("adc_outputs", "aeqlab-vadc"));
  b.outputs = role_on(d.outputs, "adc_outputs", 1);

  const std::size_t per = channels_per_instrument;
  b.knobs = chunked(d.knobs, "dac_knobs", "aeqlab-vdac", per, b.instruments);
  std::vector<ChannelGroup> parameter_groups;
  for (const auto& p : d.parameters) parameter_groups.push_back(p.channels);
  b.parameters = chunked(parameter_groups, "adc_parameters", "aeqlab-vadc", per, b.instruments);
  for (std::size_t k = 0; k < d.parameters.size(); ++k)
    b.parameters[k].compliance = d.parameters[k].compliance;

  const bool homeostasis = d.capabilities.native_homeostasis;
  const bool compliance = d.capabilities.adjustable_compliance && !d.parameters.empty();
  // The homeostat switch changes with the nudge in every phase, so it sits on the nudge DAC:
  // one instrument, one message per phase, where a separate DAC would cost a second one.
  if (homeostasis)
    b.homeostat =
        role_on({"homeostat", 1, "", {0.0, 1.0}, 0.0}, "dac_nudge", static_cast<int>(n_out) + 2);
  if (compliance) {
    b.instruments.push_back(instrument("dac_control", "aeqlab-vdac"));
    double largest = 0.0, smallest = d.parameters.front().compliance;
    for (const auto& p : d.parameters) {
      largest = std::max(largest, p.compliance);
      smallest = std::min(smallest, p.compliance);
    }
    // Room for schedules that raise a compliance; the safe value is the gentlest declared
    // learning rate (0 would freeze the parameters to the knobs, hardly a neutral state).
    const ChannelGroup g{
        "compliance", d.parameters.size(), "", {0.0, std::max(1.0, 10 * largest)}, smallest};
    b.compliance = role_on(g, "dac_control", 1);
  }

  if (settable_parameters) {
    if (!d.capabilities.settable_parameters)
      throw std::invalid_argument(
          fmt::format("virtual_bench_layout: {} cannot set its parameters directly", d.model));
    b.parameter_setpoints =
        chunked(parameter_groups, "vres_parameters", "aeqlab-vres", per, b.instruments);
  }

  // Knobs, compliances and set parameters hold the trained state: safe state leaves them alone
  // (inputs and nudging go to 0, the homeostat lets go).
  for (auto& k : b.knobs) k.hold_at_safe_state = true;
  for (auto& p : b.parameter_setpoints) p.hold_at_safe_state = true;
  if (b.compliance) b.compliance->hold_at_safe_state = true;

  b.settle.wait_s = 0.0;
  b.settle.stable_reads = 2;
  b.settle.tolerance = 1e-9;
  return b;
}

}  // namespace aeqlab::instruments
