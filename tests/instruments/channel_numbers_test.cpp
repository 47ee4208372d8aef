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
