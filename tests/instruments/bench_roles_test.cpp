// The table of bench roles: one row per role, every key of the bench file's channel map, and
// every role carried whole through the places that iterate the table (reading and writing bench
// files, the virtual bench's layout).

#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "instruments/bench_config.hpp"
#include "instruments/bench_layout.hpp"
#include "instruments/bench_roles.hpp"

namespace aeqlab::instruments {
namespace {

using nlohmann::json;

// A bench with every role: set-points on a resistor array, the hold switch and the compliances
// on a control DAC.
json full_bench() {
  return json::parse(R"json({
    "name": "every role",
    "instruments": [
      {"name": "dac", "profile": "aeqlab-vdac", "address": "tcp://127.0.0.1:5025"},
      {"name": "adc", "profile": "aeqlab-vadc", "address": "tcp://127.0.0.1:5026"},
      {"name": "res", "profile": "aeqlab-vres", "address": "tcp://127.0.0.1:5027"}
    ],
    "channels": {
      "inputs": {"safe": [0, 1], "map": [{"instrument": "dac", "channels": "1:2"}]},
      "outputs": {"safe": [-1, 2], "map": [{"instrument": "adc", "channels": "1,2"}]},
      "nudge": {"targets": {"safe": [-1, 2], "map": [{"instrument": "dac", "channels": [3, 4]}]},
                "strength": {"safe": [0, 10], "map": [{"instrument": "dac", "channels": 5}]}},
      "knobs": [{"name": "u_W", "safe": [-5, 5], "safe_value": "hold",
                 "map": [{"instrument": "dac", "channels": "11:14"}]},
                {"name": "u_b", "safe": [-5, 5], "map": [{"instrument": "dac", "channels": "15"}]}],
      "parameters": [{"name": "W", "safe": [-5, 5], "compliance": 0.5, "average": 3,
                      "map": [{"instrument": "adc", "channels": "11:14"}]},
                     {"name": "b", "safe": [-5, 5], "compliance": 0.25,
                      "map": [{"instrument": "adc", "channels": "15"}]}],
      "parameter_setpoints": [{"safe": [-5, 5], "map": [{"instrument": "res", "channels": "1:4"}]},
                              {"safe": [-5, 5], "map": [{"instrument": "res", "channels": "5"}]}],
      "homeostat": {"safe": [0, 1], "map": [{"instrument": "dac", "channels": "20"}]},
      "compliance": {"safe": [0, 1], "ramp": {"step": 0.1, "rate": 0},
                     "map": [{"instrument": "dac", "channels": "21:22"}]},
      "probes": [{"safe": [-1, 1], "map": [{"instrument": "adc", "channels": "31:34"}]},
                 {"safe": [-1, 1], "map": [{"instrument": "adc", "channels": "35"}]}]
    },
    "probes": {"law": "identity", "unit": "V"}
  })json");
}

// The other form of the probes: the nodes of a 2-1-1 layered network (inputs as +/- pairs, no
// biases) measured once; its 4 + 1 elements are as many as the parameters above.
json node_probes(json bench) {
  bench["channels"].erase("probes");
  bench["channels"]["probe_nodes"] = {{"safe", {-1, 1}},
                                      {"map", {{{"instrument", "adc"}, {"channels", "41:42"}}}}};
  bench["probes"] = json::parse(R"({"law": "half_square", "layered": {"layers": [2, 1, 1],
      "input_pairs": true, "biases": false}})");
  return bench;
}

TEST(BenchRoles, OneRowPerRoleCoveringEveryKeyOfTheChannelMap) {
  std::set<std::string> top;
  std::size_t index = 0;
  for (const auto& row : bench_roles()) {
    EXPECT_EQ(static_cast<std::size_t>(row.role), index++) << row.key;
    EXPECT_EQ(&bench_role(row.role), &row) << row.key;
    top.insert(row.group ? row.group : row.key);
  }
  EXPECT_EQ(top, (std::set<std::string>{"inputs", "outputs", "nudge", "knobs", "parameters",
                                        "parameter_setpoints", "homeostat", "compliance", "probes",
                                        "probe_nodes"}));
  EXPECT_EQ(role_label(bench_role(BenchRole::nudge_targets)), "channels.nudge.targets");
  EXPECT_EQ(role_label(bench_role(BenchRole::knobs), 1), "channels.knobs[1]");
}

