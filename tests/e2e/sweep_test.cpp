// `aeqlab sweep` as a user runs it (docs/sweeps.md): a local pool, MPI ranks (mpirun, for real),
// a Slurm-style --index, a sweep killed and continued, a SPEC with a bad key.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/cpu_cores.hpp"
#include "program_fixture.hpp"

using ::testing::HasSubstr;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace aeqlab::e2e {
namespace {

// Open MPI refuses to run as root unless told it may (CI runs as root in a container). In the
// sanitized build, leak detection is off for MPI processes: Open MPI keeps allocations to the end
// in components it has unloaded by then (ASan's other checks stay on).
const std::string kMpirun =
    "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
    "ASAN_OPTIONS=\"${ASAN_OPTIONS}:detect_leaks=0\" mpirun --oversubscribe -n 2";

// A 2 x 2 sweep (nudging x seed) of a tiny XOR network: four sessions of a few epochs.
std::string tiny_spec(int epochs) {
  return R"({"base": {"data": {"set": "xor"}, "device": {"layers": [2, 4, 2]},
             "trainer": {"batch_size": 4, "epochs": )" +
         std::to_string(epochs) + R"(}, "log": {"level": "warn"}},
   "grid": {"trainer.nudging": [0.2, 0.5]},
   "seeds": [1, 2]})";
}

std::vector<std::vector<std::string>> read_csv(const fs::path& file) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(read_file(file));
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream s(line);
    std::string cell;
    while (std::getline(s, cell, ',')) cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.emplace_back();
    rows.push_back(cells);
  }
  return rows;
}

std::size_t column(const std::vector<std::string>& header, const std::string& name) {
  for (std::size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return i;
  ADD_FAILURE() << "no column " << name;
  return 0;
}

class SweepTest : public ProgramTest {
 protected:
  // Every point listed once, in order, completed, with its values and its session.
  void expect_complete(const fs::path& dir) {
    const auto rows = read_csv(dir / "sweep.csv");
    ASSERT_EQ(rows.size(), 5u) << read_file(dir / "sweep.csv");
    const auto& h = rows[0];
    EXPECT_EQ(h[0], "point");
    EXPECT_EQ(h[1], "trainer.nudging");
    EXPECT_EQ(h[2], "seed");
    const std::vector<std::string> nudging = {"0.2", "0.2", "0.5", "0.5"},
                                   seed = {"1", "2", "1", "2"};
    for (std::size_t i = 1; i < rows.size(); ++i) {
      const auto& r = rows[i];
      EXPECT_EQ(r[0], "p000" + std::to_string(i - 1));
      EXPECT_EQ(r[1], nudging[i - 1]);
      EXPECT_EQ(r[2], seed[i - 1]);
      EXPECT_EQ(r[column(h, "status")], "completed");
      EXPECT_FALSE(r[column(h, "test_error")].empty());
      const fs::path session = dir / r[column(h, "session")];
      const json summary = json::parse(read_file(session / "summary.json"));
      EXPECT_EQ(summary["status"], "completed");
      // The point's values reached its session.
      const json config = json::parse(read_file(session / "config.json"));
      EXPECT_EQ(config["trainer"]["nudging"].dump(), nudging[i - 1]);
      EXPECT_EQ(config["trainer"]["seed"].dump(), seed[i - 1]);
      EXPECT_EQ(config["device"]["seed"].dump(), seed[i - 1]);
    }
  }
};

TEST_F(SweepTest, LocalPoolOfTwoRunsEveryPoint) {
  const auto spec = write("spec.json", tiny_spec(3));
  const auto r = run({"sweep", spec.string(), "--out", "sw", "--jobs", "2"});
  ASSERT_EQ(r.status, 0) << r.all();
  expect_complete(tmp_ / "sw");
  // Run again: nothing left to do, nothing redone.
  const auto before = read_file(tmp_ / "sw" / "p0002" / "events.jsonl");
  const auto again = run({"sweep", spec.string(), "--out", "sw", "--jobs", "2"});
  ASSERT_EQ(again.status, 0) << again.all();
  EXPECT_THAT(again.err, HasSubstr("0 to run"));
  EXPECT_EQ(read_file(tmp_ / "sw" / "p0002" / "events.jsonl"), before);

  // The report of a sweep folder: the sweep against its keys, and the best points' sessions.
  const auto report = run({"report", "sw"});
  ASSERT_EQ(report.status, 0) << report.all();
  EXPECT_TRUE(fs::exists(tmp_ / "sw" / "report" / "sweep.png"));
  const auto page = read_file(tmp_ / "sw" / "report" / "index.html");
  EXPECT_THAT(page, HasSubstr("sweep.png"));
  EXPECT_THAT(page, HasSubstr("p000"));
}

TEST_F(SweepTest, PointsRunningSideBySideShareTheCores) {
  // --jobs 2: each point may count on half of this machine's cores (AEQLAB_CORES), and the
  // simulator's device.threads "auto" says so in the point's log.
  const auto spec = write("spec.json", R"({"base": {"data": {"set": "xor"},
      "device": {"layers": [2, 4, 2]}, "trainer": {"batch_size": 4, "epochs": 1},
      "log": {"level": "info"}}, "seeds": [1, 2]})");
  const auto r = run({"sweep", spec.string(), "--out", "sw", "--jobs", "2"});
  ASSERT_EQ(r.status, 0) << r.all();
  const std::size_t share = std::max<std::size_t>(1, cores_available() / 2);
  for (const char* point : {"p0000", "p0001"})
    EXPECT_THAT(read_file(tmp_ / "sw" / point / "log.txt"),
                HasSubstr("device.threads auto: " + std::to_string(share) + " core(s)"))
        << point;
}

