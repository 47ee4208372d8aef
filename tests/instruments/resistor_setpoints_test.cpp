// The grid of a programmable resistor's values (docs/pot-bench.md): taps spaced in resistance
// with the wiper's own resistance, or in conductance, and the rule for a value off the grid.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "instruments/resistor_setpoints.hpp"

namespace aeqlab::instruments {
namespace {

using nlohmann::json;

TEST(ResistorSetpoints, ResistanceSpacedTapsStartAtTheWiperResistance) {
  const SafeRange range{1e-4, 1e-1};
  const auto g =
      parse_setpoint_grid(json::parse(R"({"spacing": "resistance", "taps": 3, "wiper_ohms": 50,
                      "end_to_end_ohms": 1000})"),
                          range, "bench.setpoints");
  const auto v = grid_values(g, range);
  ASSERT_EQ(v.size(), 3u);
  // R = 50, 550, 1050 ohms: conductances crowd at the low end.
  EXPECT_DOUBLE_EQ(v[0], 1.0 / 1050);
  EXPECT_DOUBLE_EQ(v[1], 1.0 / 550);
  EXPECT_DOUBLE_EQ(v[2], 1.0 / 50);
  EXPECT_DOUBLE_EQ(nearest_tap(v, 1.0 / 600), 1.0 / 550);
  EXPECT_DOUBLE_EQ(nearest_tap(v, 1.0), 1.0 / 50);
}

TEST(ResistorSetpoints, ConductanceSpacedTapsAreThePartsOwnArithmetic) {
  const SafeRange range{1e-7, 1e-3};
  const auto g = parse_setpoint_grid(json::parse(R"({"taps": 256})"), range, "s");
  const auto v = grid_values(g, range);
  ASSERT_EQ(v.size(), 256u);
  const double step = (range.high - range.low) / 255.0;
  EXPECT_EQ(v[17], range.low + 17.0 * step);
  EXPECT_LE(v.back(), range.high);
  EXPECT_EQ(nearest_tap(v, range.low + 17.4 * step), v[17]);
  EXPECT_EQ(nearest_tap(v, range.low + 17.6 * step), v[18]);
}

TEST(ResistorSetpoints, AGridThePartsCannotHoldIsRefusedByKey) {
  const SafeRange range{1e-4, 1e-2};
  auto refusal = [&](const char* text) {
    try {
      parse_setpoint_grid(json::parse(text), range, "bench.setpoints");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_NE(refusal(R"({"spacing": "resistance", "end_to_end_ohms": 1000})")
                .find("bench.setpoints.wiper_ohms"),
            std::string::npos);
  // 20 ohms of wiper alone is 0.05 S, above the parameters' 0.01 S.
  EXPECT_NE(refusal(R"({"spacing": "resistance", "wiper_ohms": 20, "end_to_end_ohms": 1000})")
                .find("outside the parameters' safe range"),
            std::string::npos);
  EXPECT_NE(refusal(R"({"off_grid": "clip"})").find("bench.setpoints.off_grid"), std::string::npos);
  EXPECT_NE(refusal(R"({"taps": 1})").find("bench.setpoints.taps"), std::string::npos);
  EXPECT_EQ(setpoint_grid_to_json(parse_setpoint_grid(json::parse(R"({"off_grid": "refuse"})"),
                                                      range, "s"))["off_grid"],
            "refuse");
}

// End-to-end tolerance: a part's R_AB is the nominal within +-tol. The grid is computed on the
// calibrated R_AB where the bench file gives one (it must lie within the tolerance); without one,
// every part the tolerance allows must still have safe taps.
TEST(ResistorSetpoints, EndToEndToleranceScalesTheGridAndBoundsItsCalibration) {
  const SafeRange range{1e-5, 1e-1};
  const auto nominal =
      parse_setpoint_grid(json::parse(R"({"spacing": "resistance", "taps": 3, "wiper_ohms": 50,
                      "end_to_end_ohms": 10000, "end_to_end_tolerance": 0.2})"),
                          range, "bench.setpoints");
  EXPECT_DOUBLE_EQ(grid_values(nominal, range).front(), 1.0 / 10050);
  const auto calibrated =
      parse_setpoint_grid(json::parse(R"({"spacing": "resistance", "taps": 3, "wiper_ohms": 50,
                      "end_to_end_ohms": 10000, "end_to_end_tolerance": 0.2,
                      "measured_end_to_end_ohms": 8500})"),
                          range, "bench.setpoints");
  const auto v = grid_values(calibrated, range);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_DOUBLE_EQ(v[0], 1.0 / 8550);  // the whole grid on the measured R_AB, wiper unchanged
  EXPECT_DOUBLE_EQ(v[1], 1.0 / 4300);
  EXPECT_DOUBLE_EQ(v[2], 1.0 / 50);
  EXPECT_EQ(setpoint_grid_to_json(calibrated)["measured_end_to_end_ohms"], 8500.0);

  auto refusal = [&](const char* text, const SafeRange& r) {
    try {
      parse_setpoint_grid(json::parse(text), r, "bench.setpoints");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  // 7.5 kOhm is 25% below 10 kOhm: outside +-20%.
  EXPECT_NE(refusal(R"({"spacing": "resistance", "wiper_ohms": 50, "end_to_end_ohms": 10000,
                        "end_to_end_tolerance": 0.2, "measured_end_to_end_ohms": 7500})",
                    range)
                .find("bench.setpoints.measured_end_to_end_ohms"),
            std::string::npos);
  // The nominal top tap (1/10050 S) is safe above 9.5e-5 S, but a part 20% high is not.
  const SafeRange tight{9.5e-5, 1e-1};
  EXPECT_EQ(
      refusal(R"({"spacing": "resistance", "wiper_ohms": 50, "end_to_end_ohms": 10000})", tight),
      "(accepted)");
  EXPECT_NE(refusal(R"({"spacing": "resistance", "wiper_ohms": 50, "end_to_end_ohms": 10000,
                        "end_to_end_tolerance": 0.2})",
                    tight)
                .find("at the edge of end_to_end_tolerance"),
            std::string::npos);
  // Calibrated at 9 kOhm, that part's taps are safe again.
  EXPECT_EQ(refusal(R"({"spacing": "resistance", "wiper_ohms": 50, "end_to_end_ohms": 10000,
                        "end_to_end_tolerance": 0.2, "measured_end_to_end_ohms": 9000})",
                    tight),
            "(accepted)");
  EXPECT_NE(refusal(R"({"end_to_end_tolerance": 0.01})", range)
                .find("bench.setpoints.end_to_end_tolerance"),
            std::string::npos);
  EXPECT_NE(refusal(R"({"spacing": "resistance", "wiper_ohms": 50, "end_to_end_ohms": 10000,
                        "end_to_end_tolerance": 1.5})",
                    range)
                .find("bench.setpoints.end_to_end_tolerance"),
            std::string::npos);
}

TEST(ResistorSetpoints, PerWriteTimeIsDeclaredInMicroseconds) {
  const SafeRange range{1e-7, 1e-3};
  const auto g = parse_setpoint_grid(json::parse(R"({"write_us": 10})"), range, "s");
  EXPECT_DOUBLE_EQ(g.write_seconds, 10e-6);
  EXPECT_DOUBLE_EQ(setpoint_grid_to_json(g)["write_us"].get<double>(), 10.0);
  EXPECT_EQ(parse_setpoint_grid(json::parse("{}"), range, "s").write_seconds, 0.0);
  EXPECT_THROW(parse_setpoint_grid(json::parse(R"({"write_us": -1})"), range, "s"), ConfigError);
}

}  // namespace
}  // namespace aeqlab::instruments
