// Extending a completed session: `train --resume DIR --epochs N` continues the same session (its
// folder, log and metrics) from its last checkpoint to N epochs in all, and on the simulator ends
// with the bits of a run that was given N epochs from the start.
#include <algorithm>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "program_fixture.hpp"

namespace aeqlab::e2e {
namespace {

class Extend : public ProgramTest {
 protected:
  // The 40-epoch session, then extended to 100: its summary (after checking what both ways share).
  nlohmann::json extend(const std::vector<std::string>& more) {
    const auto config = write("xor.json", R"({
  "device": {"layers": [2, 16, 2], "gains": [4.0, 1.0],
             "compliance": {"weights": [0.5, 0.1], "biases": [0.2, 0.02]}},
  "data": {"set": "xor"},
  "trainer": {"epochs": 100, "batch_size": 4, "compliance_decay": 0.995}})");
    const auto whole = tmp_ / "W", part = tmp_ / "P";
    std::vector<std::string> first{
        "train", "--config", config.string(), "--set", "trainer.epochs=40", "--out", part.string()};
    first.insert(first.end(), more.begin(), more.end());
    EXPECT_EQ(run({"train", "--config", config.string(), "--out", whole.string()}).status, 0);
    EXPECT_EQ(run(first).status, 0);
    const auto r = run({"train", "--resume", part.string(), "--epochs", "100"});
    EXPECT_EQ(r.status, 0) << r.all();
    EXPECT_NE(r.err.find("extending the session from 40 to 100 epochs"), std::string::npos)
        << r.err;

    const auto w = nlohmann::json::parse(read_file(whole / "summary.json"));
    auto p = nlohmann::json::parse(read_file(part / "summary.json"));
    EXPECT_EQ(p["status"], "completed");
    EXPECT_EQ(p["epochs"], 100);
    EXPECT_EQ(p["parameters_sha256"], w["parameters_sha256"]);
    // One session: one run_start, its config now says 100 epochs, one metrics row per epoch.
    const std::string log = read_file(part / "events.jsonl");
    EXPECT_EQ(log.find("\"run_start\""), log.rfind("\"run_start\""));
    EXPECT_EQ(nlohmann::json::parse(read_file(part / "config.json"))["trainer"]["epochs"], 100);
    const std::string csv = read_file(part / "metrics.csv");
    EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 101);
    p["log"] = log;
    return p;
  }
};

// With the end checkpoint (no budget): the extension continues from it as a second segment.
TEST_F(Extend, ACompletedSessionGoesOnToMoreEpochsAsANewSegment) {
  const auto p = extend({"--set", "session.checkpoint.max_share=0"});
  EXPECT_EQ(p["segments"], 2);
  const auto part = tmp_ / "P";

  // Not fewer epochs, and --epochs belongs to --resume.
  EXPECT_EQ(run({"train", "--resume", part.string(), "--epochs", "60"}).status, 2);
  EXPECT_EQ(run({"train", "--epochs", "60", "--out", (tmp_ / "X").string()}).status, 2);
}

// The default budget: a 40-epoch XOR run on the simulator is too short to afford its end
// checkpoint (its start is the config's and the seed's), so it has none; the extension trains it
// again from the start and still ends with the bits of the 100-epoch run.
TEST_F(Extend, AShortSimulatorRunWithoutAnEndCheckpointIsExtendedToTheSameBits) {
  const auto p = extend({});
  EXPECT_NE(p["log"].get<std::string>().find("\"checkpoint\":null"), std::string::npos);
}

}  // namespace
}  // namespace aeqlab::e2e
