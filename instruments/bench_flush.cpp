// The bench device's wire-write path (docs/pot-bench.md, "Per-write time"): set roles are staged
// as the trainer calls, and one flush sends everything staged in one message per instrument, the
// instruments in parallel, before anything is measured or settled.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>
#include <thread>

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"
#include "drivers/errors.hpp"
#include "instruments/bench_device.hpp"
#include "instruments/bench_role_state.hpp"
#include "instruments/crew.hpp"
#include "instruments/instrument.hpp"

namespace aeqlab::instruments {

using Clock = std::chrono::steady_clock;

std::vector<std::size_t> BenchDevice::round_trips_now() const {
  std::vector<std::size_t> n(instruments_.size());
  for (std::size_t i = 0; i < instruments_.size(); ++i) n[i] = instruments_[i]->round_trips();
  return n;
}

// Instruments work in parallel, so the critical path is the busiest one, not the sum.
void BenchDevice::count_round_trips_since(const std::vector<std::size_t>& before) {
  std::size_t critical = 0;
  for (std::size_t i = 0; i < instruments_.size(); ++i) {
    const std::size_t d = instruments_[i]->round_trips() - before[i];
    critical = std::max(critical, d);
    tally_.round_trips += d;
  }
  tally_.critical_round_trips += critical;
}

BenchDevice::RoleState& BenchDevice::state_of(const ChannelRole& role) {
  for (auto& s : states_)
    if (s->role == &role) return *s;
  throw DeviceError(fmt::format("{}: \"{}\" is not a set role", bench_.name, role.group.name));
}

void BenchDevice::stage(const ChannelRole& role, std::span<const double> values) {
  auto& s = state_of(role);
  s.staged.assign(values.begin(), values.end());
  s.pending = true;
  outputs_valid_ = false;
}

void BenchDevice::flush(bool settling) {
  // Per instrument: the plain values in one set call, then any ramped role step by step.
  struct Work {
    std::vector<int> channels;
    std::vector<double> values;
    std::vector<std::pair<RoleState*, const RoleState::Part*>> ramped;
    std::vector<RoleState*> done;
    // Incremental parts: per set-point group and part, the steps from the tracked taps.
    struct Stepped {
      std::size_t group, offset;
      const std::vector<int>* channels;
      std::vector<long> steps;
    };
    std::vector<Stepped> stepped;
  };
  std::map<std::size_t, Work> work;
  std::map<std::size_t, std::size_t> steps_per_array;
  for (auto& s : states_) {
    if (!s->pending) continue;
    const std::ptrdiff_t group = incremental() ? setpoint_group(*s) : -1;
    for (const auto& part : s->parts) {
      auto& w = work[part.instrument];
      const auto& ramp = s->role->ramp;
      if (group >= 0) {
        // Worked out before anything goes out: a step past a part's end is refused whole.
        auto steps =
            steps_to(static_cast<std::size_t>(group), part.offset,
                     std::span<const double>(s->staged).subspan(part.offset, part.channels.size()));
        for (long n : steps)
          steps_per_array[part.instrument] += static_cast<std::size_t>(std::labs(n));
        w.stepped.push_back(
            {static_cast<std::size_t>(group), part.offset, &part.channels, std::move(steps)});
      } else if (ramp.step > 0) {
        w.ramped.push_back({s.get(), &part});
      } else {
        w.channels.insert(w.channels.end(), part.channels.begin(), part.channels.end());
        w.values.insert(
            w.values.end(), s->staged.begin() + static_cast<std::ptrdiff_t>(part.offset),
            s->staged.begin() + static_cast<std::ptrdiff_t>(part.offset + part.channels.size()));
      }
    }
  }
  if (work.empty()) return;
  const auto before = round_trips_now();
  const auto began = Clock::now();
  on_the_wire("writing", [&] {
    std::vector<std::pair<std::size_t, std::function<void()>>> jobs;
    for (auto& [i, w] : work)
      jobs.push_back({i, [this, i = i, &w] {
                        auto& inst = *instruments_[i];
                        if (!w.channels.empty()) inst.set(w.channels, w.values);
                        for (const auto& st : w.stepped) {
                          try {
                            inst.step(*st.channels, st.steps);
                          } catch (const drivers::TransportError& e) {
                            // The array names its channel; say which elements they hold.
                            const auto& g = bench_.parameter_setpoints[st.group].group;
                            throw drivers::TransportError(
                                fmt::format("{} (steps for parameter {}[{}..{}])", e.what(), g.name,
                                            st.offset, st.offset + st.steps.size() - 1));
                          }
                        }
                        for (auto [s, part] : w.ramped) {
                          const std::size_t n = part->channels.size();
                          std::vector<double> from(
                              s->last.begin() + static_cast<std::ptrdiff_t>(part->offset),
                              s->last.begin() + static_cast<std::ptrdiff_t>(part->offset + n));
                          std::vector<double> to(
                              s->staged.begin() + static_cast<std::ptrdiff_t>(part->offset),
                              s->staged.begin() + static_cast<std::ptrdiff_t>(part->offset + n));
                          double largest = 0.0;
                          for (std::size_t c = 0; c < n; ++c)
                            if (std::isfinite(from[c]))
                              largest = std::max(largest, std::abs(to[c] - from[c]));
                          const auto& ramp = s->role->ramp;
                          const auto steps = static_cast<std::size_t>(
                              std::max(1.0, std::ceil(largest / ramp.step)));
                          std::vector<double> v(n);
                          for (std::size_t k = 1; k <= steps; ++k) {
                            for (std::size_t c = 0; c < n; ++c)
                              v[c] = k == steps || !std::isfinite(from[c])
                                         ? to[c]
                                         : from[c] + (to[c] - from[c]) * static_cast<double>(k) /
                                                         static_cast<double>(steps);
                            if (k > 1 && ramp.rate > 0)
                              std::this_thread::sleep_for(std::chrono::duration<double>(
                                  largest / static_cast<double>(steps) / ramp.rate));
                            inst.set(part->channels, v);
                          }
                        }
                      }});
    if (!steps_per_array.empty()) positions_known_ = false;
    crew_->run(std::move(jobs));
  });
  for (const auto& [i, w] : work)
    for (const auto& st : w.stepped) moved(st.group, st.offset, st.steps);
  positions_known_ = true;
  std::vector<RoleState*> setpoints;
  std::map<std::size_t, std::size_t> elements;  // per array: set-points written in this flush
  for (auto& s : states_)
    if (s->pending) {
      s->last = s->staged;
      s->pending = false;
      for (const auto& p : bench_.parameter_setpoints)
        if (s->role == &p) {
          setpoints.push_back(s.get());
          if (!incremental())
            for (const auto& part : s->parts) elements[part.instrument] += part.channels.size();
        }
    }
  count_round_trips_since(before);
  ++tally_.flushes;
  // An incremental part takes each step in turn (docs/pot-bench.md, "Incremental-only parts").
  for (const auto& [i, n] : steps_per_array) elements[i] += n;
  // The parts take each element's write in turn, the arrays side by side: the flush has landed
  // once the busiest array has taken all of its writes (docs/pot-bench.md, "Per-write time").
  std::size_t busiest = 0;
  for (const auto& [instrument, n] : elements) {
    tally_.setpoint_writes += n;
    busiest = std::max(busiest, n);
  }
  const double write_s =
      bench_.setpoint_grid ? static_cast<double>(busiest) * bench_.setpoint_grid->write_seconds : 0;
  tally_.write_seconds += write_s;
  const auto landed =
      began + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(write_s));
  // The circuit starts settling once the writes have landed; when a settle follows, the
  // read-back of write-verify runs inside its wait (docs/pot-bench.md, "Step time against the
  // physical limit").
  last_flush_ = std::max(Clock::now(), landed);
  if (bench_.write_verify && !setpoints.empty()) verify(setpoints, settling);
}

}  // namespace aeqlab::instruments