TEST_F(SweepTest, TwoMpiRanksShareThePoints) {
  const auto spec = write("spec.json", tiny_spec(3));
  const auto r = run({"sweep", spec.string(), "--out", "sw"}, kMpirun);
  ASSERT_EQ(r.status, 0) << r.all();
  expect_complete(tmp_ / "sw");
  // Rank 1 ran at least one point: rank 0 hands them out as the ranks ask.
  EXPECT_THAT(r.err, HasSubstr("on rank 1")) << r.all();
}

TEST_F(SweepTest, SlurmStyleIndexRunsOnePoint) {
  const auto spec = write("spec.json", tiny_spec(2));
  const auto r = run({"sweep", spec.string(), "--out", "sw", "--index", "2"});
  ASSERT_EQ(r.status, 0) << r.all();
  const auto rows = read_csv(tmp_ / "sw" / "sweep.csv");
  ASSERT_EQ(rows.size(), 5u);
  const std::size_t status = column(rows[0], "status");
  EXPECT_EQ(rows[1][status], "pending");
  EXPECT_EQ(rows[3][status], "completed");
  const auto out_of_range = run({"sweep", spec.string(), "--out", "sw", "--index", "4"});
  EXPECT_EQ(out_of_range.status, 2);
  EXPECT_THAT(out_of_range.err, HasSubstr("--index 4"));
}

