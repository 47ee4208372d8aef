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

}  // namespace
}  // namespace aeqlab::instruments
