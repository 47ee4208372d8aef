// Incremental-only parts (docs/pot-bench.md, "Incremental-only parts"): digital pots that take
// up/down steps and no position (INC/U-D parts such as the X9C103, an RDAC's increment command).
// The bench tracks every element's tap from the part's declared power-on tap and writes each new
// set-point as the steps from there, one message per array as any other write.
//
// The rule for the tracked taps (logged when the bench connects): at connection, a part on an
// array the profile can read back is taken to be at the tap nearest the value it reports; a part
// that cannot be read is taken to be at its power-on tap (power-cycle such arrays before a run).
// At safe state, set-points declared "hold" stay where they are (still tracked); the others step
// back to the power-on tap, where a power cycle would leave them. A step interrupted on the wire
// leaves the taps unknown: safe state then leaves those arrays alone and says to power-cycle them.
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include <spdlog/spdlog.h>

#include "instruments/bench_role_state.hpp"
#include "instruments/instrument.hpp"
#include "instruments/resistor_setpoints.hpp"

namespace aeqlab::instruments {

bool BenchDevice::incremental() const {
  return bench_.setpoint_grid && bench_.setpoint_grid->mode == SetpointGrid::Mode::incremental;
}

std::ptrdiff_t BenchDevice::setpoint_group(const RoleState& s) const {
  for (std::size_t k = 0; k < bench_.parameter_setpoints.size(); ++k)
    if (s.role == &bench_.parameter_setpoints[k]) return static_cast<std::ptrdiff_t>(k);
  return -1;
}

void BenchDevice::start_incremental() {
  if (!incremental()) return;
  const auto& grid = *bench_.setpoint_grid;
  for (const auto& s : states_)
    if (setpoint_group(*s) >= 0)
      for (const auto& part : s->parts) {
        if (!instruments_[part.instrument]->can_step())
          throw ConfigError(fmt::format(
              "{}: instrument \"{}\" holds set-points of incremental parts but its profile has "
              "no step command (source.step)",
              bench_.name, bench_.instruments[part.instrument].name));
        // Write-verify steps a part that missed from the tap it reads back at.
        if (bench_.write_verify && !instruments_[part.instrument]->can_read_setpoints())
          throw ConfigError(fmt::format(
              "{}: write_verify: instrument \"{}\" holds incremental parts but its profile "
              "cannot read them back (no source.get or source.get_block)",
              bench_.name, bench_.instruments[part.instrument].name));
      }
  grids_.clear();
  for (const auto& p : bench_.parameter_setpoints) {
    grids_.push_back(grid_values(grid, p.group.safe));
    positions_.emplace_back(p.group.count, grid.power_on_tap);
  }
  std::size_t read = 0, assumed = 0;
  for (const auto& s : states_) {
    const std::ptrdiff_t k = setpoint_group(*s);
    if (k < 0) continue;
    const auto group = static_cast<std::size_t>(k);
    for (const auto& part : s->parts)
      for (std::size_t c = 0; c < part.channels.size(); ++c) {
        const double v = s->last[part.offset + c];
        if (std::isfinite(v)) {
          positions_[group][part.offset + c] = tap_of(group, v);
          ++read;
        } else {
          ++assumed;
        }
      }
  }
  positions_known_ = true;
  spdlog::info(
      "{}: incremental parts: set-points go out as up/down steps from each element's tracked "
      "tap; at connection {} element(s) taken at the tap nearest their read-back, {} at their "
      "power-on tap {} of {} (unreadable: power-cycle them before a run); safe state steps "
      "elements not held back to tap {}",
      bench_.name, read, assumed, grid.power_on_tap, grid.taps, grid.power_on_tap);
}

std::size_t BenchDevice::tap_of(std::size_t group, double v) const {
  const auto& taps = grids_[group];
  const auto it = std::lower_bound(taps.begin(), taps.end(), v);
  std::size_t index = static_cast<std::size_t>(it - taps.begin());
  if (index == taps.size() || (index > 0 && v - taps[index - 1] < *it - v)) --index;
  return grid_index_of_tap(*bench_.setpoint_grid, index);
}

std::vector<long> BenchDevice::steps_to(std::size_t group, std::size_t offset,
                                        std::span<const double> values) const {
  const auto& grid = *bench_.setpoint_grid;
  const auto& p = bench_.parameter_setpoints[group];
  std::vector<long> steps(values.size());
  for (std::size_t c = 0; c < steps.size(); ++c) {
    const std::size_t target = tap_of(group, values[c]);
    const std::size_t element = offset + c;
    const long from = static_cast<long>(positions_[group][element]);
    steps[c] = static_cast<long>(target) - from;
    const long to = from + steps[c];
    if (to < 0 || to > static_cast<long>(grid.taps - 1))
      throw DeviceError(fmt::format(
          "{}: parameter {}[{}]: a step of {} from tap {} leaves the part's taps 0 to {}",
          bench_.name, p.group.name, element, steps[c], from, grid.taps - 1));
  }
  return steps;
}

void BenchDevice::moved(std::size_t group, std::size_t offset, std::span<const long> steps) {
  for (std::size_t c = 0; c < steps.size(); ++c) {
    auto& pos = positions_[group][offset + c];
    pos = static_cast<std::size_t>(static_cast<long>(pos) + steps[c]);
  }
}

void BenchDevice::step_home(RoleState& s, std::size_t part_index) {
  const auto& part = s.parts[part_index];
  const std::ptrdiff_t k = setpoint_group(s);
  const auto group = static_cast<std::size_t>(k);
  const auto& grid = *bench_.setpoint_grid;
  if (!positions_known_) {
    spdlog::warn(
        "{}: instrument \"{}\": a step was interrupted, so the incremental parts' taps are not "
        "known; they are left as they are: power-cycle the array to bring them to tap {}",
        bench_.name, bench_.instruments[part.instrument].name, grid.power_on_tap);
    return;
  }
  std::vector<long> steps(part.channels.size());
  for (std::size_t c = 0; c < steps.size(); ++c)
    steps[c] = static_cast<long>(grid.power_on_tap) -
               static_cast<long>(positions_[group][part.offset + c]);
  instruments_[part.instrument]->step(part.channels, steps);
  moved(group, part.offset, steps);
  const double home = grids_[group][grid_index_of_tap(grid, grid.power_on_tap)];
  std::fill_n(s.last.begin() + static_cast<std::ptrdiff_t>(part.offset), part.channels.size(),
              home);
}

}  // namespace aeqlab::instruments
