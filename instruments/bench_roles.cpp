#include "instruments/bench_roles.hpp"

#include <algorithm>
#include <stdexcept>
#include <type_traits>

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"

namespace aeqlab::instruments {

namespace {

// The contract slots: the groups a bench for a device gives each role.

std::vector<ChannelGroup> inputs_of(const DeviceDescription& d) {
  return {d.inputs};
}

std::vector<ChannelGroup> outputs_of(const DeviceDescription& d) {
  return {d.outputs};
}

std::vector<ChannelGroup> targets_of(const DeviceDescription& d) {
  ChannelGroup g = d.outputs;
  g.name = d.outputs.name + "_target";
  return {g};
}

std::vector<ChannelGroup> beta_of(const DeviceDescription& d) {
  return {{"beta", 1, "a.u.", d.nudge, 0.0}};
}

std::vector<ChannelGroup> knobs_of(const DeviceDescription& d) {
  return d.knobs;
}

std::vector<ChannelGroup> parameters_of(const DeviceDescription& d) {
  std::vector<ChannelGroup> groups;
  for (const auto& p : d.parameters) groups.push_back(p.channels);
  return groups;
}

std::vector<ChannelGroup> setpoints_of(const DeviceDescription& d) {
  return d.capabilities.settable_parameters ? parameters_of(d) : std::vector<ChannelGroup>{};
}

std::vector<ChannelGroup> homeostat_of(const DeviceDescription& d) {
  if (!d.capabilities.native_homeostasis) return {};
  return {{"homeostat", 1, "", {0.0, 1.0}, 0.0}};
}

std::vector<ChannelGroup> compliance_of(const DeviceDescription& d) {
  if (!d.capabilities.adjustable_compliance || d.parameters.empty()) return {};
  double largest = 0.0, smallest = d.parameters.front().compliance;
  for (const auto& p : d.parameters) {
    largest = std::max(largest, p.compliance);
    smallest = std::min(smallest, p.compliance);
  }
  // Room for schedules that raise a compliance; the safe value is the gentlest declared learning
  // rate (0 would freeze the parameters to the knobs, hardly a neutral state).
  return {{"compliance", d.parameters.size(), "", {0.0, std::max(1.0, 10 * largest)}, smallest}};
}

// A probe per element, in the parameter groups' shape. Its range is the widest voltage across an
// element the outputs' range allows (a passive network's node voltages lie within it).
std::vector<ChannelGroup> probes_of(const DeviceDescription& d) {
  if (!d.capabilities.local_probes) return {};
  const double width = d.outputs.safe.high - d.outputs.safe.low;
  std::vector<ChannelGroup> groups;
  for (const auto& p : d.parameters)
    groups.push_back(
        {"p_" + p.channels.name, p.channels.count, d.probes.unit, {-width, width}, 0.0});
  return groups;
}

// The node form needs the circuit's layer description, which a description does not carry: a
// virtual layout gives a channel per element instead (channels.probes).
std::vector<ChannelGroup> probe_nodes_of(const DeviceDescription&) {
  return {};
}

// The compliance channel must be able to hold every compliance the parameters declare.
void compliances_in_range(const BenchConfig& b, const std::string& where) {
  for (std::size_t k = 0; k < b.parameters.size(); ++k)
    if (!b.compliance->group.safe.contains(b.parameters[k].compliance))
      throw ConfigError(fmt::format(
          "{}.parameters[{}].compliance: {} lies outside the compliance channel's safe range",
          where, k, b.parameters[k].compliance));
}

using R = BenchRole;
using D = RoleDirection;
using C = RoleCount;

// The order is the order of staged writes on the wire and of the channel map's checks: keep it.
const BenchRoleRow kRoles[] = {
    {.role = R::inputs,
     .key = "inputs",
     .field = &BenchConfig::inputs,
     .required = true,
     .default_name = "x",
     .for_device = inputs_of,
     .device_unit = "inputs",
     .layout_instrument = "dac_inputs"},
    {.role = R::outputs,
     .key = "outputs",
     .field = &BenchConfig::outputs,
     .direction = D::measured,
     .required = true,
     .default_name = "y",
     .for_device = outputs_of,
     .device_unit = "outputs",
     .layout_instrument = "adc_outputs"},
    {.role = R::nudge_targets,
     .group = "nudge",
     .key = "targets",
     .field = &BenchConfig::nudge_targets,
     .required = true,
     .default_name = "target",
     .count = C::per_output,
     .count_why = "there must be one target per output",
     .for_device = targets_of,
     .device_unit = "outputs",
     .layout_instrument = "dac_nudge"},
    {.role = R::nudge_strength,
     .group = "nudge",
     .key = "strength",
     .field = &BenchConfig::nudge_strength,
     .required = true,
     .default_name = "beta",
     .count = C::one,
     .count_why = "beta is one channel",
     .for_device = beta_of,
     .device_unit = "value",
     .layout_instrument = "dac_nudge"},
    {.role = R::knobs,
     .key = "knobs",
     .field = &BenchConfig::knobs,
     .default_name = "knobs",
     .count = C::as_parameters,
     .count_why = "it drives parameters[{0}], which has {1}",
     .groups_why =
         "{0}: {1} knob group(s) for {2} parameter group(s); knobs[k] drives parameters[k]",
     // None on a bench of programmable resistors: its parameters are set, not relaxed.
     .may_be_empty = true,
     .written_when_empty = true,
     .for_device = knobs_of,
     .layout_instrument = "dac_knobs",
     .layout_holds = true},
    {.role = R::parameters,
     .key = "parameters",
     .field = &BenchConfig::parameters,
     .direction = D::measured,
     .default_name = "parameters",
     .at_least_one = "a bench needs parameters to train",
     .with_compliance = true,
     .written_when_empty = true,
     .for_device = parameters_of,
     .layout_instrument = "adc_parameters"},
    {.role = R::parameter_setpoints,
     .key = "parameter_setpoints",
     .field = &BenchConfig::parameter_setpoints,
     .default_name = "parameter_setpoints",
     .count = C::as_parameters,
     .count_why = "parameters[{0}] has {1}",
     .groups_why = "{0}.parameter_setpoints: {1} group(s) for {2} parameter group(s)",
     .may_be_empty = true,
     .capability = &Capabilities::settable_parameters,
     .lacking = "cannot set its parameters",
     .for_device = setpoints_of,
     .layout_instrument = "vres_parameters",
     .layout_on_request = true,
     .layout_holds = true},
    {.role = R::homeostat,
     .key = "homeostat",
     .field = &BenchConfig::homeostat,
     .default_name = "hold",
     .count = C::one,
     .count_why = "the hold switch is one channel",
     .capability = &Capabilities::native_homeostasis,
     .lacking = "has no native homeostasis",
     .for_device = homeostat_of,
     .device_unit = "value",
     // It changes with the nudge in every phase, so it sits on the nudge DAC: one instrument,
     // one message per phase, where a separate DAC would cost a second one.
     .layout_instrument = "dac_nudge"},
    {.role = R::compliance,
     .key = "compliance",
     .field = &BenchConfig::compliance,
     .default_name = "compliance",
     .count = C::per_parameter_group,
     .count_why = "there must be one per parameter group",
     .check = compliances_in_range,
     .capability = &Capabilities::adjustable_compliance,
     .lacking = "has no adjustable compliance",
     .for_device = compliance_of,
     .device_unit = "parameter groups",
     .layout_instrument = "dac_control",
     .layout_holds = true},
    // Measured, so they stage nothing; last, so the parameters they follow are read first.
    {.role = R::probes,
     .key = "probes",
     .field = &BenchConfig::probes,
     .direction = D::measured,
     .default_name = "probes",
     .count = C::as_parameters,
     .count_why = "one probe per element of parameters[{0}], which has {1}",
     .groups_why = "{0}.probes: {1} group(s) for {2} parameter group(s); probes[k] measures "
                   "parameters[k]",
     .may_be_empty = true,
     .capability = &Capabilities::local_probes,
     .lacking = "has no local probes",
     .for_device = probes_of,
     .layout_instrument = "adc_probes",
     .layout_on_request = true},
    {.role = R::probe_nodes,
     .key = "probe_nodes",
     .field = &BenchConfig::probe_nodes,
     .direction = D::measured,
     .default_name = "nodes",
     .capability = &Capabilities::local_probes,
     .lacking = "has no local probes",
     .for_device = probe_nodes_of,
     .device_unit = "nodes",
     .layout_instrument = "adc_probes",
     .layout_on_request = true},
};

}  // namespace

std::span<const BenchRoleRow> bench_roles() {
  return kRoles;
}

const BenchRoleRow& bench_role(BenchRole role) {
  for (const auto& row : kRoles)
    if (row.role == role) return row;
  throw std::logic_error("bench_role: a role without a row");
}

bool is_list(const BenchRoleRow& row) {
  return std::holds_alternative<std::vector<ChannelRole> BenchConfig::*>(row.field);
}

std::vector<const ChannelRole*> groups_of(const BenchConfig& bench, const BenchRoleRow& row) {
  std::vector<const ChannelRole*> out;
  std::visit(
      [&](auto member) {
        const auto& f = bench.*member;
        using F = std::decay_t<decltype(f)>;
        if constexpr (std::is_same_v<F, ChannelRole>) {
          out.push_back(&f);
        } else if constexpr (std::is_same_v<F, std::vector<ChannelRole>>) {
          for (const auto& g : f) out.push_back(&g);
        } else {
          if (f) out.push_back(&*f);
        }
      },
      row.field);
  return out;
}

void set_groups(BenchConfig& bench, const BenchRoleRow& row, std::vector<ChannelRole> groups) {
  std::visit(
      [&](auto member) {
        auto& f = bench.*member;
        using F = std::decay_t<decltype(f)>;
        if constexpr (std::is_same_v<F, std::vector<ChannelRole>>) {
          f = std::move(groups);
        } else {
          if (groups.size() > 1 || (std::is_same_v<F, ChannelRole> && groups.empty()))
            throw std::logic_error(
                fmt::format("set_groups: {} group(s) for {}", groups.size(), row.key));
          if (groups.empty())
            f = F{};
          else
            f = std::move(groups.front());
        }
      },
      row.field);
}

std::string role_label(const BenchRoleRow& row, std::optional<std::size_t> index) {
  std::string label = "channels.";
  if (row.group) label += std::string(row.group) + ".";
  label += row.key;
  if (index) label += fmt::format("[{}]", *index);
  return label;
}

}  // namespace aeqlab::instruments
