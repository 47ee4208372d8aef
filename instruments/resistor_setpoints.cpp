#include "instruments/resistor_setpoints.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"

namespace aeqlab::instruments {

using nlohmann::json;

SetpointGrid parse_setpoint_grid(const json& j, const SafeRange& range, const std::string& where) {
  const std::set<std::string> keys = {"spacing",
                                      "taps",
                                      "wiper_ohms",
                                      "end_to_end_ohms",
                                      "end_to_end_tolerance",
                                      "measured_end_to_end_ohms",
                                      "off_grid",
                                      "tolerance",
                                      "write_us",
                                      "mode",
                                      "power_on_tap"};
  if (!j.is_object()) throw ConfigError(fmt::format("{}: expected an object", where));
  for (const auto& [k, v] : j.items())
    if (!keys.count(k))
      throw ConfigError(fmt::format(
          "{}.{}: unknown key (known here: end_to_end_ohms, end_to_end_tolerance, "
          "measured_end_to_end_ohms, mode, off_grid, power_on_tap, spacing, taps, tolerance, "
          "wiper_ohms, write_us)",
          where, k));
  SetpointGrid g;
  auto number = [&](const char* key, double fallback) {
    if (!j.contains(key)) return fallback;
    const auto& v = j.at(key);
    if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < 0)
      throw ConfigError(fmt::format("{}.{}: expected a number >= 0, got {}", where, key, v.dump()));
    return v.get<double>();
  };
  const std::string spacing = j.value("spacing", "conductance");
  if (spacing == "resistance")
    g.spacing = SetpointGrid::Spacing::resistance;
  else if (spacing != "conductance")
    throw ConfigError(
        fmt::format("{}.spacing: \"{}\" (expected conductance or resistance)", where, spacing));
  const double taps = number("taps", 256);
  if (taps < 2 || taps > 1e7 || taps != std::floor(taps))
    throw ConfigError(fmt::format("{}.taps: expected a whole number of taps >= 2", where));
  g.taps = static_cast<std::size_t>(taps);
  g.wiper_ohms = number("wiper_ohms", 0.0);
  g.end_to_end_ohms = number("end_to_end_ohms", 0.0);
  g.tolerance = number("tolerance", g.tolerance);
  g.end_to_end_tolerance = number("end_to_end_tolerance", 0.0);
  g.measured_end_to_end_ohms = number("measured_end_to_end_ohms", 0.0);
  g.write_seconds = number("write_us", 0.0) * 1e-6;
  const std::string mode = j.value("mode", "absolute");
  if (mode == "incremental")
    g.mode = SetpointGrid::Mode::incremental;
  else if (mode != "absolute")
    throw ConfigError(
        fmt::format("{}.mode: \"{}\" (expected absolute or incremental)", where, mode));
  const double power_on = number("power_on_tap", static_cast<double>(g.taps / 2));
  if (power_on != std::floor(power_on) || power_on > static_cast<double>(g.taps - 1))
    throw ConfigError(fmt::format("{}.power_on_tap: {} is not a tap of a {}-tap part (0 to {})",
                                  where, power_on, g.taps, g.taps - 1));
  if (j.contains("power_on_tap") && g.mode != SetpointGrid::Mode::incremental)
    throw ConfigError(where +
                      ".power_on_tap: only incremental parts (mode: \"incremental\") "
                      "start from a power-on tap the bench tracks");
  g.power_on_tap = static_cast<std::size_t>(power_on);
  if (g.end_to_end_tolerance >= 1)
    throw ConfigError(fmt::format(
        "{}.end_to_end_tolerance: {} is a relative tolerance (0.2 for +-20%); must be < 1", where,
        g.end_to_end_tolerance));
  const std::string off = j.value("off_grid", "round");
  if (off == "refuse")
    g.off_grid = SetpointGrid::OffGrid::refuse;
  else if (off != "round")
    throw ConfigError(fmt::format("{}.off_grid: \"{}\" (expected round or refuse)", where, off));
  if (g.spacing == SetpointGrid::Spacing::resistance) {
    if (!(g.end_to_end_ohms > 0))
      throw ConfigError(where + ".end_to_end_ohms: a resistance grid needs R_AB > 0 (ohms)");
    if (!(g.wiper_ohms > 0))
      throw ConfigError(where +
                        ".wiper_ohms: a resistance grid needs the wiper resistance > 0 (at tap 0 "
                        "the part is the wiper alone)");
    const double nominal = g.end_to_end_ohms, tol = g.end_to_end_tolerance;
    if (g.measured_end_to_end_ohms > 0) {
      const double m = g.measured_end_to_end_ohms;
      if (std::abs(m - nominal) > tol * nominal * (1 + 1e-12))
        throw ConfigError(fmt::format(
            "{}.measured_end_to_end_ohms: {} ohms is outside the part's end-to-end tolerance "
            "({} ohms +- {}%); recalibrate, or the part is out of specification",
            where, m, nominal, 100 * tol));
      // Every tap's conductance must be one the parameters may hold.
      for (double v : grid_values(g, range))
        if (!range.contains(v))
          throw ConfigError(fmt::format(
              "{}: tap conductance {} S lies outside the parameters' safe range [{}, {}]", where, v,
              range.low, range.high));
    } else {
      // Uncalibrated: whatever R_AB the part has within its tolerance, its taps must be safe.
      for (double f : {1 - tol, 1 + tol}) {
        SetpointGrid worst = g;
        worst.end_to_end_ohms = nominal * f;
        for (double v : grid_values(worst, range))
          if (!range.contains(v))
            throw ConfigError(fmt::format(
                "{}: tap conductance {} S (R_AB = {} ohms, at the edge of end_to_end_tolerance) "
                "lies outside the parameters' safe range [{}, {}]",
                where, v, worst.end_to_end_ohms, range.low, range.high));
      }
    }
  } else if (g.end_to_end_tolerance > 0 || g.measured_end_to_end_ohms > 0) {
    throw ConfigError(fmt::format(
        "{}.{}: an end-to-end resistance belongs to a resistance-spaced grid (spacing: "
        "\"resistance\")",
        where,
        g.measured_end_to_end_ohms > 0 ? "measured_end_to_end_ohms" : "end_to_end_tolerance"));
  }
  return g;
}

