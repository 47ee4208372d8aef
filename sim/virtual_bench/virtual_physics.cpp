#include "sim/virtual_bench/virtual_physics.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"
#include "sim/virtual_bench/virtual_scpi_parser.hpp"

namespace aeqlab::sim {

using instruments::BenchConfig;
using instruments::BenchRole;
using instruments::BenchRoleRow;
using instruments::ChannelRole;

std::optional<InstrumentKind> virtual_instrument_kind(const std::string& profile) {
  // A bench may name a profile or give the path of its file: the stem decides.
  std::string stem = profile.substr(profile.find_last_of('/') + 1);
  if (stem.size() > 5 && stem.ends_with(".json")) stem.resize(stem.size() - 5);
  if (stem == "aeqlab-vdac") return InstrumentKind::dac;
  if (stem == "aeqlab-vadc") return InstrumentKind::adc;
  if (stem == "aeqlab-vres") return InstrumentKind::res;
  return std::nullopt;
}

const char* virtual_model_prefix(InstrumentKind kind) {
  switch (kind) {
    case InstrumentKind::dac:
      return "VDAC";
    case InstrumentKind::adc:
      return "VADC";
    case InstrumentKind::res:
      return "VRES";
  }
  return "V";
}

namespace {

bool present(const ChannelRole& role) {
  return !role.map.empty() || role.group.count > 0;
}

unsigned bit(BenchRole kind) {
  return 1u << static_cast<unsigned>(kind);
}

double seconds(VirtualPhysics::Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

VirtualPhysics::VirtualPhysics(Device& device, const BenchConfig& bench,
                               const VirtualOptions& options)
    : device_(device), options_(options), probe_map_(bench.probe_map), rng_(options.seed) {
  std::map<std::string, std::size_t> by_name;
  for (const auto& ic : bench.instruments) {
    const auto kind = virtual_instrument_kind(ic.profile);
    if (!kind)
      throw ConfigError(fmt::format(
          "instrument \"{}\": profile \"{}\" has no virtual model (the virtual bench serves "
          "aeqlab-vdac, aeqlab-vadc and aeqlab-vres)",
          ic.name, ic.profile));
    if (!by_name.emplace(ic.name, instruments_.size()).second)
      throw ConfigError(fmt::format("instrument \"{}\": named twice", ic.name));
    Instrument ins;
    ins.name = ic.name;
    ins.kind = *kind;
    instruments_.push_back(std::move(ins));
  }

  // Every role of the bench, in table order; a list's groups index into the device's flat knob
  // or parameter values.
  for (const auto& row : instruments::bench_roles()) {
    // Parameters that are their set-points have no channels of their own.
    if (row.role == BenchRole::parameters && bench.parameters_from_setpoints) continue;
    const auto groups = instruments::groups_of(bench, row);
    const bool list = instruments::is_list(row);
    std::size_t offset = 0;
    for (std::size_t k = 0; k < groups.size(); ++k) {
      if (row.required && !present(*groups[k])) continue;
      if (row.role == BenchRole::homeostat) homeostat_role_ = roles_.size();
      if (row.role == BenchRole::inputs) inputs_role_ = roles_.size();
      add_role(row, *groups[k],
               instruments::role_label(row, list ? std::optional<std::size_t>(k) : std::nullopt),
               offset);
      offset += groups[k]->group.count;
    }
  }
  check_against_device(bench);
  remember_initial_state();

  // Channel map: which role value each instrument channel carries.
  struct Claim {
    std::size_t instrument, role, index;
    int channel;
  };
  std::vector<Claim> claims;
  for (std::size_t r = 0; r < roles_.size(); ++r) {
    const Role& role = roles_[r];
    std::size_t index = 0;
    for (const auto& span : role.config->map) {
      const auto it = by_name.find(span.instrument);
      if (it == by_name.end())
        throw ConfigError(
            fmt::format("{}.map: no instrument \"{}\" in the bench", role.label, span.instrument));
      Instrument& ins = instruments_[it->second];
      const bool measuring = ins.kind == InstrumentKind::adc;
      if (measuring != role.measured)
        throw ConfigError(fmt::format(
            "{}.map: instrument \"{}\" is a virtual {} and cannot {} this role", role.label,
            ins.name, virtual_model_prefix(ins.kind), role.measured ? "measure" : "set"));
      for (int ch : span.channels) {
        if (ch < 1)
          throw ConfigError(
              fmt::format("{}.map: channel {} of \"{}\": virtual instruments "
                          "number channels from 1",
                          role.label, ch, ins.name));
        claims.push_back({it->second, r, index++, ch});
        ins.channels = std::max(ins.channels, ch);
      }
    }
  }
  for (auto& ins : instruments_) {
    ins.refs.assign(static_cast<std::size_t>(ins.channels), ChannelRef{});
    ins.loose.assign(static_cast<std::size_t>(ins.channels), 0.0);
  }
  for (const auto& c : claims) {
    auto& ref = instruments_[c.instrument].refs[static_cast<std::size_t>(c.channel - 1)];
    if (ref.role != kUnmapped)
      throw ConfigError(fmt::format("{}.map: channel {} of \"{}\" is already taken by {}",
                                    roles_[c.role].label, c.channel,
                                    instruments_[c.instrument].name, roles_[ref.role].label));
    ref = {c.role, c.index};
  }
}

void VirtualPhysics::add_role(const BenchRoleRow& row, const ChannelRole& config, std::string label,
                              std::size_t offset) {
  Role role;
  role.kind = row.role;
  role.config = &config;
  role.label = std::move(label);
  role.offset = offset;
  role.measured = row.direction == instruments::RoleDirection::measured;
  std::size_t mapped = 0;
  for (const auto& span : config.map) mapped += span.channels.size();
  if (mapped != config.group.count)
    throw ConfigError(fmt::format("{}: the map gives {} channels for {} values", role.label, mapped,
                                  config.group.count));
  const auto n = config.group.count;
  if (role.measured) {
    role.target.assign(n, 0.0);
    role.from.assign(n, 0.0);
  } else {
    role.staged.assign(n, config.group.safe_value);
    role.written.assign(n, 0);
  }
  roles_.push_back(std::move(role));
}

void VirtualPhysics::check_against_device(const BenchConfig& bench) const {
  const DeviceDescription& d = device_.describe();
  if (d.replicas != 1)
    throw ConfigError(
        fmt::format("virtual bench: the physics ({}) has {} replicas; a bench "
                    "serves exactly 1",
                    d.model, d.replicas));
  auto same = [&](const std::string& label, const ChannelRole& role, std::size_t expected,
                  const std::string& what) {
    if (role.group.count != expected)
      throw ConfigError(fmt::format("{}: {} channels, but the physics ({}) has {} {}", label,
                                    role.group.count, d.model, expected, what));
  };
  // Each role the bench gives against the groups the device has in its contract slot, and the
  // capability the role needs of the device.
  for (const auto& row : instruments::bench_roles()) {
    const auto given = instruments::groups_of(bench, row);
    if (given.empty()) continue;
    const bool list = instruments::is_list(row);
    if (row.required && !present(*given.front())) continue;
    if (row.capability && !(d.capabilities.*row.capability))
      throw ConfigError(fmt::format("{}: the physics ({}) {}", instruments::role_label(row),
                                    d.model, row.lacking));
    if (row.role == BenchRole::parameters && bench.parameters_from_setpoints) continue;
    if (row.role == BenchRole::probe_nodes) {
      // The nodes are as many as the layer description says; its elements must be the device's.
      if (bench.probe_map && bench.probe_map->elements.size() != d.parameter_count())
        throw ConfigError(
            fmt::format("probes.layered: {} elements, but the physics ({}) has {} parameters",
                        bench.probe_map->elements.size(), d.model, d.parameter_count()));
      continue;
    }
    const auto expected = row.for_device(d);
    if (!list) {
      same(instruments::role_label(row), *given.front(),
           expected.empty() ? 0 : expected.front().count, row.device_unit);
      continue;
    }
    if (given.size() != expected.size())
      throw ConfigError(fmt::format("{}: {} groups, but the physics ({}) has {}",
                                    instruments::role_label(row), given.size(), d.model,
                                    expected.size()));
    for (std::size_t k = 0; k < given.size(); ++k)
      same(instruments::role_label(row, k), *given[k], expected[k].count,
           fmt::format("values in group {}", expected[k].name));
  }
}

std::vector<double> VirtualPhysics::keyword_values(std::size_t instrument,
                                                   std::span<const int> channels,
                                                   scpi::NumericKeyword keyword) const {
  const Instrument& ins = instruments_[instrument];
  std::vector<double> out(channels.size(), 0.0);
  for (std::size_t i = 0; i < channels.size(); ++i) {
    const ChannelRef& ref = ins.refs[static_cast<std::size_t>(channels[i] - 1)];
    if (ref.role == kUnmapped) {
      if (keyword == scpi::NumericKeyword::fallback) continue;
      throw scpi::Error(-224, fmt::format("Illegal parameter value; channel {} has no range, so "
                                          "MIN and MAX mean nothing there",
                                          channels[i]));
    }
    const auto& group = roles_[ref.role].config->group;
    out[i] = keyword == scpi::NumericKeyword::minimum   ? group.safe.low
             : keyword == scpi::NumericKeyword::maximum ? group.safe.high
                                                        : group.safe_value;
  }
  return out;
}

void VirtualPhysics::set(std::size_t instrument, std::span<const int> channels,
                         std::span<const double> values, Clock::time_point now) {
  Instrument& ins = instruments_[instrument];
  ++writes_;
  values_ += values.size();
  // Everything is checked before anything is staged: a refused command leaves no trace.
  std::size_t bad = 0;
  std::string first;
  bool mapped = false;
  for (std::size_t i = 0; i < channels.size(); ++i) {
    const int ch = channels[i];
    const double v = values[i];
    const ChannelRef& ref = ins.refs[static_cast<std::size_t>(ch - 1)];
    if (ref.role == kUnmapped) {
      if (std::isfinite(v)) continue;
      if (bad++ == 0) first = fmt::format("channel {} value {} is not finite", ch, v);
      continue;
    }
    mapped = true;
    const SafeRange& safe = roles_[ref.role].config->group.safe;
    if (std::isfinite(v) && safe.contains(v)) continue;
    if (bad++ == 0)
      first = fmt::format("channel {} value {} outside [{}, {}]", ch, v, safe.low, safe.high);
  }
  if (bad > 0) {
    out_of_range_ += bad;
    std::string text = "Data out of range; ";
    text += first;
    if (bad > 1) text += fmt::format(" (and {} more values; command refused)", bad - 1);
    throw scpi::Error(-222, text);
  }

  if (mapped && !dirty_ && options_.settle_s > 0) {
    // The ramp to the next equilibrium starts from what the instruments show right now. Only the
    // outputs ramp: snapshotting a parameter readback of 200,000 channels at every change would
    // cost the simulated bench more than the settle it models (parameters read mid-settle show
    // the new equilibrium).
    refresh_targets(bit(BenchRole::outputs));
    for (auto& role : roles_) {
      if (!role.measured) continue;
      if (role.kind != BenchRole::outputs) {
        role.from_valid = false;
        continue;
      }
      std::vector<double> start(role.target.size());
      for (std::size_t i = 0; i < start.size(); ++i) start[i] = ramp_value(role, i, now);
      role.from = std::move(start);
      role.from_valid = true;
    }
  }
  for (std::size_t i = 0; i < channels.size(); ++i) {
    const auto c = static_cast<std::size_t>(channels[i] - 1);
    const ChannelRef& ref = ins.refs[c];
    if (ref.role == kUnmapped) {
      ins.loose[c] = values[i];
      continue;
    }
    Role& role = roles_[ref.role];
    role.staged[ref.index] = quantise(values[i], role.config->group.safe, options_.dac_bits);
    role.written[ref.index] = 1;
    role.dirty = true;
  }
  if (mapped) {
    // Even a value equal to the present one counts: a real circuit re-settles after every
    // write, and so must the physics for a client's settle to mean the same as in-process.
    dirty_ = true;
    changed_ = true;
    changed_at_ = now;
  }
}

std::vector<double> VirtualPhysics::setpoints(std::size_t instrument,
                                              std::span<const int> channels) {
  const Instrument& ins = instruments_[instrument];
  std::vector<double> out(channels.size());
  bool knobs_read = false, parameters_read = false;
  std::vector<double> parameters;
  for (std::size_t i = 0; i < channels.size(); ++i) {
    const auto c = static_cast<std::size_t>(channels[i] - 1);
    const ChannelRef& ref = ins.refs[c];
    if (ref.role == kUnmapped) {
      out[i] = ins.loose[c];
      continue;
    }
    const Role& role = roles_[ref.role];
    if (role.kind == BenchRole::knobs && !role.written[ref.index]) {
      if (!knobs_read) {
        scratch_.resize(device_.describe().knob_count());
        device_.read_knobs(scratch_);
        knobs_read = true;
      }
      out[i] = scratch_[role.offset + ref.index];
    } else if (role.kind == BenchRole::parameter_setpoints) {
      // A resistor array reports the setting its parts hold (a pot's wiper register, the tap it
      // landed on), not the number it was sent.
      if (!parameters_read) {
        try {
          apply_setpoints();
        } catch (const std::exception& e) {
          throw scpi::Error(
              -240, std::string("Hardware error; the physics refused the set-points: ") + e.what());
        }
        parameters.resize(device_.describe().parameter_count());
        device_.read_parameters(parameters);
        parameters_read = true;
      }
      out[i] = parameters[role.offset + ref.index];
    } else {
      out[i] = role.staged[ref.index];
    }
  }
  return out;
}

std::vector<double> VirtualPhysics::measure(std::size_t instrument, std::span<const int> channels,
                                            Clock::time_point now) {
  if (dirty_) {
    if (auto complaint = settle(now)) {
      std::string text = "Hardware error; the physics refused the staged values: ";
      text += *complaint;
      throw scpi::Error(-240, text);
    }
  }
  const Instrument& ins = instruments_[instrument];
  unsigned kinds = 0;
  for (int c : channels) {
    const ChannelRef& ref = ins.refs[static_cast<std::size_t>(c - 1)];
    if (ref.role != kUnmapped) kinds |= bit(roles_[ref.role].kind);
  }
  refresh_targets(kinds);
  std::vector<double> out(channels.size());
  for (std::size_t i = 0; i < channels.size(); ++i) {
    const ChannelRef& ref = ins.refs[static_cast<std::size_t>(channels[i] - 1)];
    double v = 0.0;  // an ADC input with nothing connected
    if (ref.role != kUnmapped) v = ramp_value(roles_[ref.role], ref.index, now);
    if (options_.noise > 0) v += options_.noise * gauss_(rng_);
    if (ref.role != kUnmapped)
      v = quantise(v, roles_[ref.role].config->group.safe, options_.adc_bits);
    out[i] = v;
  }
  return out;
}

// The new equilibrium is worked out halfway through the settle time, not at its end: the
// simulator's own compute time must stay inside T, as a real circuit's settling does, or every
// settle on the virtual bench would cost T plus the compute. Writes that arrive together (one
// flush to several instruments) still land before it; a write after it settles again.
std::optional<VirtualPhysics::Clock::time_point> VirtualPhysics::settle_due() const {
  if (!dirty_ || options_.settle_s <= 0) return std::nullopt;
  return changed_at_ + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(0.5 * options_.settle_s));
}

std::optional<std::string> VirtualPhysics::settle_if_due(Clock::time_point now) {
  const auto due = settle_due();
  if (!due || now < *due) return std::nullopt;
  return settle(now);
}

std::optional<std::string> VirtualPhysics::settle(Clock::time_point) {
  std::optional<std::string> complaint;
  try {
    apply_staged();
    const bool hold = homeostat_role_ != kUnmapped && roles_[homeostat_role_].staged[0] >= 0.5;
    if (hold)
      device_.settle_homeostatic();
    else
      device_.settle();
    ++settles_;
  } catch (const std::exception& e) {
    complaint = e.what();
  }
  // Even after a refusal: a failed change must not be retried on every later reading.
  dirty_ = false;
  for (auto& role : roles_) {
    role.dirty = false;
    std::fill(role.written.begin(), role.written.end(), 0);
    role.target_valid = false;
  }
  return complaint;
}

void VirtualPhysics::apply_staged() {
  const DeviceDescription& d = device_.describe();
  const Role* inputs = nullptr;
  const Role* targets = nullptr;
  const Role* strength = nullptr;
  bool knobs_dirty = false, knobs_all = true, setpoints_dirty = false;
  for (const auto& role : roles_) {
    switch (role.kind) {
      case BenchRole::inputs:
        inputs = &role;
        break;
      case BenchRole::nudge_targets:
        targets = &role;
        break;
      case BenchRole::nudge_strength:
        strength = &role;
        break;
      case BenchRole::knobs:
        knobs_dirty = knobs_dirty || role.dirty;
        knobs_all = knobs_all && std::all_of(role.written.begin(), role.written.end(),
                                             [](char w) { return w != 0; });
        break;
      case BenchRole::parameter_setpoints:
        setpoints_dirty = setpoints_dirty || role.dirty;
        break;
      default:
        break;
    }
  }
  // Knobs and parameters not written since the last settle keep what the device has (a
  // homeostat may have moved the knobs); the device is only asked when something was written,
  // so a client that never touches them leaves the device's own state alone.
  auto patch = [&](BenchRole kind, std::vector<double>& full) {
    for (const auto& role : roles_) {
      if (role.kind != kind) continue;
      for (std::size_t i = 0; i < role.staged.size(); ++i)
        if (role.written[i]) full[role.offset + i] = role.staged[i];
    }
  };
  if (knobs_dirty) {
    std::vector<double> full(d.knob_count());
    if (!knobs_all) device_.read_knobs(full);
    patch(BenchRole::knobs, full);
    device_.set_knobs(full);
  }
  if (setpoints_dirty) apply_setpoints();
  for (const auto& role : roles_) {
    if (role.kind != BenchRole::compliance || !role.dirty) continue;
    for (std::size_t g = 0; g < role.staged.size(); ++g)
      if (role.written[g]) device_.set_compliance(g, role.staged[g]);
  }
  // Inputs and nudge last: a trainer sets knobs at the end of a homeostatic phase and the nudge
  // after them, and a device may derive the nudged state from the knobs it holds.
  if (inputs && inputs->dirty) device_.set_inputs(inputs->staged, 1);
  if ((targets && targets->dirty) || (strength && strength->dirty)) {
    const double beta = strength ? strength->staged[0] : 0.0;
    const std::vector<double> free_targets(d.outputs.count, d.outputs.safe_value);
    device_.set_nudge(beta, targets ? std::span<const double>(targets->staged)
                                    : std::span<const double>(free_targets));
  }
}

// Writes the staged set-points to the device now (a query of them, or the settle that follows
// the writes) and marks them applied; a settle still follows, as after any change.
void VirtualPhysics::apply_setpoints() {
  bool dirty = false;
  for (const auto& role : roles_)
    dirty = dirty || (role.kind == BenchRole::parameter_setpoints && role.dirty);
  if (!dirty) return;
  std::vector<double> full(device_.describe().parameter_count());
  device_.read_parameters(full);
  for (auto& role : roles_) {
    if (role.kind != BenchRole::parameter_setpoints) continue;
    for (std::size_t i = 0; i < role.staged.size(); ++i)
      if (role.written[i]) full[role.offset + i] = role.staged[i];
    role.dirty = false;
    std::fill(role.written.begin(), role.written.end(), 0);
  }
  device_.write_parameters(full);
}

void VirtualPhysics::refresh_targets(unsigned kinds) {
  bool parameters_read = false, probes_read = false;
  std::vector<double> probes;
  for (auto& role : roles_) {
    if (!role.measured || role.target_valid) continue;
    if (!(kinds & bit(role.kind))) continue;
    if (role.kind == BenchRole::outputs) {
      device_.read_outputs(role.target);
    } else if (role.kind == BenchRole::probes || role.kind == BenchRole::probe_nodes) {
      // The device's probes at its last equilibrium; the node voltages behind them when the
      // bench measures nodes (docs/pot-bench.md).
      if (!probes_read) {
        probes.resize(device_.describe().parameter_count());
        device_.read_probes(probes);
        probes_read = true;
      }
      if (role.kind == BenchRole::probes) {
        std::copy_n(probes.begin() + static_cast<std::ptrdiff_t>(role.offset), role.target.size(),
                    role.target.begin());
      } else {
        const std::vector<double> none;
        const auto& inputs = inputs_role_ == kUnmapped ? none : roles_[inputs_role_].staged;
        instruments::nodes_from_probes(*probe_map_, probes, inputs, role.target);
      }
    } else {
      if (!parameters_read) {
        scratch_.resize(device_.describe().parameter_count());
        device_.read_parameters(scratch_);
        parameters_read = true;
      }
      std::copy_n(scratch_.begin() + static_cast<std::ptrdiff_t>(role.offset), role.target.size(),
                  role.target.begin());
    }
    role.target_valid = true;
  }
}

double VirtualPhysics::ramp_value(const Role& role, std::size_t i, Clock::time_point now) const {
  const double target = role.target[i];
  if (!role.from_valid || !changed_ || options_.settle_s <= 0) return target;
  const double elapsed = seconds(now - changed_at_);
  if (elapsed >= options_.settle_s) return target;
  const double from = role.from[i];
  return from + (target - from) * std::max(0.0, elapsed / options_.settle_s);
}

double VirtualPhysics::quantise(double v, const SafeRange& range, int bits) const {
  if (bits <= 0 || !(range.high > range.low) || !std::isfinite(v)) return v;
  const double levels = std::ldexp(1.0, bits) - 1.0;
  const double step = (range.high - range.low) / levels;
  const double k = std::clamp(std::round((v - range.low) / step), 0.0, levels);
  return k == levels ? range.high : range.low + k * step;
}

WireTally VirtualPhysics::tally() const {
  WireTally t;
  t.messages = messages_;
  t.writes = writes_;
  t.values = values_;
  t.out_of_range = out_of_range_;
  t.settles = settles_;
  return t;
}

}  // namespace aeqlab::sim
