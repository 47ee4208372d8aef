#pragma once
// The roles of a bench's channel map, as one table: what each role is called in the bench file,
// whether the bench sets or measures it, where it sits in BenchConfig and in the device contract,
// how many channels it must map, and how the virtual bench lays it out. Reading and writing bench
// files, the bench device, the layout of a simulated device onto virtual instruments and the
// virtual physics all iterate this table, so a new role is one row here (plus its field in
// BenchConfig and the code for what it does in the device). See docs/architecture.md,
// "How to add a bench role".

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/device.hpp"
#include "instruments/bench_config.hpp"

namespace aeqlab::instruments {

enum class BenchRole {
  inputs,
  outputs,
  nudge_targets,
  nudge_strength,
  knobs,
  parameters,
  parameter_setpoints,
  homeostat,
  compliance,
  probes,
  probe_nodes,
};

// Set: the bench writes the channels (a DAC, a switch, a resistor array). Measured: it reads them
// (an ADC, a DMM).
enum class RoleDirection { set, measured };

// How many channels each of the role's groups must map, checked when a bench is read.
enum class RoleCount {
  any,
  one,                  // a single channel (beta, the hold switch)
  per_output,           // one per output (the nudge targets)
  per_parameter_group,  // one per parameter group (compliance)
  as_parameters,        // group k as many as parameter group k (knobs, parameter set-points)
};

// Where a role lives in BenchConfig: exactly one group, a list of groups, or at most one.
using RoleField = std::variant<ChannelRole BenchConfig::*, std::vector<ChannelRole> BenchConfig::*,
                               std::optional<ChannelRole> BenchConfig::*>;

// One row of the table. Rows name only what differs from these defaults.
struct BenchRoleRow {
  BenchRole role{};
  // Its keys in the bench file: channels.<key>, or channels.<group>.<key> when `group` is set.
  const char* group = nullptr;
  const char* key = "";
  RoleField field{};
  RoleDirection direction = RoleDirection::set;
  // A role given exactly once (`field` a single group) whose key may not be missing.
  bool required = false;
  // The group's name when the file gives none; a list appends the group's index ("knobs0").
  const char* default_name = "";

  // Checks when a bench is read. `count_why` ends "maps N channel(s); ..." ({0}: the group's
  // index, {1}: the count expected). For a list: `groups_why` when it does not hold one group
  // per parameter group ({0}: where, {1}: its groups, {2}: parameter groups); nullptr: any number.
  // An empty list is accepted when `may_be_empty`; `at_least_one` refuses it with that reason.
  RoleCount count = RoleCount::any;
  const char* count_why = "";
  const char* groups_why = nullptr;
  bool may_be_empty = false;
  const char* at_least_one = nullptr;
  bool with_compliance = false;  // its groups carry "compliance" (a parameter group's coupling)
  // Written back (bench_to_json) as an empty list when the bench has no group of it.
  bool written_when_empty = false;
  // A check across roles after every count holds (nullptr: none); `where` is "<file>.channels".
  void (*check)(const BenchConfig& bench, const std::string& where) = nullptr;

  // The contract slot. The capability the bench device declares when the bench has the role, that
  // the virtual physics requires of the device it serves (nullptr: none), and how the physics
  // says it lacks it.
  bool Capabilities::*capability = nullptr;
  const char* lacking = "";
  // The groups a bench for `device` gives the role: what the virtual bench lays out, and what the
  // virtual physics checks a bench's counts against. Empty when the device lacks the capability.
  std::vector<ChannelGroup> (*for_device)(const DeviceDescription& device) = nullptr;
  // For the virtual physics' count messages on a single role: "has 3 <unit>".
  const char* device_unit = "";

  // The virtual bench layout (instruments/bench_layout.cpp): the instrument it is laid on (roles
  // sharing one are laid back to back in table order; a chunked one is the prefix of
  // "<prefix>_1", "<prefix>_2", ...), whether it is laid only when asked for, and whether safe
  // state leaves its channels alone (they hold the trained state).
  const char* layout_instrument = "";
  bool layout_on_request = false;
  bool layout_holds = false;
};

// Every role, in the order the bench device stages its writes and the virtual bench maps its
// channels.
std::span<const BenchRoleRow> bench_roles();
const BenchRoleRow& bench_role(BenchRole role);

// Whether the role holds a list of groups.
bool is_list(const BenchRoleRow& row);
// The role's groups on a bench: none, one, or a list.
std::vector<const ChannelRole*> groups_of(const BenchConfig& bench, const BenchRoleRow& row);
// Sets the role's groups (exactly one for a single role; at most one for an optional one).
void set_groups(BenchConfig& bench, const BenchRoleRow& row, std::vector<ChannelRole> groups);
// "channels.inputs", "channels.nudge.targets"; a list: "channels.knobs", or with `index`
// "channels.knobs[1]".
std::string role_label(const BenchRoleRow& row, std::optional<std::size_t> index = std::nullopt);

}  // namespace aeqlab::instruments