TEST_F(SweepTest, AKilledSweepContinuesWithoutRedoingFinishedPoints) {
  // Two short points, then two long enough to be caught mid-run (checkpoints every 50 epochs).
  const auto spec = write("spec.json", R"({"base": {"data": {"set": "xor"},
      "device": {"layers": [2, 4, 2]}, "trainer": {"batch_size": 1},
      "session": {"detail": "epoch", "checkpoint": {"every_epochs": 50, "max_share": 0}},
      "log": {"level": "warn"}},
    "grid": {"trainer.epochs": [2, 2500]}, "seeds": [1, 2]})");
  const pid_t pid = fork();
  if (pid == 0) {
    if (chdir(tmp_.c_str()) != 0) _exit(127);
    const std::string out = (tmp_ / "first.err").string();
    if (!freopen(out.c_str(), "w", stderr)) _exit(127);
    execl(AEQLAB_BINARY, AEQLAB_BINARY, "sweep", spec.c_str(), "--out", "sw", nullptr);
    _exit(127);
  }
  // Kill the sweep (SIGKILL: no chance to tidy up) once the short points are done and the first
  // long one has a checkpoint past its start.
  const fs::path sw = tmp_ / "sw";
  bool caught = false;
  for (int i = 0; i < 6000 && !caught; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::error_code ec;
    caught = fs::exists(sw / "p0002" / "checkpoints" / "000002", ec);
  }
  ::kill(pid, SIGKILL);
  int raw = 0;
  waitpid(pid, &raw, 0);
  ASSERT_TRUE(caught) << read_file(tmp_ / "first.err");
  // The point that was running stops too (it is told when its sweep dies), with a checkpoint.
  for (int i = 0; i < 3000 && !fs::exists(sw / "p0002" / "summary.json"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(fs::exists(sw / "p0001" / "summary.json"));
  const auto finished = read_file(sw / "p0001" / "events.jsonl");

  const auto r = run({"sweep", spec.string(), "--out", "sw", "--jobs", "2"});
  ASSERT_EQ(r.status, 0) << r.all();
  // The finished points are not started again (p0002 may be counted "to run" or, while it is
  // still stopping, "run by another process" and taken up when it has).
  EXPECT_THAT(r.err, ::testing::Not(HasSubstr("point p0000 ("))) << r.all();
  EXPECT_THAT(r.err, ::testing::Not(HasSubstr("point p0001 ("))) << r.all();
  EXPECT_THAT(r.err, HasSubstr("point p0002 (")) << r.all();
  EXPECT_EQ(read_file(sw / "p0001" / "events.jsonl"), finished);  // not redone
  EXPECT_THAT(read_file(sw / "p0002" / "events.jsonl"), HasSubstr("\"event\":\"resume\""));
  const auto rows = read_csv(sw / "sweep.csv");
  ASSERT_EQ(rows.size(), 5u);
  for (std::size_t i = 1; i < rows.size(); ++i)
    EXPECT_EQ(rows[i][column(rows[0], "status")], "completed") << read_file(sw / "sweep.csv");
}

TEST_F(SweepTest, ABadKeyIsRefusedByNameBeforeAnythingRuns) {
  const auto spec = write("spec.json", R"({"base": {"data": {"set": "xor"}},
    "grid": {"trainer.nudgin": [0.2, 0.5]}})");
  const auto r = run({"sweep", spec.string(), "--out", "sw"});
  EXPECT_EQ(r.status, 2) << r.all();
  EXPECT_THAT(r.err, HasSubstr("trainer.nudgin"));
  EXPECT_FALSE(fs::exists(tmp_ / "sw"));

  const auto section = write("section.json", R"({"base": {}, "grid": {"trainr.epochs": [1]}})");
  const auto r2 = run({"sweep", section.string(), "--out", "sw"});
  EXPECT_EQ(r2.status, 2) << r2.all();
  EXPECT_THAT(r2.err, HasSubstr("trainr"));

  const auto value = write("value.json", R"({"base": {}, "grid": {"trainer.epochs": [1, -3]}})");
  const auto r3 = run({"sweep", value.string(), "--out", "sw"});
  EXPECT_EQ(r3.status, 2) << r3.all();
  EXPECT_THAT(r3.err, HasSubstr("trainer.epochs"));
  EXPECT_THAT(r3.err, HasSubstr("p0001"));

  const auto top = write("top.json", R"({"base": {}, "grids": {}})");
  const auto r4 = run({"sweep", top.string(), "--out", "sw"});
  EXPECT_EQ(r4.status, 2) << r4.all();
  EXPECT_THAT(r4.err, HasSubstr("grids: unknown key"));
  EXPECT_FALSE(fs::exists(tmp_ / "sw"));
}

TEST_F(SweepTest, RandomDrawsAreReproducible) {
  const auto spec = write("spec.json", R"({"base": {"data": {"set": "xor"}},
    "random": {"samples": 3, "seed": 4, "trainer.nudging": {"log_uniform": [0.01, 1.0]}}})");
  const auto a = run({"sweep", spec.string(), "--out", "sw", "--check"});
  const auto b = run({"sweep", spec.string(), "--out", "sw", "--check"});
  ASSERT_EQ(a.status, 0) << a.all();
  EXPECT_EQ(a.out, b.out);
  const auto rows = read_csv(write("list.csv", a.out));
  ASSERT_EQ(rows.size(), 4u) << a.out;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    const double v = std::stod(rows[i][1]);
    EXPECT_GE(v, 0.01);
    EXPECT_LE(v, 1.0);
  }
  EXPECT_FALSE(fs::exists(tmp_ / "sw"));
}

}  // namespace
}  // namespace aeqlab::e2e
