#include "instruments/bench_device.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <thread>

#include <sys/prctl.h>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include "core/error.hpp"
#include "core/safe_range.hpp"
#include "drivers/errors.hpp"
#include "instruments/bench_role_state.hpp"
#include "instruments/bench_roles.hpp"
#include "instruments/crew.hpp"
#include "instruments/instrument.hpp"
#include "instruments/profile.hpp"

namespace aeqlab::instruments {

using Clock = std::chrono::steady_clock;
constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();

namespace {

// One line of a bench-wide failure list. The instruments' own errors already begin with
// `instrument "x" at ...`; those are kept as they are so the instrument is named once.
std::string failure_line(const std::string& name, const std::string& what) {
  const std::string prefix = fmt::format("instrument \"{}\"", name);
  if (what.rfind(prefix, 0) == 0) return "\n  " + what;
  return fmt::format("\n  {}: {}", prefix, what);
}

std::size_t index_of(const BenchConfig& b, const std::string& name) {
  for (std::size_t i = 0; i < b.instruments.size(); ++i)
    if (b.instruments[i].name == name) return i;
  throw ConfigError(fmt::format("{}: no instrument named \"{}\"", b.name, name));
}

// The settle's wait is most of a step. Linux lets a sleeping thread wake up to its timer slack
// late (50 us by default, to batch wake-ups), which every settle would add to T; the thread that
// waits asks for none (docs/pot-bench.md, "Step time against the physical limit").
void sleep_until(Clock::time_point t) {
  static thread_local const bool precise = ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL) == 0;
  (void)precise;
  if (Clock::now() < t) std::this_thread::sleep_until(t);
}

}  // namespace

