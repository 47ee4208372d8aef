// Probes on a bench (docs/pot-bench.md): the layered element map in the circuit device's order,
// node voltages to probes and back, and the bench files whose probes do not match their
// parameters, refused by key.

#include <filesystem>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "core/error.hpp"
#include "instruments/bench_config.hpp"
#include "instruments/probe_map.hpp"

namespace aeqlab::instruments {
namespace {

using nlohmann::json;

ProbeMap layered(const std::string& text) {
  return parse_probe_map(json::parse(text), "bench.probes");
}

json pots() {
  return read_json_file(
      (std::filesystem::path(AEQLAB_SOURCE_DIR) / "docs/examples/benches/pots.json").string());
}

std::string refusal(const json& bench) {
  try {
    parse_bench(bench, "pots.json");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(ProbeMap, LaysOutALayeredNetworkInTheCircuitDevicesOrder) {
  const auto m = layered(R"({"law": "half_square", "layered": {"layers": [2, 8, 2],
      "input_pairs": true, "output_pairs": true, "biases": true, "bias_voltage": 1.0}})");
  EXPECT_EQ(m.law, ProbeLaw::half_square);
  EXPECT_EQ(m.nodes, 12u);  // 8 hidden, 2 outputs as +/- pairs
  ASSERT_EQ(m.elements.size(), 88u);
  // W1: input 1's +x source to the first hidden node, then to the next ones.
  EXPECT_EQ(m.elements[0].a.kind, ProbeEnd::Kind::input);
  EXPECT_EQ(m.elements[0].a.value, 1.0);
  EXPECT_EQ(m.elements[0].b.index, 0u);
  EXPECT_EQ(m.elements[8].a.value, -1.0);  // input 1's -x source
  // W2 from hidden node 1 to output 1's + node; B1 from hidden node 1 to the +1 V rail.
  EXPECT_EQ(m.elements[32].a.index, 0u);
  EXPECT_EQ(m.elements[32].b.index, 8u);
  EXPECT_EQ(m.elements[64].b.kind, ProbeEnd::Kind::rail);
  EXPECT_EQ(m.elements[64].b.value, 1.0);
  EXPECT_EQ(m.elements[65].b.value, -1.0);
  EXPECT_EQ(probe_map_to_json(m)["layered"]["layers"], json({2, 8, 2}));
}

TEST(ProbeMap, NodesGiveProbesAndProbesGiveTheNodesBack) {
  // No biases: the second hidden layer is reached only through the first.
  const auto m = layered(R"({"law": "half_square", "layered": {"layers": [3, 4, 5, 2],
      "input_pairs": false, "biases": false}})");
  ASSERT_EQ(m.nodes, 11u);
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> nodes(m.nodes), inputs(3), probes(m.elements.size()), back(m.nodes);
  for (auto& v : nodes) v = u(rng);
  for (auto& v : inputs) v = u(rng);
  probes_from_nodes(m, nodes, inputs, probes);
  EXPECT_DOUBLE_EQ(probes[0], inputs[0] - nodes[0]);
  nodes_from_probes(m, probes, inputs, back);
  for (std::size_t n = 0; n < nodes.size(); ++n) EXPECT_NEAR(back[n], nodes[n], 1e-15) << n;
}

TEST(ProbeMap, TheLawIsDeclaredAndCheckedByKey) {
  EXPECT_THROW(layered(R"({"unit": "V"})"), ConfigError);
  try {
    layered(R"({"law": "square"})");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("bench.probes.law"), std::string::npos) << e.what();
  }
  try {
    layered(R"({"law": "identity", "layered": {"layers": [2, 0]}})");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("bench.probes.layered.layers"), std::string::npos)
        << e.what();
  }
}

TEST(ProbeMap, TheReferenceBenchDeclaresItsProbes) {
  const auto b = parse_bench(pots(), "pots.json");
  ASSERT_TRUE(b.probe_map.has_value());
  ASSERT_TRUE(b.probe_nodes.has_value());
  EXPECT_EQ(b.probe_nodes->group.count, 12u);
  EXPECT_TRUE(b.parameters_from_setpoints);
  EXPECT_EQ(b.parameters.size(), 4u);
  EXPECT_TRUE(b.knobs.empty());
  // Written back and read again, whole: the derived parameters are not written.
  const json written = bench_to_json(b);
  EXPECT_FALSE(written["channels"].contains("parameters"));
  EXPECT_EQ(written, bench_to_json(parse_bench(written, "again")));
}

TEST(ProbeMap, ProbeMapsThatDoNotMatchTheParametersAreRefusedByKey) {
  auto j = pots();
  j["probes"]["layered"]["layers"] = {2, 7, 2};
  auto why = refusal(j);
  EXPECT_NE(why.find("pots.json.probes.layered"), std::string::npos) << why;
  EXPECT_NE(why.find("88"), std::string::npos) << why;

  j = pots();
  j["probes"]["layered"]["layers"] = {3, 8, 2};
  why = refusal(j);
  EXPECT_NE(why.find("starts with 3 inputs, but channels.inputs maps 2"), std::string::npos) << why;

  j = pots();
  j["channels"]["probe_nodes"]["map"][0]["channels"] = "1:11";
  why = refusal(j);
  EXPECT_NE(why.find("pots.json.channels.probe_nodes"), std::string::npos) << why;
  EXPECT_NE(why.find("12 measured nodes"), std::string::npos) << why;

  j = pots();
  j.erase("probes");
  why = refusal(j);
  EXPECT_NE(why.find("pots.json.probes: missing"), std::string::npos) << why;

  j = pots();
  j["channels"].erase("probe_nodes");
  why = refusal(j);
  EXPECT_NE(why.find("no channel measures the probes"), std::string::npos) << why;

  // A channel per element, one group per parameter group, each as large as its group.
  j = pots();
  j["channels"].erase("probe_nodes");
  j["probes"].erase("layered");
  json groups = json::array();
  int first = 1;
  for (int n : {32, 32, 16, 8}) {
    groups.push_back(
        {{"safe", {-2, 2}},
         {"map",
          {{{"instrument", "adc_nodes"},
            {"channels", std::to_string(first) + ":" + std::to_string(first + n - 1)}}}}});
    first += n;
  }
  j["channels"]["probes"] = groups;
  EXPECT_EQ(refusal(j), "(accepted)");
  j["channels"]["probes"][1]["map"][0]["channels"] = "33:63";
  why = refusal(j);
  EXPECT_NE(why.find("pots.json.channels.probes[1]"), std::string::npos) << why;
  j["channels"]["probes"].erase(3);
  why = refusal(j);
  EXPECT_NE(why.find("3 group(s) for 4 parameter group(s)"), std::string::npos) << why;
}

}  // namespace
}  // namespace aeqlab::instruments
