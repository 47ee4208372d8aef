// `mpirun -n 2 aeqlab train` is the same run as `aeqlab train` (docs/mpi.md): float64, same
// parameters_sha256; and after one rank is killed, `--resume` under mpirun ends on the same bits.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "program_fixture.hpp"

using json = nlohmann::json;
namespace fs = std::filesystem;

namespace aeqlab::e2e {
namespace {

// Open MPI refuses to run as root unless told it may (CI runs as root in a container). In the
// sanitized build, leak detection is off for MPI processes: Open MPI keeps allocations to the end
// in components it has unloaded by then (ASan's other checks stay on).
const std::string kAllowRoot =
    "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
    "ASAN_OPTIONS=\"${ASAN_OPTIONS}:detect_leaks=0\"";

// The same, for a child started without a shell.
void allow_mpi_in_this_process() {
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  const char* asan = std::getenv("ASAN_OPTIONS");
  setenv("ASAN_OPTIONS", (std::string(asan ? asan : "") + ":detect_leaks=0").c_str(), 1);
}

// A small MNIST run in float64: 250 samples, so the last batch of each epoch is partial (26).
std::vector<std::string> small_mnist(int epochs, const std::string& out) {
  return {"train",
          "--set",
          "device.layers=[784,64,10]",
          "--set",
          "device.precision=\"float64\"",
          "--set",
          "data.train_limit=250",
          "--set",
          "data.test_limit=100",
          "--set",
          "trainer.epochs=" + std::to_string(epochs),
          "--set",
          "session.checkpoint.every_steps=2",
          "--set",
          "session.checkpoint.max_share=0",  // every checkpoint: the tests wait for them
          "--set",
          "log.level=\"warn\"",
          "--out",
          out};
}

std::string sha_of(const fs::path& session) {
  return json::parse(read_file(session / "summary.json")).value("parameters_sha256", "");
}

// The process whose environment holds all of `marks`, other than `not_pid`; -1 if none.
pid_t find_process(const std::vector<std::string>& marks) {
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string env = read_file(e.path() / "environ");
    for (char& c : env)
      if (c == '\0') c = '\n';
    env = "\n" + env;
    bool all = true;
    for (const auto& m : marks) all = all && env.find("\n" + m + "\n") != std::string::npos;
    if (all) return pid_t(std::stol(name));
  }
  return -1;
}

class MpiTrainTest : public ProgramTest {
 protected:
  // `mpirun -n 2` before the program; the other ranks' scratch sessions go to the test's folder
  // (TMPDIR), removed with it.
  std::string under_mpirun() const {
    return kAllowRoot + " TMPDIR=" + quote(tmp_.string()) + " mpirun --oversubscribe -n 2";
  }
};

TEST_F(MpiTrainTest, TwoRanksTrainTheSameBitsAsOneProcess) {
  const auto one = run(small_mnist(2, "one"));
  ASSERT_EQ(one.status, 0) << one.all();
  const auto two = run(small_mnist(2, "two"), under_mpirun());
  ASSERT_EQ(two.status, 0) << two.all();
  const std::string sha = sha_of(tmp_ / "one");
  ASSERT_EQ(sha.size(), 64u);
  EXPECT_EQ(sha_of(tmp_ / "two"), sha);
  // The same errors, epoch by epoch (the other columns hold times).
  const json a = json::parse(read_file(tmp_ / "one" / "summary.json")),
             b = json::parse(read_file(tmp_ / "two" / "summary.json"));
  EXPECT_EQ(a["test_error"], b["test_error"]);
  EXPECT_EQ(a["train_error"], b["train_error"]);
  // Rank 0 wrote the one session; the other rank's scratch copy is gone.
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(tmp_))
    if (e.is_directory()) left.push_back(e.path().filename());
  EXPECT_THAT(left, ::testing::UnorderedElementsAre("one", "two"));
}