BenchDevice::BenchDevice(BenchConfig bench) : bench_(std::move(bench)) {
  // Profiles first: a typo in a profile must not cost a connection attempt on every instrument.
  std::map<std::string, Profile> profiles;
  for (const auto& i : bench_.instruments)
    if (!profiles.count(i.profile)) profiles.emplace(i.profile, load_profile(i.profile));
  for (const auto& row : bench_roles()) {
    // Parameters that are their set-points are read back by the set-point commands.
    if (row.role == BenchRole::parameters && bench_.parameters_from_setpoints) continue;
    for (const ChannelRole* r : groups_of(bench_, row)) {
      const bool measured = row.direction == RoleDirection::measured;
      for (const auto& span : r->map) {
        const auto& p = profiles.at(bench_.instrument(span.instrument).profile);
        if (measured && !p.measure)
          throw ConfigError(
              fmt::format("{}: \"{}\" is measured on instrument \"{}\", but its profile "
                          "\"{}\" has no measure commands",
                          bench_.name, r->group.name, span.instrument, p.name));
        if (!measured && !p.source)
          throw ConfigError(
              fmt::format("{}: \"{}\" is set on instrument \"{}\", but its profile \"{}\" "
                          "has no source commands",
                          bench_.name, r->group.name, span.instrument, p.name));
        const bool stepped = row.role == BenchRole::parameter_setpoints && bench_.setpoint_grid &&
                             bench_.setpoint_grid->mode == SetpointGrid::Mode::incremental;
        if (!measured && p.source->one.empty() && p.source->each.empty() &&
            p.source->block.empty() && !stepped)
          throw ConfigError(fmt::format(
              "{}: \"{}\" is set on instrument \"{}\", but its profile \"{}\" only steps "
              "(source.step): only set-points of incremental parts (setpoints.mode "
              "\"incremental\") can be mapped to it",
              bench_.name, r->group.name, span.instrument, p.name));
      }
    }
  }

  // Connect to everything at once: a bench of twenty instruments should not take twenty
  // connect timeouts to report the one that is off.
  const std::size_t n = bench_.instruments.size();
  instruments_.resize(n);
  std::vector<std::string> failures(n);
  {
    std::vector<std::thread> connecting;
    for (std::size_t i = 0; i < n; ++i)
      connecting.emplace_back([&, i] {
        const auto& c = bench_.instruments[i];
        try {
          auto inst = std::make_unique<Instrument>(c, profiles.at(c.profile));
          inst->open();
          instruments_[i] = std::move(inst);
        } catch (const std::exception& e) {
          failures[i] = e.what();
        }
      });
    for (auto& t : connecting) t.join();
  }
  std::string failed;
  for (std::size_t i = 0; i < n; ++i)
    if (!failures[i].empty()) failed += failure_line(bench_.instruments[i].name, failures[i]);
  if (!failed.empty())
    throw DeviceError(fmt::format("{}: cannot open the bench:{}", bench_.name, failed));
  crew_ = std::make_unique<Crew>(n);

  description_.model = bench_.name;
  description_.replicas = 1;
  description_.inputs = bench_.inputs.group;
  description_.outputs = bench_.outputs.group;
  description_.nudge = bench_.nudge_strength.group.safe;
  for (const auto& p : bench_.parameters)
    description_.parameters.push_back({p.group, p.compliance});
  for (const auto& k : bench_.knobs) description_.knobs.push_back(k.group);
  auto& caps = description_.capabilities;
  caps.parameter_readback = true;
  // A role that gives the device a capability (the homeostat switch, the compliance channel,
  // parameter set-points) declares it when the bench has it.
  for (const auto& row : bench_roles())
    if (row.capability) caps.*row.capability |= !groups_of(bench_, row).empty();
  if (bench_.probe_map)
    description_.probes = {bench_.probe_map->unit, bench_.probe_map->law, ""};
  else
    description_.probes.missing =
        "the bench measures none: map channels.probe_nodes (node voltages) or channels.probes "
        "(a channel per element) and declare their law in \"probes\"";
  for (const auto& p : bench_.parameters) compliance_.push_back(p.compliance);

  // Set roles remember what their channels hold, read back where the profile can, so a ramp
  // starts from the truth and nothing jumps to a stale set-point.
  // In table order, which is the order their writes are staged in one message per instrument.
  std::vector<const ChannelRole*> set_roles;
  for (const auto& row : bench_roles())
    if (row.direction == RoleDirection::set)
      for (const ChannelRole* r : groups_of(bench_, row)) set_roles.push_back(r);
  for (const ChannelRole* r : set_roles) {
    auto s = std::make_unique<RoleState>();
    s->role = r;
    std::size_t offset = 0;
    for (const auto& span : r->map) {
      s->parts.push_back({index_of(bench_, span.instrument), span.channels, offset});
      offset += span.channels.size();
    }
    s->last.assign(r->group.count, kUnknown);
    states_.push_back(std::move(s));
  }
  on_the_wire("reading the set-points back", [&] {
    SetpointReads reads;
    for (auto& s : states_)
      for (const auto& part : s->parts)
        if (instruments_[part.instrument]->can_read_setpoints())
          reads[part.instrument].push_back({part.channels, std::span<double>(s->last).subspan(
                                                               part.offset, part.channels.size())});
    read_setpoints_at_once(reads);
  });
  if (bench_.homeostat) hold_ = state_of(*bench_.homeostat).last[0];
  start_incremental();
}

BenchDevice::~BenchDevice() {
  const auto t = tally();
  // One line per run at info: scripts/bench-hil sets the physical limit from it.
  spdlog::info(
      "{}: {} flushes, {} round trips ({} on the critical path), {} settles, {} polls, {} "
      "set-point writes ({} s of per-write time on the critical path), {} round trips inside "
      "settle waits",
      bench_.name, t.flushes, t.round_trips, t.critical_round_trips, t.settles, t.polls,
      t.setpoint_writes, t.write_seconds, t.round_trips_in_settle);
}

