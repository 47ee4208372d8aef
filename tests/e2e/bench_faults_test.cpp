// Faults on the wire, rehearsed on the virtual bench: an instrument that stops answering, a
// garbled reply, a dropped connection, an error-queue entry. Each must end in a clear error
// naming the instrument (or in a recovered run), with the bench at its safe state and the
// session's log intact.

#include <fstream>
#include <iostream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "program_fixture.hpp"
#include "served_bench.hpp"

namespace aeqlab::e2e {
namespace {

const std::string kConfig = xor_bench_config(R"("trainer": {"epochs": 3, "batch_size": 1})");

class BenchFaults : public ProgramTest {
 protected:
  struct Outcome {
    Result train;
    nlohmann::json summary, tally;
    std::vector<nlohmann::json> events;
  };

  // Serves the XOR device with `faults`, trains on it, stops the server.
  Outcome train_with(const nlohmann::json& faults) {
    const auto config = write("config.json", kConfig);
    const std::string served = (tmp_ / "served.json").string();
    ServedBench serve(tmp_.string(), {"--config", config.string(), "--bench-out", served, "--set",
                                      "virtual.faults=" + faults.dump()});
    // Short timeouts, so a silent instrument is noticed in a fraction of a second.
    auto bench = nlohmann::json::parse(read_file(served));
    for (auto& i : bench["instruments"]) {
      i["timeout_s"] = 0.3;
      i["retries"] = 1;
      i["reconnects"] = 2;
      i["reconnect_delay_s"] = 0.05;
    }
    std::ofstream(served) << bench.dump(2);
    Outcome o;
    o.train = run(
        {"train", "--config", config.string(), "--bench", served, "--out", (tmp_ / "S").string()});
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
    std::cout << "reason: " << reason << "\n";
    EXPECT_NE(reason.find(culprit), std::string::npos) << reason;
    EXPECT_NE(reason.find(also), std::string::npos) << reason;
    ASSERT_FALSE(o.events.empty());
    const auto& last = o.events.back();
    EXPECT_EQ(last.value("event", ""), "run_stop") << last.dump();
    EXPECT_EQ(last.value("safe_state", ""), "reached") << last.dump();
    EXPECT_EQ(o.tally.value("out_of_range", 1), 0) << o.tally.dump();
  }
};

TEST_F(BenchFaults, AnInstrumentThatStopsAnsweringFailsTheRunNamingItAndTheCommand) {
  const auto o = train_with(nlohmann::json::array(
      {{{"instrument", "adc_outputs"}, {"kind", "no_reply"}, {"after", 20}, {"count", 0}}}));
  expect_failed_safely(o, "adc_outputs", "MEAS");
  EXPECT_NE(o.summary.value("reason", "").find("2 attempts"), std::string::npos)
      << o.summary.dump();
}

TEST_F(BenchFaults, AGarbledReplyIsAParseErrorNotACrash) {
  const auto o = train_with(nlohmann::json::array(
      {{{"instrument", "adc_outputs"}, {"kind", "garbled"}, {"after", 20}, {"count", 1}}}));
  expect_failed_safely(o, "adc_outputs", "MEAS");
}

TEST_F(BenchFaults, ADroppedConnectionIsReopenedAndTheRunCompletes) {
  const auto o = train_with(nlohmann::json::array(
      {{{"instrument", "dac_nudge"}, {"kind", "disconnect"}, {"after", 15}, {"count", 1}}}));
  EXPECT_EQ(o.train.status, 0) << o.train.all();
  EXPECT_EQ(o.summary.value("status", ""), "completed") << o.summary.dump();
  EXPECT_NE(o.train.err.find("dac_nudge"), std::string::npos)
      << "the reconnect is reported: " << o.train.err;
}

TEST_F(BenchFaults, AnErrorQueueEntryAfterAWriteIsSurfacedWithCodeAndText) {
  const auto o = train_with(nlohmann::json::array({{{"instrument", "dac_inputs"},
                                                    {"kind", "error"},
                                                    {"after", 10},
                                                    {"count", 1},
                                                    {"code", -313},
                                                    {"text", "Calibration memory lost"}}}));
  expect_failed_safely(o, "dac_inputs", "-313");
  EXPECT_NE(o.summary.value("reason", "").find("Calibration memory lost"), std::string::npos);
}

TEST_F(BenchFaults, AMissingInstrumentIsNamedBeforeAnySessionExists) {
  const auto config = write("config.json", kConfig);
  const std::string served = (tmp_ / "served.json").string();
  {
    ServedBench serve(tmp_.string(), {"--config", config.string(), "--bench-out", served});
    serve.stop();
  }
  // The server is gone: its ports refuse connections.
  const auto r = run(
      {"train", "--config", config.string(), "--bench", served, "--out", (tmp_ / "S").string()});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("dac_inputs"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(tmp_ / "S" / "events.jsonl"));
}

}  // namespace
}  // namespace aeqlab::e2e
