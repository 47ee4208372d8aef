// Every value bound for a device passes a safe-range check that refuses, never clips.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/safe_range.hpp"

using namespace aeqlab;
using ::testing::HasSubstr;

namespace {

const ChannelGroup kGate{"gate", 3, "V", {-1.5, 2.5}, 0.0};

std::string refusal(std::span<const double> values, const ChannelGroup& group = kGate) {
  try {
    require_in_range(group, values, "knob");
  } catch (const SafeRangeError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(SafeRange, ValuesInsideAndOnTheEdgesPass) {
  const std::vector<double> ok = {-1.5, 0.0, 2.5};
  EXPECT_NO_THROW(require_in_range(kGate, ok, "knob"));
  EXPECT_NO_THROW(require_in_range(kGate, std::vector<double>{}, "knob"));
  EXPECT_NO_THROW(require_in_range(SafeRange{0.0, 1.0}, 1.0, "nudge beta"));
}

TEST(SafeRange, AnOutOfRangeValueNamesTheGroupTheIndexAndTheRange) {
  const std::vector<double> values = {0.0, 1.0, 3.0};
  const std::string e = refusal(values);
  ASSERT_FALSE(e.empty()) << "3 V accepted on a [-1.5, 2.5] V channel";
  EXPECT_THAT(e, HasSubstr("knob"));
  EXPECT_THAT(e, HasSubstr("gate[2]"));
  EXPECT_THAT(e, HasSubstr("3"));
  EXPECT_THAT(e, HasSubstr("[-1.5, 2.5]"));
  EXPECT_THAT(e, HasSubstr("V"));
  const std::vector<double> low = {-1.6, 0.0, 0.0};
  EXPECT_THAT(refusal(low), HasSubstr("gate[0]"));
}

TEST(SafeRange, NonFiniteValuesAreRefused) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_THAT(refusal(std::vector<double>{0.0, nan, 0.0}), HasSubstr("gate[1]"));
  EXPECT_THAT(refusal(std::vector<double>{inf, 0.0, 0.0}), HasSubstr("gate[0]"));
  EXPECT_THAT(refusal(std::vector<double>{0.0, 0.0, -inf}), HasSubstr("gate[2]"));
  // An unbounded range still refuses NaN and infinity.
  const ChannelGroup open{"any", 1, "A", {-inf, inf}, 0.0};
  EXPECT_THAT(refusal(std::vector<double>{nan}, open), HasSubstr("any[0]"));
  EXPECT_THAT(refusal(std::vector<double>{inf}, open), HasSubstr("any[0]"));
}

TEST(SafeRange, TheIndexIsWithinTheGroupForRowsOfReplicas) {
  // Inputs of several replicas cross the contract as rows: index 4 of two rows of 3 is gate[1].
  const std::vector<double> rows = {0.0, 0.0, 0.0, 0.0, 9.0, 0.0};
  EXPECT_THAT(refusal(rows), HasSubstr("gate[1]"));
}

TEST(SafeRange, AScalarNamesWhatItIs) {
  const SafeRange beta{-0.9, 10.0};
  try {
    require_in_range(beta, -1.0, "nudge beta");
    FAIL() << "beta -1 accepted";
  } catch (const SafeRangeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("nudge beta"));
    EXPECT_THAT(e.what(), HasSubstr("-1"));
  }
  EXPECT_THROW(require_in_range(beta, std::nan(""), "nudge beta"), SafeRangeError);
}
