// The potentiometer bench (docs/pot-bench.md) as a user runs it: `aeqlab serve --bench` serving
// docs/examples/benches/pots.json (two programmable resistor arrays, node ADCs), and
// `aeqlab train --bench` with EqProp, coupled learning and SPSA from the configs beside it, over
// loopback TCP and over pseudo-terminals. With no noise the bench must train exactly as the same
// potentiometer circuit in-process: the same taps, every step's errors and cost the same.

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "program_fixture.hpp"
#include "served_bench.hpp"

namespace aeqlab::e2e {
namespace {

std::filesystem::path example(const std::string& name) {
  return std::filesystem::path(AEQLAB_SOURCE_DIR) / "docs/examples/benches" / name;
}

std::vector<std::pair<long, double>> step_scores(const std::filesystem::path& session) {
  std::vector<std::pair<long, double>> out;
  std::istringstream log(read_file(session / "events.jsonl"));
  std::string line;
  while (std::getline(log, line)) {
    const auto e = nlohmann::json::parse(line);
    if (e["event"] == "step") out.emplace_back(e["errors"].get<long>(), e["cost"].get<double>());
  }
  return out;
}

std::vector<double> trained(const std::filesystem::path& session) {
  const std::string bytes = read_file(session / "parameters.f64");
  std::vector<double> v(bytes.size() / 8);
  if (!v.empty()) std::memcpy(v.data(), bytes.data(), v.size() * 8);
  return v;
}

class PotBench : public ProgramTest {
 protected:
  // pots.json on free ports; the physics settles when first measured after a change (settle_ms
  // 0), so nothing depends on how fast the writes of one flush arrive.
  std::filesystem::path bench_copy(const std::function<void(nlohmann::json&)>& change = {},
                                   const std::string& name = "pots.json") {
    auto bench = nlohmann::json::parse(read_file(example("pots.json")));
    for (auto& i : bench["instruments"]) i["address"] = "tcp://127.0.0.1:0";
    bench["virtual"]["settle_ms"] = 0;
    bench["virtual"]["latency_ms"] = 0;
    bench["settle"]["wait_s"] = 0.0;
    if (change) change(bench);
    return write(name, bench.dump(2));
  }

  std::filesystem::path write(const std::string& name, const std::string& text) const {
    const auto path = tmp_ / name;
    std::ofstream(path) << text;
    return path;
  }

  void train_both_ways(const std::string& rule, const std::string& transport,
                       const std::function<void(nlohmann::json&)>& change = {},
                       const std::vector<std::string>& more = {}) {
    const std::string config = example("pots-" + rule + ".json").string();
    std::vector<std::string> common = {"--set", "trainer.epochs=2", "--set", "session.detail=step"};
    common.insert(common.end(), more.begin(), more.end());
    auto args = [&](const std::string& out) {
      std::vector<std::string> a = {"train", "--config", config, "--out", (tmp_ / out).string()};
      a.insert(a.end(), common.begin(), common.end());
      return a;
    };
    const auto in_process = run(args("A"));
    ASSERT_EQ(in_process.status, 0) << in_process.all();

    const std::string served = (tmp_ / "served.json").string();
    ServedBench serve(tmp_.string(), {"--bench", bench_copy(change).string(), "--bench-out", served,
                                      "--transport", transport});
    auto through = args("B");
    through.insert(through.end(), {"--bench", served});
    const auto on_bench = run(through);
    bench_stderr_ = on_bench.err;
    const auto tally = serve.stop();
    ASSERT_EQ(on_bench.status, 0) << on_bench.all() << read_file(tmp_ / "serve-stderr.txt");

    EXPECT_EQ(tally["out_of_range"].get<std::uint64_t>(), 0u) << tally.dump();
    EXPECT_GT(tally["values"].get<std::uint64_t>(), 88u) << tally.dump();

    const auto a = step_scores(tmp_ / "A"), b = step_scores(tmp_ / "B");
    ASSERT_FALSE(a.empty());
    EXPECT_EQ(a, b) << "every step's errors and cost, in-process against the bench";
    const auto pa = trained(tmp_ / "A"), pb = trained(tmp_ / "B");
    ASSERT_EQ(pa.size(), 88u);
    ASSERT_EQ(pb.size(), 88u);
    double worst = 0.0;
    for (std::size_t i = 0; i < pa.size(); ++i) worst = std::max(worst, std::abs(pa[i] - pb[i]));
    EXPECT_LE(worst, 1e-9) << "largest conductance difference, in-process against the bench";
    EXPECT_EQ(nlohmann::json::parse(read_file(tmp_ / "B" / "summary.json"))["status"], "completed");
  }