json setpoint_grid_to_json(const SetpointGrid& g) {
  json j = {
      {"spacing", g.spacing == SetpointGrid::Spacing::resistance ? "resistance" : "conductance"},
      {"taps", g.taps},
      {"off_grid", g.off_grid == SetpointGrid::OffGrid::refuse ? "refuse" : "round"},
      {"tolerance", g.tolerance}};
  if (g.spacing == SetpointGrid::Spacing::resistance) {
    j["wiper_ohms"] = g.wiper_ohms;
    j["end_to_end_ohms"] = g.end_to_end_ohms;
    if (g.end_to_end_tolerance > 0) j["end_to_end_tolerance"] = g.end_to_end_tolerance;
    if (g.measured_end_to_end_ohms > 0) j["measured_end_to_end_ohms"] = g.measured_end_to_end_ohms;
  }
  if (g.write_seconds > 0) j["write_us"] = g.write_seconds * 1e6;
  if (g.mode == SetpointGrid::Mode::incremental) {
    j["mode"] = "incremental";
    j["power_on_tap"] = g.power_on_tap;
  }
  return j;
}

std::vector<double> grid_values(const SetpointGrid& g, const SafeRange& range) {
  std::vector<double> v(g.taps);
  const double last = static_cast<double>(g.taps - 1);
  for (std::size_t n = 0; n < g.taps; ++n) {
    const double k = static_cast<double>(n);
    // low + k step, as a part computes its k-th tap; the top one kept inside the range.
    if (g.spacing == SetpointGrid::Spacing::conductance)
      v[n] = std::min(range.high, range.low + k * ((range.high - range.low) / last));
    else
      v[n] = 1.0 / (g.wiper_ohms + k * end_to_end_ohms_used(g) / last);
  }
  std::sort(v.begin(), v.end());
  return v;
}

double end_to_end_ohms_used(const SetpointGrid& g) {
  return g.measured_end_to_end_ohms > 0 ? g.measured_end_to_end_ohms : g.end_to_end_ohms;
}

std::size_t grid_index_of_tap(const SetpointGrid& g, std::size_t tap) {
  return g.spacing == SetpointGrid::Spacing::resistance ? g.taps - 1 - tap : tap;
}

double nearest_tap(const std::vector<double>& values, double value) {
  const auto it = std::lower_bound(values.begin(), values.end(), value);
  if (it == values.begin()) return values.front();
  if (it == values.end()) return values.back();
  const double above = *it, below = *(it - 1);
  return value - below <= above - value ? below : above;
}

}  // namespace aeqlab::instruments
