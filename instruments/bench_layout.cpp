#include "instruments/bench_layout.hpp"

#include <algorithm>
#include <stdexcept>

#include <spdlog/fmt/fmt.h>

#include "instruments/bench_roles.hpp"

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

// The virtual instruments of the layout, in the order the bench lists them. Each role names the
// one it is laid on (its row in instruments/bench_roles.cpp): roles sharing an instrument are laid
// back to back in table order; a chunked instrument repeats as "<name>_1", "<name>_2", ... of
// `channels_per_instrument` channels, its groups running on from one to the next.
struct VirtualInstrument {
  const char* name;
  const char* profile;
  bool chunked;
};
const VirtualInstrument kInstruments[] = {
    {"dac_inputs", "aeqlab-vdac", false},     {"dac_nudge", "aeqlab-vdac", false},
    {"adc_outputs", "aeqlab-vadc", false},    {"dac_knobs", "aeqlab-vdac", true},
    {"adc_parameters", "aeqlab-vadc", true},  {"dac_control", "aeqlab-vdac", false},
    {"vres_parameters", "aeqlab-vres", true}, {"adc_probes", "aeqlab-vadc", true},
};

// Lays groups back to back over instruments "<prefix>_1", "<prefix>_2", ... of `per` channels:
// a group may start on one instrument and end on the next. `used` is the channels taken on the
// present instrument (`per` forces a new one).
std::vector<ChannelRole> chunked(const std::vector<ChannelGroup>& groups, const std::string& prefix,
                                 const std::string& profile, std::size_t per, std::size_t& used,
                                 std::size_t& number, std::vector<InstrumentConfig>& instruments) {
  std::vector<ChannelRole> roles;
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

  // Each role's groups for this device: none when the device lacks the role's capability, or
  // when the role is laid out only on request (parameter set-points) and was not asked for.
  const auto rows = bench_roles();
  std::vector<std::vector<ChannelGroup>> groups(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    if (row.layout_on_request) {
      if (!settable_parameters) continue;
      // Set-points asked for must be possible; probes are laid where the device has them.
      if (row.capability && !(d.capabilities.*row.capability)) {
        if (row.direction == RoleDirection::measured) continue;
        throw std::invalid_argument(
            fmt::format("virtual_bench_layout: {} {}", d.model, row.lacking));
      }
    }
    groups[i] = row.for_device(d);
  }

  std::vector<std::vector<ChannelRole>> laid(rows.size());
  for (const auto& vi : kInstruments) {
    std::size_t used = channels_per_instrument, number = 0;  // chunked instruments
    std::size_t next = 1;                                    // the others
    bool listed = false;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (std::string(rows[i].layout_instrument) != vi.name || groups[i].empty()) continue;
      if (vi.chunked) {
        laid[i] = chunked(groups[i], vi.name, vi.profile, channels_per_instrument, used, number,
                          b.instruments);
        continue;
      }
      if (!listed) b.instruments.push_back(instrument(vi.name, vi.profile));
      listed = true;
      for (const auto& g : groups[i]) {
        laid[i].push_back(role_on(g, vi.name, static_cast<int>(next)));
        next += g.count;
      }
    }
  }

  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    if (row.with_compliance)
      for (std::size_t k = 0; k < laid[i].size(); ++k)
        laid[i][k].compliance = d.parameters[k].compliance;
    // Knobs, compliances and set parameters hold the trained state: safe state leaves them alone
    // (inputs and nudging go to 0, the homeostat lets go).
    if (row.layout_holds)
      for (auto& r : laid[i]) r.hold_at_safe_state = true;
    set_groups(b, row, std::move(laid[i]));
  }

  if (!b.probes.empty()) b.probe_map = ProbeMap{d.probes.law, d.probes.unit, {}, {}, 0};
  if (settable_parameters && d.knobs.empty()) {
    // Programmable resistors with nothing to relax them: the parameters are the set-points, read
    // back from the array, and need no ADC of their own.
    b.parameters = b.parameter_setpoints;
    b.parameters_from_setpoints = true;
    std::erase_if(b.instruments,
                  [](const InstrumentConfig& i) { return i.name.rfind("adc_parameters", 0) == 0; });
  }
  b.settle.wait_s = 0.0;
  b.settle.stable_reads = 2;
  b.settle.tolerance = 1e-9;
  return b;
}

}  // namespace aeqlab::instruments