void BenchDevice::measure_together(std::span<const ChannelRole> roles, std::span<double> out) {
  // Averaged roles repeat their own scan; the rest share one query per instrument.
  const bool averaged =
      std::any_of(roles.begin(), roles.end(), [](const ChannelRole& r) { return r.average > 1; });
  if (averaged || roles.size() < 2) {
    std::size_t at = 0;
    for (const auto& r : roles) {
      measure(r, out.subspan(at, r.group.count));
      at += r.group.count;
    }
    return;
  }
  struct Scan {
    std::vector<int> channels;
    std::vector<std::size_t> dest;  // where each reading goes in `out`
  };
  std::map<std::size_t, Scan> scans;
  std::size_t offset = 0;
  for (const auto& role : roles)
    for (const auto& span : role.map) {
      auto& scan = scans[index_of(bench_, span.instrument)];
      for (int c : span.channels) {
        scan.channels.push_back(c);
        scan.dest.push_back(offset++);
      }
    }
  const auto before = round_trips_now();
  on_the_wire(("reading " + roles.front().group.name + " and the rest").c_str(), [&] {
    std::vector<std::pair<std::size_t, std::function<void()>>> jobs;
    for (auto& [i, scan] : scans)
      jobs.push_back({i, [this, out, i = i, &scan] {
                        std::vector<double> v(scan.channels.size());
                        instruments_[i]->measure(scan.channels, v);
                        for (std::size_t k = 0; k < v.size(); ++k) out[scan.dest[k]] = v[k];
                      }});
    crew_->run(std::move(jobs));
  });
  count_round_trips_since(before);
}

void BenchDevice::measure(const ChannelRole& role, std::span<double> out) {
  const auto before = round_trips_now();
  on_the_wire(("reading " + role.group.name).c_str(), [&] {
    std::map<std::size_t, std::vector<std::pair<const ChannelSpan*, std::size_t>>> by_instrument;
    std::size_t offset = 0;
    for (const auto& span : role.map) {
      by_instrument[index_of(bench_, span.instrument)].push_back({&span, offset});
      offset += span.channels.size();
    }
    std::vector<std::pair<std::size_t, std::function<void()>>> jobs;
    for (auto& [i, list] : by_instrument)
      jobs.push_back({i, [this, &role, out, i = i, list = list] {
                        for (auto [span, at] : list) {
                          auto dest = out.subspan(at, span->channels.size());
                          instruments_[i]->measure(span->channels, dest);
                          if (role.average > 1) {
                            std::vector<double> more(dest.size());
                            for (std::size_t k = 1; k < role.average; ++k) {
                              instruments_[i]->measure(span->channels, more);
                              for (std::size_t c = 0; c < dest.size(); ++c) dest[c] += more[c];
                            }
                            for (auto& v : dest) v /= static_cast<double>(role.average);
                          }
                        }
                      }});
    crew_->run(std::move(jobs));
  });
  count_round_trips_since(before);
}

void BenchDevice::do_set_inputs(std::span<const double> values, std::size_t) {
  stage(bench_.inputs, values);
}

void BenchDevice::do_set_nudge(double beta, std::span<const double> targets) {
  // The nudge-target channels may hold a narrower range than the outputs the base checked.
  require_in_range(bench_.nudge_targets.group, targets, "nudge target");
  stage(bench_.nudge_targets, targets);
  const double b[1] = {beta};
  stage(bench_.nudge_strength, b);
}

void BenchDevice::do_set_knobs(std::span<const double> values) {
  std::size_t at = 0;
  for (const auto& k : bench_.knobs) {
    stage(k, values.subspan(at, k.group.count));
    at += k.group.count;
  }
}

void BenchDevice::do_write_parameters(std::span<const double> values) {
  // The set-point channels keep their own safe ranges, which may be narrower than the parameters'.
  std::size_t at = 0;
  for (const auto& p : bench_.parameter_setpoints) {
    require_in_range(p.group, values.subspan(at, p.group.count), "parameter");
    at += p.group.count;
  }
  if (bench_.setpoint_grid) {
    on_the_grid(values);
    return;
  }
  at = 0;
  for (const auto& p : bench_.parameter_setpoints) {
    stage(p, values.subspan(at, p.group.count));
    at += p.group.count;
  }
}