TEST_F(MpiTrainTest, ResumeAfterOneRankIsKilledEndsOnTheSameBits) {
  const auto one = run(small_mnist(4, "one"));
  ASSERT_EQ(one.status, 0) << one.all();

  const std::string mark = "AEQLAB_TEST_RUN=" + tmp_.string();
  const pid_t mpirun = fork();
  if (mpirun == 0) {
    if (chdir(tmp_.c_str()) != 0) _exit(127);
    const std::string err = (tmp_ / "first.err").string();
    if (!freopen(err.c_str(), "w", stderr) || !freopen("/dev/null", "w", stdout)) _exit(127);
    allow_mpi_in_this_process();
    setenv("AEQLAB_TEST_RUN", tmp_.c_str(), 1);
    setenv("TMPDIR", tmp_.c_str(), 1);
    std::vector<std::string> args = {"mpirun", "--oversubscribe", "-n", "2", AEQLAB_BINARY};
    for (const auto& a : small_mnist(4, "two")) args.push_back(a);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp("mpirun", argv.data());
    _exit(127);
  }
  // Once the run has a few checkpoints, kill rank 1 outright: the job ends, rank 0's session is
  // left mid-run.
  const fs::path cp = tmp_ / "two" / "checkpoints";
  bool caught = false;
  for (int i = 0; i < 6000 && !caught; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::error_code ec;
    caught = fs::exists(cp / "000003", ec) && !fs::exists(tmp_ / "two" / "summary.json", ec);
  }
  pid_t rank1 = -1;
  if (caught) rank1 = find_process({mark, "OMPI_COMM_WORLD_RANK=1"});
  if (rank1 > 0) ::kill(rank1, SIGKILL);
  int raw = 0;
  waitpid(mpirun, &raw, 0);
  ASSERT_TRUE(caught) << read_file(tmp_ / "first.err");
  ASSERT_GT(rank1, 0);
  ASSERT_TRUE(!fs::exists(tmp_ / "two" / "summary.json") ||
              json::parse(read_file(tmp_ / "two" / "summary.json"))["status"] != "completed");

  const auto resumed = run({"train", "--resume", "two"}, under_mpirun());
  ASSERT_EQ(resumed.status, 0) << resumed.all();
  EXPECT_EQ(json::parse(read_file(tmp_ / "two" / "summary.json"))["status"], "completed");
  EXPECT_EQ(sha_of(tmp_ / "two"), sha_of(tmp_ / "one"));
}

// 60 epochs (about 3 s here): long enough that the Ctrl-C, passed on by mpirun, lands before the
// run ends even on an idle machine.
TEST_F(MpiTrainTest, CtrlCStopsEveryRankAfterTheSameStepAndResumeEndsOnTheSameBits) {
  const auto one = run(small_mnist(60, "one"));
  ASSERT_EQ(one.status, 0) << one.all();
  const pid_t mpirun = fork();
  if (mpirun == 0) {
    if (chdir(tmp_.c_str()) != 0) _exit(127);
    const std::string err = (tmp_ / "first.err").string();
    if (!freopen(err.c_str(), "w", stderr) || !freopen("/dev/null", "w", stdout)) _exit(127);
    allow_mpi_in_this_process();
    setenv("TMPDIR", tmp_.c_str(), 1);
    std::vector<std::string> args = {"mpirun", "--oversubscribe", "-n", "2", AEQLAB_BINARY};
    for (const auto& a : small_mnist(60, "two")) args.push_back(a);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp("mpirun", argv.data());
    _exit(127);
  }
  bool caught = false;
  for (int i = 0; i < 6000 && !caught; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::error_code ec;
    caught = fs::exists(tmp_ / "two" / "checkpoints" / "000003", ec) &&
             !fs::exists(tmp_ / "two" / "summary.json", ec);
  }
  if (caught) ::kill(mpirun, SIGINT);  // mpirun passes it on to every rank (as SIGTERM)
  int raw = 0;
  waitpid(mpirun, &raw, 0);
  ASSERT_TRUE(caught) << read_file(tmp_ / "first.err");
  const json stopped = json::parse(read_file(tmp_ / "two" / "summary.json"));
  EXPECT_EQ(stopped["status"], "aborted") << read_file(tmp_ / "first.err");
  // The stop is recorded with the checkpoint a resume continues from. That checkpoint is a new
  // "stop" one, or the last one already written when the signal lands right after it (an epoch's
  // first checkpoint): nothing new to save then, which is right, not a lost stop.
  const std::string events = read_file(tmp_ / "two" / "events.jsonl");
  EXPECT_THAT(events, ::testing::HasSubstr("\"safe_state\":\"reached\""));
  EXPECT_THAT(events, ::testing::HasSubstr("resume continues from checkpoint"));

  const auto resumed = run({"train", "--resume", "two"}, under_mpirun());
  ASSERT_EQ(resumed.status, 0) << resumed.all();
  EXPECT_EQ(sha_of(tmp_ / "two"), sha_of(tmp_ / "one"));
}

TEST_F(MpiTrainTest, RanksWithThreadsTrainTheSameBitsAsOneThread) {
  // Ranks add to threads: each rank's team takes its share of the replicated input products and
  // parameter update, and splits the rank's block of the relaxation (float64, 16 rows per rank: two
  // 64-byte blocks); neither count changes a bit (one process with one thread is the anchor).
  auto args = small_mnist(1, "one");
  args.insert(args.end(), {"--set", "device.threads=1"});
  const auto one = run(args);
  ASSERT_EQ(one.status, 0) << one.all();
  args = small_mnist(1, "two");
  args.insert(args.end(), {"--set", "device.threads=2"});
  const auto two = run(args, under_mpirun());
  ASSERT_EQ(two.status, 0) << two.all();
  ASSERT_EQ(sha_of(tmp_ / "one").size(), 64u);
  EXPECT_EQ(sha_of(tmp_ / "two"), sha_of(tmp_ / "one"));
}

}  // namespace
}  // namespace aeqlab::e2e
