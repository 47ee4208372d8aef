#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/nudging.hpp"

using namespace aeqlab;

TEST(Nudging, ModesGiveThePaperPairs) {
  const auto o = nudgings_for(NudgingMode::optimistic, 0.5);
  EXPECT_DOUBLE_EQ(o.first, 0.0);
  EXPECT_DOUBLE_EQ(o.second, 0.5);
  const auto p = nudgings_for(NudgingMode::pessimistic, 0.5);
  EXPECT_DOUBLE_EQ(p.first, -0.5);
  EXPECT_DOUBLE_EQ(p.second, 0.0);
  const auto c = nudgings_for(NudgingMode::centered, 0.5);
  EXPECT_DOUBLE_EQ(c.first, -0.25);
  EXPECT_DOUBLE_EQ(c.second, 0.25);
}

TEST(Nudging, UnknownModeNamesTheKeyAndTheValue) {
  try {
    nudging_mode_from("centred");
    FAIL() << "accepted an unknown mode";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("trainer.mode"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("centred"), std::string::npos);
  }
}
