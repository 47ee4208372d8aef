// Faults in the middle of writing the potentiometer bench's set-points (docs/pot-bench.md): a
// write that does not verify (the part did not take it), a resistor array that stops answering, a
// dropped connection. A write that does not take once is written again; one that never takes, or
// an array that is gone, ends the run in safe state with the element or instrument named, every
// log line complete and no out-of-range value on the wire.

#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "program_fixture.hpp"
#include "served_bench.hpp"

namespace aeqlab::e2e {
namespace {

class PotBenchFaults : public ProgramTest {
 protected:
  struct Outcome {
    Result train;
    nlohmann::json summary, tally;
    std::vector<nlohmann::json> events;
  };

  // pots.json on free ports with write-verify, `faults` on its arrays; trains EqProp on it.
  Outcome train_with(const nlohmann::json& faults) {
    const auto dir = std::filesystem::path(AEQLAB_SOURCE_DIR) / "docs/examples/benches";
    auto bench = nlohmann::json::parse(read_file(dir / "pots.json"));
    for (auto& i : bench["instruments"]) {
      i["address"] = "tcp://127.0.0.1:0";
      i["timeout_s"] = 0.3;
      i["retries"] = 1;
      i["reconnects"] = 1;
      i["reconnect_delay_s"] = 0.05;
    }
    bench["virtual"]["settle_ms"] = 0;
    bench["virtual"]["latency_ms"] = 0;
    bench["virtual"]["faults"] = faults;
    bench["settle"]["wait_s"] = 0.0;
    const auto file = tmp_ / "pots.json";
    std::ofstream(file) << bench.dump(2);
    const std::string served = (tmp_ / "served.json").string();
    ServedBench serve(tmp_.string(), {"--bench", file.string(), "--bench-out", served});
    Outcome o;
    o.train = run({"train", "--config", (dir / "pots-eqprop.json").string(), "--bench", served,
                   "--set", "trainer.epochs=3", "--out", (tmp_ / "S").string()});
    o.tally = serve.stop();
    const std::string summary = read_file(tmp_ / "S" / "summary.json");
    if (!summary.empty()) o.summary = nlohmann::json::parse(summary);
    std::ifstream log(tmp_ / "S" / "events.jsonl");
    std::string line;
    while (std::getline(log, line)) {
      auto e = nlohmann::json::parse(line, nullptr, false);
      EXPECT_FALSE(e.is_discarded()) << "a log line does not parse: " << line;
      o.events.push_back(e);
    }
    return o;
  }

  static void expect_failed_safely(const Outcome& o, const std::string& culprit,
                                   const std::string& also) {
    EXPECT_EQ(o.train.status, 1) << o.train.all();
    EXPECT_EQ(o.summary.value("status", ""), "failed") << o.summary.dump();
    const std::string reason = o.summary.value("reason", "");
    EXPECT_NE(reason.find(culprit), std::string::npos) << reason;
    EXPECT_NE(reason.find(also), std::string::npos) << reason;
    ASSERT_FALSE(o.events.empty());
    EXPECT_EQ(o.events.back().value("event", ""), "run_stop") << o.events.back().dump();
    EXPECT_EQ(o.events.back().value("safe_state", ""), "reached") << o.events.back().dump();
    EXPECT_EQ(o.tally.value("out_of_range", 1), 0) << o.tally.dump();
  }
};

// Messages 0-2 open the array (*IDN?, *CLS, the set-points read back), 3-4 are the run's own
// read-backs (every group on the array in one query); each step then writes it and reads it
// back. Message 7 is a write in the middle of the first epoch.
const nlohmann::json kMidWrite = {{"instrument", "res_layer1"}, {"after", 7}};

TEST_F(PotBenchFaults, AWriteThatDoesNotTakeOnceIsWrittenAgainAndTheRunCompletes) {
  auto fault = kMidWrite;
  fault["kind"] = "no_verify";
  // Three messages from the middle of a step: a write among them is lost, and perhaps its first
  // repeat too; the bench's two repeats (write_verify.retries) get it through.
  fault["count"] = 3;
  const auto o = train_with(nlohmann::json::array({fault}));
  EXPECT_EQ(o.train.status, 0) << o.train.all();
  EXPECT_EQ(o.summary.value("status", ""), "completed") << o.summary.dump();
  EXPECT_NE(o.train.err.find("did not verify; writing them again"), std::string::npos)
      << o.train.all();
  EXPECT_EQ(o.tally.value("out_of_range", 1), 0) << o.tally.dump();
}

TEST_F(PotBenchFaults, AWriteThatNeverTakesStopsTheRunNamingTheElement) {
  auto fault = kMidWrite;
  fault["kind"] = "no_verify";
  fault["count"] = 0;  // every message from then on
  const auto o = train_with(nlohmann::json::array({fault}));
  expect_failed_safely(o, "res_layer1\" channel", "did not take its write");
}

TEST_F(PotBenchFaults, AnArrayThatStopsAnsweringMidWriteStopsTheRunNamingIt) {
  auto fault = kMidWrite;
  fault["kind"] = "no_reply";
  fault["count"] = 0;
  const auto o = train_with(nlohmann::json::array({fault}));
  expect_failed_safely(o, "res_layer1", "no reply");
}

TEST_F(PotBenchFaults, AnArrayThatHangsUpMidWriteStopsTheRunNamingIt) {
  auto fault = kMidWrite;
  fault["kind"] = "disconnect";
  fault["count"] = 0;
  const auto o = train_with(nlohmann::json::array({fault}));
  expect_failed_safely(o, "res_layer1", "res_layer1");
}

}  // namespace
}  // namespace aeqlab::e2e
