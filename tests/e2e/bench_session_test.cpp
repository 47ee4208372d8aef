// A lab session on the bench: stopped with Ctrl-C mid-run, the bench is brought to its safe
// state, and `train --resume` continues on the same bench from the last checkpoint (restoring
// the knobs: a bench has no snapshot) to a completed session.

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "program_fixture.hpp"
#include "served_bench.hpp"

namespace aeqlab::e2e {
namespace {

const std::string kConfig = xor_bench_config(R"("trainer": {"epochs": 12, "batch_size": 1},
  "session": {"detail": "step", "checkpoint": {"every_steps": 4, "keep": 2}})");

std::vector<nlohmann::json> events(const std::filesystem::path& session) {
  std::vector<nlohmann::json> out;
  std::istringstream log(read_file(session / "events.jsonl"));
  std::string line;
  while (std::getline(log, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

class BenchSession : public ProgramTest {
 protected:
  // Starts the program in the background with its stderr in `err`; returns its pid.
  static pid_t start(std::vector<std::string> words, const std::string& err) {
    words.insert(words.begin(), AEQLAB_BINARY);
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid = -1;
    if (posix_spawn(&pid, AEQLAB_BINARY, &actions, nullptr, argv.data(), environ) != 0) pid = -1;
    posix_spawn_file_actions_destroy(&actions);
    return pid;
  }
};

TEST_F(BenchSession, CtrlCThenResumeOnTheSameBenchCompletes) {
  const auto config = write("config.json", kConfig);
  const std::string served = (tmp_ / "served.json").string();
  ServedBench serve(tmp_.string(), {"--config", config.string(), "--bench-out", served, "--set",
                                    "virtual.settle_ms=2"});
  const auto session = tmp_ / "S";

  // Start training, and interrupt it once it has logged a few steps past a checkpoint.
  const std::string err = (tmp_ / "train-stderr.txt").string();
  const pid_t pid = start(
      {"train", "--config", config.string(), "--bench", served, "--out", session.string()}, err);
  ASSERT_GT(pid, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    std::size_t steps = 0;
    std::ifstream log(session / "events.jsonl");
    std::string line;
    while (std::getline(log, line)) steps += line.find("\"event\":\"step\"") != std::string::npos;
    if (steps >= 10) break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << read_file(err);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(pid, SIGINT);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << read_file(err);
  EXPECT_EQ(WEXITSTATUS(status), 130) << read_file(err);
  auto log = events(session);
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log.back()["event"], "run_stop");
  EXPECT_EQ(log.back()["status"], "aborted");
  EXPECT_EQ(log.back()["safe_state"], "reached");
  const auto stopped = nlohmann::json::parse(read_file(session / "summary.json"));
  EXPECT_EQ(stopped["status"], "aborted");

  // The same bench, still served: the session continues from its checkpoint and completes.
  const auto resumed = run({"train", "--resume", session.string()});
  ASSERT_EQ(resumed.status, 0) << resumed.all();
  log = events(session);
  bool saw_resume = false;
  for (const auto& e : log) saw_resume = saw_resume || e["event"] == "resume";
  EXPECT_TRUE(saw_resume);
  EXPECT_EQ(log.back()["status"], "completed");
  const auto summary = nlohmann::json::parse(read_file(session / "summary.json"));
  EXPECT_EQ(summary["status"], "completed");
  EXPECT_EQ(summary["epochs"], 12);
  EXPECT_EQ(summary["segments"], 2);
  const auto tally = serve.stop();
  EXPECT_EQ(tally.value("out_of_range", 1), 0) << tally.dump();
}

// Ctrl-C during `aeqlab eval` on a bench: the evaluation stops at the next sample, the bench is
// left safe, and the exit status is the shell's 128 + SIGINT, as for a stopped `train`.
TEST_F(BenchSession, CtrlCDuringEvalStopsWith130AndLeavesTheBenchSafe) {
  const auto config = write("config.json", xor_bench_config(R"("trainer": {"epochs": 1,
    "batch_size": 1})"));
  const std::string served = (tmp_ / "served.json").string();
  // Slow settles (50 ms) leave the evaluation's eight samples running long enough to be stopped.
  ServedBench serve(tmp_.string(), {"--config", config.string(), "--bench-out", served, "--set",
                                    "virtual.settle_ms=50"});
  const auto session = tmp_ / "S";
  ASSERT_EQ(
      run({"train", "--config", config.string(), "--bench", served, "--out", session.string()})
          .status,
      0);
  const std::string err = (tmp_ / "eval-stderr.txt").string();
  const pid_t pid = start({"eval", session.string()}, err);
  ASSERT_GT(pid, 0);
  // The parameters are restored and verified just before the first sample is presented.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (read_file(err).find("holds the session's parameters") == std::string::npos) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << read_file(err);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ::kill(pid, SIGINT);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << read_file(err);
  EXPECT_EQ(WEXITSTATUS(status), 130) << read_file(err);
  EXPECT_NE(read_file(err).find("stopped"), std::string::npos) << read_file(err);
  const auto tally = serve.stop();
  EXPECT_EQ(tally.value("out_of_range", 1), 0) << tally.dump();
}

}  // namespace
}  // namespace aeqlab::e2e