TEST(BenchRoles, EveryRoleIsReadAndWrittenBackWhole) {
  const auto b = parse_bench(full_bench(), "bench.json");
  const auto nodes = parse_bench(node_probes(full_bench()), "nodes.json");
  for (const auto& row : bench_roles()) {
    SCOPED_TRACE(row.key);
    // The two forms of the probes exclude each other: the node form is in the other bench.
    const auto& with = row.role == BenchRole::probe_nodes ? nodes : b;
    EXPECT_FALSE(groups_of(with, row).empty());
    EXPECT_EQ(groups_of(with, row).size(), is_list(row) ? 2u : 1u);
  }
  EXPECT_EQ(b.roles().size(), 14u);
  const json nodes_written = bench_to_json(nodes);
  EXPECT_EQ(nodes_written, bench_to_json(parse_bench(nodes_written, "again")));
  EXPECT_EQ(nodes_written["probes"]["layered"]["layers"], json({2, 1, 1}));
  EXPECT_EQ(b.parameters[0].average, 3u);
  EXPECT_TRUE(b.knobs[0].hold_at_safe_state);
  EXPECT_DOUBLE_EQ(b.compliance->ramp.step, 0.1);
  const json written = bench_to_json(b);
  EXPECT_EQ(written["channels"], bench_to_json(parse_bench(written, "again"))["channels"]);
  EXPECT_EQ(written["channels"]["nudge"]["strength"]["map"][0]["channels"], "5");
  EXPECT_EQ(written["channels"]["parameter_setpoints"].size(), 2u);
}

TEST(BenchRoles, ARoleThatIsNotGivenIsNotWrittenUnlessItsRowSaysSo) {
  auto j = full_bench();
  for (const char* key : {"parameter_setpoints", "homeostat", "compliance"})
    j["channels"].erase(key);
  const json written = bench_to_json(parse_bench(j, "bench.json"));
  EXPECT_FALSE(written["channels"].contains("parameter_setpoints"));
  EXPECT_FALSE(written["channels"].contains("homeostat"));
  EXPECT_FALSE(written["channels"].contains("compliance"));
  EXPECT_TRUE(written["channels"].contains("knobs"));
}

TEST(BenchRoles, TheLayoutGivesEveryRoleADeviceHasAnInstrumentOfItsDirection) {
  DeviceDescription d;
  d.model = "every capability";
  d.replicas = 1;
  d.inputs = {"x", 2, "V", {0.0, 1.0}, 0.0};
  d.outputs = {"y", 3, "V", {-1.0, 1.0}, 0.0};
  d.nudge = {0.0, 2.0};
  d.knobs = {{"u_W", 4, "V", {-5.0, 5.0}, 0.0}, {"u_b", 1, "V", {-5.0, 5.0}, 0.0}};
  d.parameters = {{{"W", 4, "V", {-5.0, 5.0}, 0.0}, 0.5}, {{"b", 1, "V", {-5.0, 5.0}, 0.0}, 0.25}};
  d.capabilities.native_homeostasis = true;
  d.capabilities.adjustable_compliance = true;
  d.capabilities.settable_parameters = true;
  d.capabilities.local_probes = true;
  d.probes = {"V", ProbeLaw::half_square};
  const auto b = virtual_bench_layout(d, 3, true);
  for (const auto& row : bench_roles()) {
    SCOPED_TRACE(row.key);
    // Nodes need the circuit's layers, which a description does not hold: a layout measures a
    // channel per element instead.
    if (row.role == BenchRole::probe_nodes) continue;
    const auto groups = groups_of(b, row);
    ASSERT_FALSE(groups.empty());
    for (const ChannelRole* g : groups)
      for (const auto& span : g->map) {
        const auto& profile = b.instrument(span.instrument).profile;
        EXPECT_EQ(profile == "aeqlab-vadc", row.direction == RoleDirection::measured) << profile;
      }
  }
  EXPECT_EQ(b.nudge_targets.group.name, "y_target");
  EXPECT_EQ(b.compliance->group.count, 2u);
  EXPECT_DOUBLE_EQ(b.parameters[1].compliance, 0.25);
  ASSERT_TRUE(b.probe_map.has_value());
  EXPECT_EQ(b.probe_map->law, ProbeLaw::half_square);
  // What the layout writes is a bench file like any other.
  EXPECT_EQ(bench_to_json(parse_bench(bench_to_json(b), "laid")), bench_to_json(b));

  // Without the capabilities, the roles that need them are not laid out.
  d.capabilities = {};
  const auto plain = virtual_bench_layout(d);
  EXPECT_FALSE(plain.homeostat.has_value());
  EXPECT_FALSE(plain.compliance.has_value());
  EXPECT_TRUE(plain.parameter_setpoints.empty());
  EXPECT_THROW(virtual_bench_layout(d, 3, true), std::invalid_argument);
}

}  // namespace
}  // namespace aeqlab::instruments
