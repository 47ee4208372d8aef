// Write-verify of the parameter set-points (docs/pot-bench.md): a part on SPI or I2C behind a
// controller can miss a write without any error on the wire; only reading it back tells.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include "core/error.hpp"
#include "instruments/bench_device.hpp"
#include "instruments/bench_role_state.hpp"
#include "instruments/crew.hpp"
#include "instruments/instrument.hpp"

namespace aeqlab::instruments {

void BenchDevice::verify(const std::vector<RoleState*>& written, bool settling) {
  const auto& rule = *bench_.write_verify;
  struct Miss {
    RoleState* state;
    const RoleState::Part* part;
    std::size_t index;  // into the part
    double read;
  };
  for (int attempt = 0;; ++attempt) {
    // Read every written part back, instruments at once.
    std::vector<Miss> misses;
    std::map<std::size_t, std::vector<std::pair<RoleState*, const RoleState::Part*>>> by_instrument;
    for (RoleState* s : written)
      for (const auto& part : s->parts) {
        if (!instruments_[part.instrument]->can_read_setpoints())
          throw DeviceError(fmt::format(
              "{}: write_verify: instrument \"{}\" cannot read its set-points back (its profile "
              "has no get command)",
              bench_.name, bench_.instruments[part.instrument].name));
        by_instrument[part.instrument].push_back({s, &part});
      }
    std::map<const RoleState::Part*, std::vector<double>> read;
    for (auto& [i, list] : by_instrument)
      for (auto [s, part] : list) read[part].resize(part->channels.size());
    // One query per array whatever groups it carries, the arrays at once.
    SetpointReads reads;
    for (auto& [i, list] : by_instrument)
      for (auto [s, part] : list) reads[i].push_back({part->channels, read[part]});
    const auto before = round_trips_now();
    const std::size_t critical_before = tally_.critical_round_trips;
    on_the_wire("reading the set-points back", [&] { read_setpoints_at_once(reads); });
    count_round_trips_since(before);
    // Read while the settle's wait runs: the circuit settles whether or not its parts are read.
    if (settling) tally_.round_trips_in_settle += tally_.critical_round_trips - critical_before;
    for (auto& [i, list] : by_instrument)
      for (auto [s, part] : list)
        for (std::size_t c = 0; c < part->channels.size(); ++c) {
          const double want = s->last[part->offset + c], got = read[part][c];
          if (!(std::abs(got - want) <= rule.tolerance)) misses.push_back({s, part, c, got});
        }
    if (misses.empty()) return;
    if (attempt >= rule.retries) {
      const Miss& m = misses.front();
      const std::size_t element = m.part->offset + m.index;
      throw DeviceError(fmt::format(
          "{}: parameter {}[{}] (instrument \"{}\" channel {}) did not take its write: wrote {}, "
          "reads back {} (tolerance {}) after {} attempt(s){}",
          bench_.name, m.state->role->group.name, element,
          bench_.instruments[m.part->instrument].name, m.part->channels[m.index],
          m.state->last[element], m.read, rule.tolerance, attempt + 1,
          misses.size() > 1 ? fmt::format("; {} more element(s) did not either", misses.size() - 1)
                            : std::string()));
    }
    // Write again only what did not take, one message per instrument. An incremental part is
    // stepped from the tap it reads back at: the read-back is the truth, so the tracked tap is
    // corrected first (docs/pot-bench.md, "Incremental-only parts").
    spdlog::warn("{}: {} set-point(s) did not verify; writing them again", bench_.name,
                 misses.size());
    struct Again {
      std::vector<int> channels;
      std::vector<double> values;                              // absolute parts
      std::vector<long> steps;                                 // incremental parts
      std::vector<std::pair<std::size_t, std::size_t>> moved;  // (group, element) per step
      std::size_t writes = 0;                                  // elements written or steps taken
    };
    std::map<std::size_t, Again> again;
    for (const auto& m : misses) {
      auto& a = again[m.part->instrument];
      const std::size_t element = m.part->offset + m.index;
      a.channels.push_back(m.part->channels[m.index]);
      if (incremental()) {
        const auto group = static_cast<std::size_t>(setpoint_group(*m.state));
        const std::size_t at = tap_of(group, m.read);
        positions_[group][element] = at;
        const long step =
            static_cast<long>(tap_of(group, m.state->last[element])) - static_cast<long>(at);
        a.steps.push_back(step);
        a.moved.push_back({group, element});
        a.writes += static_cast<std::size_t>(std::labs(step));
      } else {
        a.values.push_back(m.state->last[element]);
        ++a.writes;
      }
    }
    tally_.rewrites += misses.size();
    // The rewrites cost per-write time as any write does (docs/pot-bench.md, "Per-write time").
    std::size_t busiest = 0;
    for (const auto& [i, a] : again) {
      busiest = std::max(busiest, a.writes);
      tally_.setpoint_writes += a.writes;
    }
    if (bench_.setpoint_grid)
      tally_.write_seconds += static_cast<double>(busiest) * bench_.setpoint_grid->write_seconds;
    const auto before_write = round_trips_now();
    const auto began = std::chrono::steady_clock::now();
    if (incremental()) positions_known_ = false;  // until the steps are known to have gone out
    on_the_wire("writing the set-points again", [&] {
      std::vector<std::pair<std::size_t, std::function<void()>>> jobs;
      for (auto& [i, a] : again)
        jobs.push_back({i, [this, i = i, &a] {
                          if (a.steps.empty())
                            instruments_[i]->set(a.channels, a.values);
                          else
                            instruments_[i]->step(a.channels, a.steps);
                        }});
      crew_->run(std::move(jobs));
    });
    for (const auto& [i, a] : again)
      for (std::size_t k = 0; k < a.steps.size(); ++k)
        positions_[a.moved[k].first][a.moved[k].second] = static_cast<std::size_t>(
            static_cast<long>(positions_[a.moved[k].first][a.moved[k].second]) + a.steps[k]);
    positions_known_ = true;
    count_round_trips_since(before_write);
    // A rewrite is a change: the settle starts again once it has landed.
    const auto landed =
        began + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    std::chrono::duration<double>(bench_.setpoint_grid
                                                      ? static_cast<double>(busiest) *
                                                            bench_.setpoint_grid->write_seconds
                                                      : 0.0));
    last_flush_ = std::max(std::chrono::steady_clock::now(), landed);
  }
}

}  // namespace aeqlab::instruments
