// Bench channel numbers are exact (issue 15, finding 9): a number an int cannot hold is refused
// by key, never wrapped onto another channel, and a range is counted before it is expanded.

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "instruments/bench_config.hpp"

using namespace aeqlab;
using ::testing::HasSubstr;
using json = nlohmann::json;

namespace {

std::string refusal(const json& spec) {
  try {
    const auto channels = instruments::parse_channel_list(spec, "inputs.map[0].channels");
    return "accepted " + std::to_string(channels.size()) + " channels, first " +
           std::to_string(channels.front());
  } catch (const ConfigError& e) {
    return e.what();
  }
}

}  // namespace

TEST(ChannelNumbers, NumbersBeyondAnIntAreRefusedNotWrapped) {
  // 2^32 + 1 and 2^32 + 2 were served as channels 1 and 2; 3e9 as -1294967296.
  EXPECT_THAT(refusal(json::parse("[4294967297, 4294967298]")),
              HasSubstr("inputs.map[0].channels: 4294967297 is not a channel number"));
  EXPECT_THAT(refusal(json::parse("[3000000000]")), HasSubstr("3000000000 is not a channel"));
  EXPECT_THAT(refusal(json::parse("4294967297")), HasSubstr("is not a channel number"));
  EXPECT_THAT(refusal(json::parse("[1.5]")), HasSubstr("is not a channel number"));
  EXPECT_THAT(refusal("4294967297"), HasSubstr("is not a channel number"));
  EXPECT_THAT(refusal("+5"), HasSubstr("is not a channel number"));
}

TEST(ChannelNumbers, RangesAreCountedBeforeTheyAreExpanded) {
  // "1:1000000000" was a bare std::bad_alloc.
  EXPECT_THAT(refusal("1:1000000000"), HasSubstr("inputs.map[0].channels: names 1000000000"));
  EXPECT_THAT(refusal("(@1:3000000,20000001:22000000)"), HasSubstr("more than the"));
  EXPECT_EQ(instruments::parse_channel_list("(@101:110)", "x").size(), 10u);
  EXPECT_EQ(instruments::parse_channel_list(json::parse("[1000000000]"), "x").front(), 1000000000);
}

// A channel listed twice is named, the lowest one first, whether the lists are numbers, items or
// overlapping ranges; the check sorts the items, not the channels they expand to (found by the
// bench_config fuzz target: a range of 3 million channels took over 10 s to check under its
// sanitizers when every channel was sorted).
TEST(ChannelNumbers, AChannelListedTwiceIsTheLowestNamed) {
  const auto twice = [](const json& spec) {
    try {
      (void)instruments::parse_channel_list(spec, "x");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(twice("1:10,5:6"), "x: channel 5 is listed twice");
  EXPECT_EQ(twice("20:30,1:3,3"), "x: channel 3 is listed twice");
  EXPECT_EQ(twice("(@9:3278828,0:2,2)"), "x: channel 2 is listed twice");
  EXPECT_EQ(twice("(@1:4000000,4000000)"), "x: channel 4000000 is listed twice");
  EXPECT_EQ(twice(json::parse("[7, 3, 7]")), "x: channel 7 is listed twice");
  EXPECT_EQ(twice("1:3,4:6,10"), "accepted");
  EXPECT_EQ(instruments::parse_channel_list("4:6,1:3", "x"), (std::vector<int>{4, 5, 6, 1, 2, 3}));
}
