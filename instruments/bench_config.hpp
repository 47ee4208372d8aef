#pragma once
// A bench as a lab describes it in JSON: the instruments (profile, address, timeouts) and the
// channel map giving each contract role its instrument channels, unit, safe range, ramp and
// averaging. The same file drives `aeqlab train --bench` (through the drivers) and
// `aeqlab serve --bench` (the virtual bench answering for those instruments). See docs/bench.md
// and docs/config-reference.md for the keys.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/device.hpp"
#include "instruments/probe_map.hpp"
#include "instruments/resistor_setpoints.hpp"

namespace aeqlab::instruments {

struct InstrumentConfig {
  std::string name;
  std::string profile;  // a profile name (instruments/profiles/<name>.json) or a path to one
  std::string address;  // tcp://host:port or serial:///dev/...?baud=...
  double timeout_s = 2.0;
  int retries = 2;     // repeats of a command after a timeout
  int reconnects = 1;  // attempts to reopen a dropped connection
  double reconnect_delay_s = 0.2;
  bool check_errors = true;  // read the error queue after every write
};

// Consecutive instrument channels (in the instrument's own numbering, e.g. 101..110) that carry
// consecutive values of a role.
struct ChannelSpan {
  std::string instrument;
  std::vector<int> channels;
};

struct Ramp {
  double step = 0.0;  // largest change per write; 0 = no ramping
  double rate = 0.0;  // largest change per second; 0 = as fast as the writes go
};

// One contract group (inputs, outputs, a knob group, a parameter group...) on instrument channels.
struct ChannelRole {
  ChannelGroup group;            // name, count, unit, safe range, safe value
  std::vector<ChannelSpan> map;  // concatenated in order: the group's flat values
  Ramp ramp;
  std::size_t average = 1;  // readings averaged per value (measured roles)
  double compliance = 0.0;  // parameter groups only
  // "safe_value": "hold": safe state leaves these channels where they are. For knobs that hold a
  // trained state (the parameters relax to them), driving them to 0 would erase the learning.
  bool hold_at_safe_state = false;
};

// How the bench decides the circuit is at equilibrium: wait, then poll the outputs (and the
// parameter readback while the homeostat holds) until `stable_reads` consecutive readings agree
// within `tolerance`; give up (not converged) after `timeout_s`. stable_reads = 0: fixed wait.
struct SettleRule {
  double wait_s = 0.0;
  std::size_t stable_reads = 2;
  double tolerance = 1e-6;
  double poll_interval_s = 0.0;
  double timeout_s = 10.0;
};

// AEqprop on programmable resistors by emulated plasticity (docs/pot-bench.md): after each settle
// the bench itself moves every element by its law, g <- clamp(u - eps law(probe)), with knobs u
// the bench holds, so the agnostic AEqprop trainer runs unchanged on parts that do not relax.
struct PlasticityEmulation {
  std::vector<double> compliance;  // eps per parameter group (one number: all of them)
  std::size_t rounds = 1;          // moves per settle (1: slow conductances, as the circuit's
                                   // parameter_steps 1); more stop early once stable
  double tolerance = 0.0;          // a move below this (in the parameters' unit) is stable
};

// Write-verify for parts that can be read (docs/pot-bench.md): after each write of the parameter
// set-points the bench reads them back; a part further than `tolerance` from what was written is
// written again, up to `retries` times, then the run stops (safe state) naming the element.
struct WriteVerify {
  double tolerance = 0.0;  // in the parameters' unit (half a tap accepts the part's rounding)
  int retries = 2;
};

struct BenchConfig {
  std::string name;  // the device's model in logs and sessions
  std::vector<InstrumentConfig> instruments;
  // The roles of the channel map. Each has its row in instruments/bench_roles.cpp (its keys in the
  // file, direction, counts, contract slot, virtual layout), which everything that treats roles
  // alike iterates; a new role is a field here and a row there.
  ChannelRole inputs;
  ChannelRole outputs;
  ChannelRole nudge_targets;            // one per output, in the outputs' unit and range
  ChannelRole nudge_strength;           // one channel: beta; group.safe is the allowed beta range
  std::vector<ChannelRole> knobs;       // knobs[k] drives parameters[k]
  std::vector<ChannelRole> parameters;  // readback (measured), with compliance
  // Settable parameters (digital potentiometers, resistor arrays): parameter_setpoints[k] writes
  // parameters[k] directly. Empty when the bench's parameters only relax.
  std::vector<ChannelRole> parameter_setpoints;
  std::optional<ChannelRole> homeostat;   // one channel: 1 = hold parameters, 0 = free
  std::optional<ChannelRole> compliance;  // one channel per parameter group
  // Local probes (docs/pot-bench.md): a measured channel per element, probes[k] for
  // parameters[k]; or the nodes measured once, each element's probe the difference of its ends as
  // `probe_map` (the file's `probes` section) lays them out. `probe_map` also declares the law.
  std::vector<ChannelRole> probes;
  std::optional<ChannelRole> probe_nodes;
  std::optional<ProbeMap> probe_map;
  // A bench of programmable resistors may leave out `channels.parameters`: its parameters are
  // then its set-points, read back from the parts where their profile can (the resistance they
  // report), otherwise as last written.
  bool parameters_from_setpoints = false;
  std::optional<PlasticityEmulation> plasticity;  // `plasticity`: emulate relaxing elements
  std::optional<WriteVerify> write_verify;        // `write_verify`
  std::optional<SetpointGrid> setpoint_grid;      // `setpoints`: the parts' taps
  SettleRule settle;
  nlohmann::json virtual_section = nlohmann::json::object();  // `virtual`: for aeqlab serve

  const InstrumentConfig& instrument(const std::string& name) const;
  // Every role's groups, in the table's order (instruments/bench_roles.hpp).
  std::vector<const ChannelRole*> roles() const;
};

// Parses and checks a bench (unknown keys, missing instruments, channel counts, safe ranges,
// a channel claimed by two roles...). Errors are ConfigError naming `source` and the key.
BenchConfig parse_bench(const nlohmann::json& bench, const std::string& source);
BenchConfig load_bench(const std::string& path);
// The bench back as JSON (addresses as they are now), e.g. for `aeqlab serve --bench-out`.
nlohmann::json bench_to_json(const BenchConfig& bench);

// Parses "1:8", "101,102,105:110", or a JSON array of numbers, into channel numbers in order.
std::vector<int> parse_channel_list(const nlohmann::json& spec, const std::string& where);

}  // namespace aeqlab::instruments
