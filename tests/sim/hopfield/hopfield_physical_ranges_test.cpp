// The Hopfield device's physical settings within their stated ranges (docs/config-reference.md,
// "Physical ranges"): 1e308 in a gain, an interval, the threshold or the parameter limit is
// refused naming the key and the range (on the landed code float32 relaxations overflowed).

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "sim/hopfield/hopfield_spec.hpp"

namespace aeqlab::sim {
namespace {

using ::testing::HasSubstr;

std::string refusal_of(const nlohmann::json& section) {
  try {
    // Through text, as a config file gives it (whole numbers read back unsigned).
    (void)hopfield_spec_from_json(nlohmann::json::parse(section.dump()));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "accepted: " + section.dump();
}

TEST(HopfieldPhysicalRanges, EachKeyRefusesNonsenseNamingItsRange) {
  const nlohmann::json base = {{"type", "hopfield"}, {"layers", {2, 4, 2}}};
  auto with = [&](const char* key, const nlohmann::json& v) {
    auto s = base;
    s[key] = v;
    return s;
  };
  EXPECT_THAT(refusal_of(with("gains", {1e308, 1.0})),
              HasSubstr("device.gains: must lie in [1e-12, 1e+06]"));
  EXPECT_THAT(refusal_of(with("intervals", {{0.0, 1e308}, {0.0, 1.0}})),
              HasSubstr("device.intervals: must lie in [-1e+06, 1e+06]"));
  EXPECT_THAT(refusal_of(with("threshold", 1e308)), HasSubstr("device.threshold: must lie in"));
  EXPECT_THAT(refusal_of(with("input_range", {-1e308, 1.0})),
              HasSubstr("device.input_range: must lie in"));
  EXPECT_THAT(refusal_of(with("parameter_limit", 1e308)),
              HasSubstr("device.parameter_limit: must lie in [1e-12, 1e+06]"));
  EXPECT_NO_THROW((void)hopfield_spec_from_json(nlohmann::json::parse(base.dump())));
}

}  // namespace
}  // namespace aeqlab::sim
