// Physical settings of the circuit devices (layered and netlist) within their stated ranges
// (docs/config-reference.md, "Physical ranges"): a value of 1e308, a negative conductance, a NaN
// is refused naming the key (or the netlist's element and line) and the range, before anything is
// solved. On the landed code each of these was taken and the run failed later on a NaN, or ran.

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../../core/temp_dir.hpp"
#include "core/error.hpp"
#include "netlist_deck.hpp"
#include "sim/circuit/circuit_device.hpp"
#include "sim/circuit/circuit_spec.hpp"

namespace aeqlab::sim {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::string refusal_of(const nlohmann::json& section) {
  try {
    // Through text, as a config file gives it (whole numbers read back unsigned).
    (void)circuit_spec_from_json(nlohmann::json::parse(section.dump()));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "accepted: " + section.dump();
}

// `section` with `value` put at the path `keys`.
nlohmann::json with(std::vector<std::string> keys, const nlohmann::json& value) {
  nlohmann::json section = {{"type", "circuit"}};
  nlohmann::json* at = &section;
  for (std::size_t i = 0; i + 1 < keys.size(); ++i) at = &(*at)[keys[i]];
  (*at)[keys.back()] = value;
  return section;
}

TEST(CircuitPhysicalRanges, EachKeyRefusesNonsenseNamingItsRange) {
  struct Case {
    std::vector<std::string> keys;
    nlohmann::json value;
    std::string named;
  };
  const std::vector<Case> cases = {
      {{"conductance", "max"}, 1e308, "device.conductance.max: must lie in [1e-15, 1000] S"},
      {{"conductance", "min"}, -1e-6, "device.conductance.min: must lie in [1e-15, 1000] S"},
      {{"bias_voltage"}, 1e308, "device.bias_voltage: must lie in [1e-06, 1000] V"},
      {{"hidden_range"}, {0.0, 1e308}, "device.hidden_range: must lie in [-1000, 1000] V"},
      {{"input_range"}, {-1e308, 1.0}, "device.input_range: must lie in [-1000, 1000] V"},
      {{"diode", "IS"}, 1e308, "device.diode.IS: must lie in [1e-30, 1] A"},
      {{"diode", "N"}, 1e-9, "device.diode.N: must lie in [0.01, 100]"},
      {{"nudge_limit"}, 1e308, "device.nudge_limit: must lie in [1e-15, 1000] S"},
      {{"pots", "taps"}, 2147483647, "device.pots.taps: must lie in [2, 1.04858e+06] taps"},
      {{"noise", "outputs"}, 1e308, "device.noise.outputs: must lie in [0, 1000] V rms"},
      {{"noise", "probes"}, -1.0, "device.noise.probes: must lie in [0, 1000] V rms"},
      {{"settle_seconds"}, 1e308, "device.settle_seconds: must lie in [0, 3600] s"},
      {{"solver", "tolerance"}, 1e308, "device.solver.tolerance: must lie in [1e-15, 1]"},
      {{"solver", "max_iterations"}, 2000000000, "device.solver.max_iterations: must lie in"},
      {{"max_rounds"}, 2000000000, "device.max_rounds: must lie in [1, 1e+06]"},
      {{"compliance", "weights"}, {1e308, 1e-6}, "device.compliance"},
  };
  for (const auto& c : cases)
    EXPECT_THAT(refusal_of(with(c.keys, c.value)), HasSubstr(c.named)) << c.value.dump();
  // The defaults and the documented examples' values lie inside.
  EXPECT_NO_THROW((void)circuit_spec_from_json({{"type", "circuit"}}));
}

TEST(CircuitPhysicalRanges, ANaNSetInTheSpecIsRefusedToo) {
  CircuitSpec s;
  s.bias_voltage = std::nan("");
  try {
    s.validate();
    FAIL() << "NaN accepted";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("device.bias_voltage: must lie in"));
  }
  s = CircuitSpec{};
  s.output_noise = std::numeric_limits<double>::infinity();
  EXPECT_THROW(s.validate(), ConfigError);
}

// A netlist device: the netlist's own values are physical settings too, named by element and
// line.
TEST(CircuitPhysicalRanges, ANetlistsValuesAreCheckedNamingElementAndLine) {
  test_support::TempDir dir;
  const auto deck = dir / "deck.cir";
  auto refusal = [&](const std::string& from, const std::string& to) {
    std::string text = test_support::kNetlistDeck;
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    const auto section = test_support::netlist_device_section(deck, text);
    try {
      CircuitDevice device(netlist_spec_from_json(section));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return "accepted: " + to;
  };
  EXPECT_THAT(refusal("Vhi hi 0 DC 0.1", "Vhi hi 0 DC 1e308"),
              AllOf(HasSubstr(deck.string() + ":7"), HasSubstr("Vhi"),
                    HasSubstr("must lie in [-1000, 1000] V")));
  EXPECT_THAT(refusal("Rl1 o1 0 20k", "Rl1 o1 0 1e-300"),
              AllOf(HasSubstr(deck.string() + ":21"), HasSubstr("Rl1"),
                    HasSubstr("must lie in [1e-15, 1000] S")));
  EXPECT_THAT(refusal("D(IS=1e-9 N=1)", "D(IS=1e9 N=1)"),
              AllOf(HasSubstr("model dsi IS"), HasSubstr("must lie in [1e-30, 1] A")));
}

}  // namespace
}  // namespace aeqlab::sim