// Every set-point onto its part's grid, by the bench's stated rule (docs/pot-bench.md).
void BenchDevice::on_the_grid(std::span<const double> values) {
  const auto& grid = *bench_.setpoint_grid;
  if (grids_.empty())
    for (const auto& p : bench_.parameter_setpoints)
      grids_.push_back(grid_values(grid, p.group.safe));
  std::vector<double> snapped(values.begin(), values.end());
  std::size_t at = 0, rounded = 0;
  for (std::size_t k = 0; k < bench_.parameter_setpoints.size(); ++k) {
    const auto& p = bench_.parameter_setpoints[k];
    for (std::size_t i = 0; i < p.group.count; ++i, ++at) {
      const double v = values[at], tap = nearest_tap(grids_[k], v);
      if (std::abs(tap - v) <= grid.tolerance * std::abs(v)) continue;
      if (grid.off_grid == SetpointGrid::OffGrid::refuse)
        throw DeviceError(fmt::format(
            "{}: parameter {}[{}]: {} {} is off the part's grid (nearest tap {}); the bench's "
            "setpoints.off_grid is \"refuse\"",
            bench_.name, p.group.name, i, v, p.group.unit, tap));
      snapped[at] = tap;
      ++rounded;
    }
  }
  if (rounded > 0) {
    if (!grid_rounding_logged_)
      spdlog::info(
          "{}: set-points off the parts' grid are rounded to the nearest tap "
          "(setpoints.off_grid: \"round\")",
          bench_.name);
    grid_rounding_logged_ = true;
    spdlog::debug("{}: {} of {} set-points rounded to the nearest tap", bench_.name, rounded,
                  values.size());
  }
  tally_.rounded_setpoints += rounded;
  at = 0;
  for (const auto& p : bench_.parameter_setpoints) {
    stage(p, std::span<const double>(snapped).subspan(at, p.group.count));
    at += p.group.count;
  }
}

void BenchDevice::do_set_compliance(std::size_t group, double compliance) {
  require_in_range(bench_.compliance->group.safe, compliance,
                   ("compliance of " + bench_.parameters[group].group.name).c_str());
  compliance_[group] = compliance;
  stage(*bench_.compliance, compliance_);
}

void BenchDevice::do_read_probes(std::span<double> out) {
  flush();
  if (bench_.probe_nodes) {
    // The nodes once (one scan per instrument, all at once), then each element's difference.
    nodes_.resize(bench_.probe_nodes->group.count);
    measure(*bench_.probe_nodes, nodes_);
    const auto& inputs = state_of(bench_.inputs).last;
    probes_from_nodes(*bench_.probe_map, nodes_, inputs, out);
    return;
  }
  // A channel per element: every group's scan at once, instrument by instrument.
  std::size_t at = 0;
  for (const auto& p : bench_.probes) {
    measure(p, out.subspan(at, p.group.count));
    at += p.group.count;
  }
}

void BenchDevice::do_read_outputs(std::span<double> out) {
  bool pending = false;
  for (const auto& s : states_) pending = pending || s->pending;
  if (outputs_valid_ && !pending) {
    std::copy(outputs_cache_.begin(), outputs_cache_.end(), out.begin());
    return;
  }
  flush();
  measure(bench_.outputs, out);
  outputs_cache_.assign(out.begin(), out.end());
  outputs_valid_ = true;
}

SettleReport BenchDevice::settle_with(bool hold) {
  const auto t0 = Clock::now();
  if (bench_.homeostat) {
    const double want = hold ? 1.0 : 0.0;
    if (hold_ != want) {
      const double v[1] = {want};
      stage(*bench_.homeostat, v);
      hold_ = want;
    }
  }
  flush(true);
  const auto& rule = bench_.settle;
  const auto start = last_flush_ == Clock::time_point{} ? Clock::now() : last_flush_;
  const auto wait =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(rule.wait_s));
  sleep_until(start + wait);
  SettleReport r;
  ++tally_.settles;
  tally_.waited_seconds += rule.wait_s;
  if (rule.stable_reads == 0) {
    r.converged = true;
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return r;
  }
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(rule.timeout_s));
  const auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(rule.poll_interval_s));
  std::vector<double> previous, reading(description_.outputs.count);
  std::size_t agreeing = 0;
  r.residual = std::numeric_limits<double>::infinity();
  for (;;) {
    measure(bench_.outputs, reading);
    ++r.iterations;
    ++tally_.polls;
    if (!previous.empty()) {
      double worst = 0.0;
      for (std::size_t i = 0; i < reading.size(); ++i)
        worst = std::max(worst, std::abs(reading[i] - previous[i]));
      r.residual = worst;
      agreeing = worst <= rule.tolerance ? agreeing + 1 : 0;
    }
    previous = reading;
    if (agreeing + 1 >= rule.stable_reads) {
      r.converged = true;
      if (rule.stable_reads == 1) r.residual = 0.0;
      break;
    }
    if (Clock::now() + interval >= deadline) break;
    if (interval.count() > 0) std::this_thread::sleep_for(interval);
  }
  outputs_cache_ = reading;
  outputs_valid_ = true;
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

