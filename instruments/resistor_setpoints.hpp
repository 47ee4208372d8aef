#pragma once
// The grid of values a programmable resistor can take, and the rule for a value off it
// (docs/pot-bench.md, "Setpoints like the real parts"). A digital pot used as a rheostat has N
// taps spaced evenly in resistance, R_n = R_wiper + n R_AB / (N - 1), so its conductances 1/R_n
// crowd at the low end; a programmable-conductance module's taps are spaced evenly in
// conductance over its range. The bench puts every set-point on the grid before it goes out,
// rounding to the nearest tap or refusing, as the bench file says: never silently.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/device_description.hpp"

namespace aeqlab::instruments {

struct SetpointGrid {
  enum class Spacing { conductance, resistance };
  enum class OffGrid { round, refuse };
  Spacing spacing = Spacing::conductance;
  std::size_t taps = 256;
  double wiper_ohms = 0.0;       // resistance spacing: the wiper's own resistance
  double end_to_end_ohms = 0.0;  // resistance spacing: R_AB, nominal
  OffGrid off_grid = OffGrid::round;
  double tolerance = 1e-9;  // relative: a value this close to a tap is on it
  // Resistance spacing: the part's end-to-end tolerance (relative, e.g. 0.01 for +-1%), and R_AB
  // as calibrated on this part (0: not calibrated, the grid is the nominal one). A calibrated
  // R_AB must lie within the tolerance of the nominal; without one, every tap of a part anywhere
  // in the tolerance must still be a conductance the parameters may hold.
  double end_to_end_tolerance = 0.0;
  double measured_end_to_end_ohms = 0.0;
  // Time the part takes to take one element's write (SPI/I2C word, relay settle), in seconds:
  // a write of n elements to one array costs n times this before it applies.
  double write_seconds = 0.0;
  // Incremental-only parts (INC/U-D pots such as the X9C103, an RDAC's increment command) take
  // up/down steps, never a position: the bench tracks each element's tap from the part's
  // power-on tap and sends the difference (docs/pot-bench.md, "Incremental-only parts").
  enum class Mode { absolute, incremental };
  Mode mode = Mode::absolute;
  std::size_t power_on_tap = 0;  // the part's own tap number (0 = wiper end); default taps / 2
};

// The `setpoints` section; `range` is the parameters' safe range (siemens), which a conductance
// grid spans and a resistance grid's conductances must lie in. ConfigError names the key.
SetpointGrid parse_setpoint_grid(const nlohmann::json& section, const SafeRange& range,
                                 const std::string& where);
nlohmann::json setpoint_grid_to_json(const SetpointGrid& grid);

// The grid's values (siemens), ascending: with resistance spacing, on the calibrated R_AB where
// there is one, else the nominal.
std::vector<double> grid_values(const SetpointGrid& grid, const SafeRange& range);
// R_AB the grid is computed on.
double end_to_end_ohms_used(const SetpointGrid& grid);
// The index in grid_values() of the part's tap number `tap`: resistance taps count up in
// resistance, so down in conductance. The same map takes an index back to a tap number.
std::size_t grid_index_of_tap(const SetpointGrid& grid, std::size_t tap);
// The tap nearest `value` in `values` (ascending).
double nearest_tap(const std::vector<double>& values, double value);

}  // namespace aeqlab::instruments