  std::string bench_stderr_;  // the last training through the bench
};

TEST_F(PotBench, EqpropOverTcpTrainsExactlyAsInProcess) {
  train_both_ways("eqprop", "tcp");
}
TEST_F(PotBench, CoupledLearningOverTcpTrainsExactlyAsInProcess) {
  train_both_ways("coupled", "tcp");
}
TEST_F(PotBench, SpsaOverTcpTrainsExactlyAsInProcess) {
  train_both_ways("spsa", "tcp");
}
TEST_F(PotBench, EqpropOverPseudoTerminalsTrainsExactlyAsInProcess) {
  train_both_ways("eqprop", "serial");
}
TEST_F(PotBench, CoupledLearningOverPseudoTerminalsTrainsExactlyAsInProcess) {
  train_both_ways("coupled", "serial");
}
TEST_F(PotBench, SpsaOverPseudoTerminalsTrainsExactlyAsInProcess) {
  train_both_ways("spsa", "serial");
}

// The bench puts every set-point on the parts' grid itself (256 taps spaced in conductance, as
// the circuit's pots), rounding by its stated rule: the same taps as the part's own rounding.
TEST_F(PotBench, SetpointsRoundedOntoTheGridByTheBenchTrainAsInProcess) {
  train_both_ways("eqprop", "tcp", [](nlohmann::json& b) {
    b["setpoints"] = {{"spacing", "conductance"}, {"taps", 256}, {"off_grid", "round"}};
  });
}

// A per-write time (setpoints.write_us) costs time, never a different result; the bench's tally
// line (at info, on the console log) says how many elements went out and their modelled time.
TEST_F(PotBench, APerWriteTimeTrainsAsInProcessAndIsInTheTally) {
  train_both_ways("eqprop", "tcp", [](nlohmann::json& b) { b["setpoints"]["write_us"] = 20; });
  const std::string& log = bench_stderr_;
  const auto at = log.find(" set-point writes (");
  ASSERT_NE(at, std::string::npos) << log;
  const auto count_from = log.rfind(", ", at) + 2;
  const long writes = std::stol(log.substr(count_from, at - count_from));
  EXPECT_GE(writes, 88 * 8) << "two epochs of four XOR steps write all 88 elements each step";
  const double seconds = std::stod(log.substr(at + std::strlen(" set-point writes (")));
  EXPECT_GT(seconds, 0.0);
  EXPECT_LE(seconds, static_cast<double>(writes) * 20e-6 + 1e-12);
}

// Incremental-only parts (up/down steps from taps the bench tracks from power-on) reach the same
// parameters and every step's errors as in-process, and the bench states its tracking rule.
// The parts power on at mid-scale (tap 128 of 256) and the trainer starts from what the bench
// reads back, so the in-process run starts at that tap too: 1e-7 + 128 (1e-3 - 1e-7) / 255 S.
void incremental(nlohmann::json& b) {
  b.erase("write_verify");
  b["setpoints"]["mode"] = "incremental";
}
const std::vector<std::string> kFromMidScale = {
    "--set", "device.conductance.init=[0.000502010588235294,0.000502010588235294]"};

TEST_F(PotBench, IncrementalPartsTrainAsInProcess) {
  train_both_ways("eqprop", "tcp", incremental, kFromMidScale);
  EXPECT_NE(bench_stderr_.find("incremental parts: set-points go out as up/down steps"),
            std::string::npos)
      << bench_stderr_;
  EXPECT_NE(bench_stderr_.find("at connection 88 element(s) taken at the tap nearest their "
                               "read-back, 0 at their power-on tap 128 of 256"),
            std::string::npos)
      << bench_stderr_;
}

TEST_F(PotBench, IncrementalPartsOverPseudoTerminalsTrainAsInProcess) {
  train_both_ways("coupled", "serial", incremental, kFromMidScale);
}

// Write-verify of incremental parts: a STEP message to the first array that does not take (the
// fourth message after the opening read-backs, a step in the first epoch) leaves its parts behind;
// the read-back shows it, the bench corrects its tracked taps and steps them again, and the run
// reaches the same parameters as in-process.
TEST_F(PotBench, IncrementalPartsThatMissAStepAreSteppedAgainAndTrainAsInProcess) {
  train_both_ways(
      "eqprop", "tcp",
      [](nlohmann::json& b) {
        b["setpoints"]["mode"] = "incremental";
        b["virtual"]["faults"] = nlohmann::json::array(
            {{{"instrument", "res_layer1"}, {"kind", "no_verify"}, {"after", 5}, {"count", 1}}});
      },
      kFromMidScale);
  // Once: from then on the tracked taps are right again, so no later step misses.
  const std::string miss = "did not verify; writing them again";
  const auto first = bench_stderr_.find(miss);
  EXPECT_NE(first, std::string::npos) << bench_stderr_;
  EXPECT_EQ(bench_stderr_.find(miss, first + 1), std::string::npos) << bench_stderr_;
}

// With "refuse", the first step's off-grid values stop the run, naming the element.
TEST_F(PotBench, OffGridSetpointsAreRefusedNamingTheElementWhenTheBenchSaysSo) {
  const auto bench = bench_copy([](nlohmann::json& b) {
    b["setpoints"] = {{"spacing", "conductance"}, {"taps", 256}, {"off_grid", "refuse"}};
  });
  const std::string served = (tmp_ / "served.json").string();
  ServedBench serve(tmp_.string(), {"--bench", bench.string(), "--bench-out", served});
  const auto r = run({"train", "--config", example("pots-eqprop.json").string(), "--bench", served,
                      "--set", "trainer.epochs=1", "--out", (tmp_ / "S").string()});
  const auto tally = serve.stop();
  EXPECT_EQ(r.status, 1) << r.all();
  const auto summary = nlohmann::json::parse(read_file(tmp_ / "S" / "summary.json"));
  EXPECT_EQ(summary["status"], "failed");
  const std::string reason = summary.value("reason", "");
  EXPECT_NE(reason.find("is off the part's grid"), std::string::npos) << reason;
  EXPECT_NE(reason.find("parameter W1["), std::string::npos) << reason;
  EXPECT_EQ(tally["out_of_range"].get<std::uint64_t>(), 0u) << tally.dump();
}

// A bench that measures no probes cannot serve EqProp, and says which roles would give them,
// before a single step.
TEST_F(PotBench, WithoutProbesEqpropIsRefusedNamingTheRole) {
  const auto bench = bench_copy([](nlohmann::json& b) {
    b["channels"].erase("probe_nodes");
    b.erase("probes");
  });
  const std::string served = (tmp_ / "served.json").string();
  ServedBench serve(tmp_.string(), {"--bench", bench.string(), "--bench-out", served});
  const auto r = run({"train", "--config", example("pots-eqprop.json").string(), "--bench", served,
                      "--out", (tmp_ / "S").string()});
  // SPSA needs no probes: the same bench trains with it.
  const auto spsa = run({"train", "--config", example("pots-spsa.json").string(), "--bench", served,
                         "--set", "trainer.epochs=1", "--out", (tmp_ / "T").string()});
  serve.stop();
  EXPECT_EQ(r.status, 2) << r.all();
  EXPECT_NE(r.err.find("no local probes"), std::string::npos) << r.all();
  EXPECT_NE(r.err.find("channels.probe_nodes"), std::string::npos) << r.all();
  EXPECT_EQ(spsa.status, 0) << spsa.all();
}

// AEqprop, unchanged, on the same resistor arrays: the bench relaxes each element by its law after
// every settle. Without the emulation the bench has no knobs and AEqprop is refused.
TEST_F(PotBench, AeqpropRunsOnTheResistorArraysByEmulatedPlasticity) {
  const auto plain = bench_copy();
  const auto plastic = bench_copy(
      [](nlohmann::json& b) {
        b["plasticity"] = {{"compliance", 0.001}, {"rounds", 1}};
      },
      "pots-plastic.json");
  const std::string config = example("pots-aeqprop-emulated.json").string();
  {
    const std::string served = (tmp_ / "served-plain.json").string();
    ServedBench serve(tmp_.string(), {"--bench", plain.string(), "--bench-out", served});
    const auto r = run({"train", "--config", config, "--bench", served, "--set", "trainer.epochs=1",
                        "--out", (tmp_ / "P").string()});
    serve.stop();
    EXPECT_EQ(r.status, 2) << r.all();
    EXPECT_NE(r.err.find("no knobs"), std::string::npos) << r.all();
  }
  const std::string served = (tmp_ / "served.json").string();
  ServedBench serve(tmp_.string(), {"--bench", plastic.string(), "--bench-out", served});
  const auto r = run({"train", "--config", config, "--bench", served, "--set", "trainer.epochs=3",
                      "--out", (tmp_ / "E").string()});
  const auto tally = serve.stop();
  ASSERT_EQ(r.status, 0) << r.all() << read_file(tmp_ / "serve-stderr.txt");
  EXPECT_EQ(tally["out_of_range"].get<std::uint64_t>(), 0u) << tally.dump();
  // Every emulated relaxation writes the elements: 12 steps, each with a free-knob phase.
  EXPECT_GE(tally["writes"].get<std::uint64_t>(), 24u) << tally.dump();
  const auto device = nlohmann::json::parse(read_file(tmp_ / "E" / "device.json"));
  EXPECT_NE(device.dump().find("emulated plasticity"), std::string::npos) << device.dump();
  const auto trained_values = trained(tmp_ / "E");
  ASSERT_EQ(trained_values.size(), 88u);
}

}  // namespace
}  // namespace aeqlab::e2e