SettleReport BenchDevice::do_settle() {
  return settle_with(false);
}

SettleReport BenchDevice::do_settle_homeostatic() {
  return settle_with(true);
}

std::vector<InstrumentIdentity> BenchDevice::do_instruments() const {
  std::vector<InstrumentIdentity> out;
  for (const auto& i : instruments_) out.push_back({i->name(), i->identity(), i->address()});
  return out;
}

void BenchDevice::do_safe_state(bool beside_a_call) {
  // Beside a call (the emergency-stop thread, while the run is stuck inside a flush or a poll):
  // no ramp from the last values (they may be mid-change), and the staged values are left alone;
  // the call applies the whole safe state, ramps included, when it returns.
  const bool alone = !beside_a_call;
  std::map<std::size_t, std::vector<std::function<void()>>> by_instrument;
  for (auto& s : states_) {
    const auto& role = *s->role;
    if (role.hold_at_safe_state) continue;
    const bool stepped = incremental() && setpoint_group(*s) >= 0;  // back to power-on
    for (std::size_t pi = 0; pi < s->parts.size(); ++pi) {
      const auto& part = s->parts[pi];
      if (stepped) {
        // Incremental parts go back to their power-on tap (instruments/incremental_steps.cpp).
        by_instrument[part.instrument].push_back([this, s = s.get(), pi] { step_home(*s, pi); });
        continue;
      }
      by_instrument[part.instrument].push_back([&, s = s.get(), part] {
        const std::size_t n = part.channels.size();
        std::vector<double> safe(n, role.group.safe_value);
        auto& inst = *instruments_[part.instrument];
        if (role.ramp.step > 0 && alone) {
          double largest = 0.0;
          for (std::size_t c = 0; c < n; ++c)
            if (std::isfinite(s->last[part.offset + c]))
              largest = std::max(largest, std::abs(safe[c] - s->last[part.offset + c]));
          const auto steps =
              static_cast<std::size_t>(std::max(1.0, std::ceil(largest / role.ramp.step)));
          std::vector<double> v(n);
          for (std::size_t k = 1; k < steps; ++k) {
            for (std::size_t c = 0; c < n; ++c) {
              const double from = s->last[part.offset + c];
              v[c] = std::isfinite(from) ? from + (safe[c] - from) * static_cast<double>(k) /
                                                      static_cast<double>(steps)
                                         : safe[c];
            }
            inst.set(part.channels, v);
            if (role.ramp.rate > 0)
              std::this_thread::sleep_for(std::chrono::duration<double>(
                  largest / static_cast<double>(steps) / role.ramp.rate));
          }
        }
        inst.set(part.channels, safe);
      });
    }
  }
  std::vector<std::string> failures(instruments_.size());
  std::vector<std::thread> threads;
  for (auto& [i, jobs] : by_instrument)
    threads.emplace_back([&, i = i, jobs = jobs] {
      try {
        for (const auto& job : jobs) job();
        instruments_[i]->shutdown();
      } catch (const std::exception& e) {
        failures[i] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  if (alone) {
    for (auto& s : states_) {
      if (!s->role->hold_at_safe_state && !(incremental() && setpoint_group(*s) >= 0))
        s->last.assign(s->role->group.count, s->role->group.safe_value);
      s->pending = false;
    }
    outputs_valid_ = false;
    if (bench_.homeostat) hold_ = bench_.homeostat->group.safe_value;
  }
  std::string failed;
  for (std::size_t i = 0; i < failures.size(); ++i)
    if (!failures[i].empty()) failed += failure_line(bench_.instruments[i].name, failures[i]);
  if (!failed.empty())
    throw DeviceError(
        fmt::format("{}: the safe state was not reached everywhere:{}", bench_.name, failed));
}

BenchTally BenchDevice::tally() const {
  std::lock_guard<std::recursive_timed_mutex> lock(call_mutex());
  return tally_;
}

}  // namespace aeqlab::instruments
