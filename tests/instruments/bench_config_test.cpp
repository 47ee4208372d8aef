// The bench file and instrument profiles: what a lab writes by hand, so every mistake must be
// refused with the key that holds it.

#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "core/error.hpp"
#include "instruments/bench_config.hpp"
#include "instruments/profile.hpp"

namespace aeqlab::instruments {
namespace {

using nlohmann::json;

json small_bench() {
  return json::parse(R"json({
    "name": "test bench",
    "instruments": [
      {"name": "dac", "profile": "aeqlab-vdac", "address": "tcp://127.0.0.1:5025"},
      {"name": "adc", "profile": "aeqlab-vadc", "address": "serial:///dev/ttyUSB0?baud=115200"}
    ],
    "channels": {
      "inputs": {"safe": [0, 1], "map": [{"instrument": "dac", "channels": "1:2"}]},
      "outputs": {"safe": [-1, 2], "map": [{"instrument": "adc", "channels": "1,2"}]},
      "nudge": {"targets": {"safe": [-1, 2], "map": [{"instrument": "dac", "channels": [3, 4]}]},
                "strength": {"safe": [-0.9, 10], "map": [{"instrument": "dac", "channels": 5}]}},
      "knobs": [{"name": "u_W", "safe": [-5, 5], "map": [{"instrument": "dac", "channels": "(@11:14)"}]}],
      "parameters": [{"name": "W", "safe": [-5, 5], "compliance": 0.5,
                      "map": [{"instrument": "adc", "channels": "11:12"},
                              {"instrument": "adc", "channels": "21:22"}]}]
    },
    "settle": {"wait_s": 0.001, "stable_reads": 2}
  })json");
}

std::string error_of(const json& j) {
  try {
    parse_bench(j, "bench.json");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(BenchConfig, ParsesRolesCountsAndChannels) {
  const auto b = parse_bench(small_bench(), "bench.json");
  EXPECT_EQ(b.name, "test bench");
  ASSERT_EQ(b.instruments.size(), 2u);
  EXPECT_EQ(b.inputs.group.count, 2u);
  EXPECT_EQ(b.nudge_targets.map[0].channels, (std::vector<int>{3, 4}));
  EXPECT_EQ(b.knobs[0].map[0].channels, (std::vector<int>{11, 12, 13, 14}));
  EXPECT_EQ(b.parameters[0].group.count, 4u);
  EXPECT_DOUBLE_EQ(b.parameters[0].compliance, 0.5);
  EXPECT_DOUBLE_EQ(b.settle.wait_s, 0.001);
  EXPECT_EQ(b.roles().size(), 6u);
  // Written back and read again, it is the same bench.
  const auto again = parse_bench(bench_to_json(b), "again");
  EXPECT_EQ(bench_to_json(again), bench_to_json(b));
}

TEST(BenchConfig, RefusesMistakesNamingTheKey) {
  auto j = small_bench();
  j["channels"]["inputs"]["safe"] = {1, 0};
  EXPECT_NE(error_of(j).find("bench.json.channels.inputs.safe"), std::string::npos) << error_of(j);

  j = small_bench();
  j["channels"]["inputs"]["map"][0]["instrument"] = "dca";
  EXPECT_NE(error_of(j).find("\"dca\""), std::string::npos) << error_of(j);

  j = small_bench();
  j["channels"]["knobs"][0]["map"][0]["channels"] = "11:13";
  EXPECT_NE(error_of(j).find("knobs[0]"), std::string::npos) << error_of(j);

  j = small_bench();
  j["channels"]["nudge"]["strength"]["map"][0]["channels"] = "1";  // also an input
  EXPECT_NE(error_of(j).find("channel 1 of instrument \"dac\""), std::string::npos) << error_of(j);

  j = small_bench();
  j["channels"]["parameters"][0].erase("compliance");
  EXPECT_NE(error_of(j).find("compliance"), std::string::npos) << error_of(j);

  j = small_bench();
  j["instruments"][0]["timout_s"] = 1;
  EXPECT_NE(error_of(j).find("instruments[0].timout_s: unknown key"), std::string::npos)
      << error_of(j);

  j = small_bench();
  j["channels"]["inputs"]["safe_value"] = 3;
  EXPECT_NE(error_of(j).find("safe_value"), std::string::npos) << error_of(j);

  j = small_bench();
  j["channels"]["outputs"]["map"][0]["channels"] = "2:1";
  EXPECT_NE(error_of(j).find("runs backwards"), std::string::npos) << error_of(j);

  j = small_bench();
  j["channels"]["outputs"]["map"][0]["channels"] = "1,x";
  EXPECT_NE(error_of(j).find("\"x\" is not a channel number"), std::string::npos) << error_of(j);
}

TEST(Profile, ShippedProfilesLoad) {
  for (const char* name : {"aeqlab-vdac", "aeqlab-vadc", "aeqlab-vres", "keysight-34970a",
                           "rigol-dp832", "keithley-2400"}) {
    SCOPED_TRACE(name);
    const auto p = load_profile(name);
    EXPECT_EQ(p.name, name);
    EXPECT_TRUE(p.source || p.measure);
    EXPECT_FALSE(p.manual.empty());
  }
  try {
    load_profile("no-such-instrument");
    FAIL() << "an unknown profile must be refused";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("no-such-instrument"), std::string::npos);
  }
}

TEST(Profile, ChannelListsAndTemplates) {
  ChannelListSyntax scpi;
  EXPECT_EQ(format_channel_list(scpi, {1, 2, 3, 4, 5, 6, 7, 8}), "(@1:8)");
  EXPECT_EQ(format_channel_list(scpi, {101, 102, 105, 106, 107, 110}), "(@101:102,105:107,110)");
  ChannelListSyntax no_ranges{"(@", ")", ",", ""};
  EXPECT_EQ(format_channel_list(no_ranges, {101, 102}), "(@101,102)");
  EXPECT_EQ(render("SOUR:VOLT {value},{channels}", "2.5", "", "(@304)", ""),
            "SOUR:VOLT 2.5,(@304)");
  EXPECT_EQ(render(":SOUR{channel}:VOLT {value}", "1.5", "", "", "2"), ":SOUR2:VOLT 1.5");
  EXPECT_EQ(render("SOUR:VOLT:LIST {values},{channels}", "", "1,2", "(@1:2)", ""),
            "SOUR:VOLT:LIST 1,2,(@1:2)");

  const auto bad = json::parse(R"({"model": "x", "source": {"one": "A"}, "chian": ";"})");
  EXPECT_THROW(parse_profile(bad, "x", "x.json"), ConfigError);
  const auto empty = json::parse(R"({"model": "x"})");
  EXPECT_THROW(parse_profile(empty, "x", "x.json"), ConfigError);
}

}  // namespace
}  // namespace aeqlab::instruments

namespace aeqlab::instruments {
namespace {

TEST(BenchConfig, EveryExampleBenchParsesAndItsProfilesLoad) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(AEQLAB_SOURCE_DIR) / "docs" / "examples" / "benches";
  std::size_t checked = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    SCOPED_TRACE(entry.path().string());
    // A training config beside its bench (pots-eqprop.json beside pots.json).
    if (read_json_file(entry.path().string()).contains("trainer")) continue;
    const auto bench = load_bench(entry.path().string());
    for (const auto& i : bench.instruments) EXPECT_NO_THROW(load_profile(i.profile));
    ++checked;
  }
  EXPECT_GT(checked, 0u);
}

}  // namespace
}  // namespace aeqlab::instruments
