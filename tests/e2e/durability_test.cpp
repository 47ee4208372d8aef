// Sessions that survive anything, checked on the built program: SIGKILL at random points and
// `--resume` to the same bits, Ctrl-C once and twice, a disk that fills up, a folder that cannot
// take a session.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/sha256.hpp"

using ::testing::HasSubstr;
using json = nlohmann::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

#include "program_fixture.hpp"

using aeqlab::e2e::read_file;

namespace {

// A child running the program, with its output in files.
struct Child {
  pid_t pid = -1;
  fs::path out, err;
  mutable int status = -1;  // once reaped
};

Child spawn(const std::vector<std::string>& args, const fs::path& cwd, const std::string& tag,
            rlim_t file_size_limit = RLIM_INFINITY) {
  Child c;
  c.out = cwd / (tag + ".out");
  c.err = cwd / (tag + ".err");
  std::vector<std::string> argv_s = {AEQLAB_BINARY};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  c.pid = fork();
  if (c.pid == 0) {
    if (chdir(cwd.c_str()) != 0) _exit(127);
    const int o = open(c.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = open(c.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int n = open("/dev/null", O_RDONLY);
    dup2(o, 1);
    dup2(e, 2);
    dup2(n, 0);
    if (file_size_limit != RLIM_INFINITY) {
      const rlimit lim{file_size_limit, file_size_limit};
      setrlimit(RLIMIT_FSIZE, &lim);
    }
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return c;
}

// The exit status (128 + signal when killed), or -1 if still running at the deadline.
bool alive(const Child& c) {
  if (c.status >= 0) return false;
  int raw = 0;
  if (waitpid(c.pid, &raw, WNOHANG) != c.pid) return true;
  c.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  return false;
}

int wait_for(const Child& c, double seconds) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  while (alive(c)) {
    if (Clock::now() > deadline) {
      kill(c.pid, SIGKILL);  // do not leave it behind
      waitpid(c.pid, nullptr, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return c.status;
}

std::size_t count_lines(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

// Every line of the log parses as a JSON object, except perhaps a last one without its newline
// (the line being written when the program died). Returns the parsed events.
std::vector<json> check_log(const fs::path& session, bool allow_partial_tail) {
  const std::string text = read_file(session / "events.jsonl");
  std::vector<json> events;
  std::size_t at = 0, line = 0;
  while (at < text.size()) {
    ++line;
    const std::size_t nl = text.find('\n', at);
    if (nl == std::string::npos) {
      EXPECT_TRUE(allow_partial_tail) << "an unterminated last line in a finished log";
      break;
    }
    try {
      const json j = json::parse(text.substr(at, nl - at));
      EXPECT_TRUE(j.is_object() && j.contains("event")) << "line " << line;
      events.push_back(j);
    } catch (const json::exception& e) {
      ADD_FAILURE() << "events.jsonl line " << line << " does not parse: " << e.what();
    }
    at = nl + 1;
  }
  return events;
}

std::string fmt_sequence(int sequence) {
  std::string s = std::to_string(sequence);
  return std::string(6 - std::min<std::size_t>(6, s.size()), '0') + s;
}

json summary_of(const fs::path& session) {
  return json::parse(read_file(session / "summary.json"));
}

// The rows of metrics.csv, without the timing columns (they differ from run to run).
std::vector<std::string> metric_rows(const fs::path& session) {
  std::ifstream in(session / "metrics.csv");
  std::string header;
  std::getline(in, header);
  std::vector<std::string> names;
  for (std::stringstream h(header); std::getline(h, header, ',');) names.push_back(header);
  std::vector<std::string> rows;
  for (std::string line; std::getline(in, line);) {
    std::stringstream cells(line);
    std::string cell, kept;
    for (std::size_t i = 0; std::getline(cells, cell, ','); ++i)
      if (i < names.size() && names[i].find("second") == std::string::npos) {
        kept += cell;
        kept += ',';
      }
    rows.push_back(kept);
  }
  return rows;
}

std::string file_sha256(const fs::path& file) {
  aeqlab::Sha256 h;
  const std::string bytes = read_file(file);
  h.update(bytes.data(), bytes.size());
  return h.hex_digest();
}

// Training `cfg` into `dir`, a few steps in: returns once its log has 8 lines (or it ended).
Child started(const fs::path& cfg, const fs::path& dir, const fs::path& cwd) {
  const Child c = spawn({"train", "--config", cfg.string(), "--out", dir.string()}, cwd, "run");
  while (alive(c) && count_lines(dir / "events.jsonl") < 8)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return c;
}

// MNIST on a small network (float32, sparse inputs, the implicit input knob: every path of the
// simulator a real run takes), with a checkpoint every 4 steps.
const char* kMnistConfig = R"({
  "device": {"layers": [784, 32, 10]},
  "data": {"set": "mnist", "dir": "DATA", "train_limit": 1200, "test_limit": 300},
  "trainer": {"epochs": 2, "batch_size": 16},
  "session": {"checkpoint": {"every_steps": 4, "max_share": 0}},
  "log": {"level": "warn"}
})";

// Two moons through the feedback homeostat (it carries its knobs from hold to hold).
const char* kMoonsConfig = R"({
  "device": {"layers": [2, 16, 2], "gains": [2.0, 1.0], "precision": "float64",
             "input_range": [-2.0, 3.0],
             "compliance": {"weights": [0.02, 0.01], "biases": [0.005, 0.002]}},
  "data": {"set": "two-moons", "moons_samples": 200},
  "trainer": {"epochs": 3, "batch_size": 8, "homeostat": "feedback", "compliance_decay": 1.0},
  "session": {"detail": "phase", "checkpoint": {"every_steps": 5}},
  "log": {"level": "warn"}
})";

class Durability : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    tmp_ = fs::temp_directory_path() /
           (std::string("aeqlab-durability-") + info->name() + "-" + std::to_string(getpid()));
    fs::remove_all(tmp_);
    fs::create_directories(tmp_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!HasFailure()) fs::remove_all(tmp_, ec);
  }

  fs::path config(const std::string& name, std::string text) const {
    const auto at = text.find("DATA");
    if (at != std::string::npos)
      text.replace(at, 4, (fs::path(AEQLAB_SOURCE_DIR) / "data" / "mnist").string());
    const fs::path p = tmp_ / name;
    std::ofstream(p) << text;
    return p;
  }

  // The MNIST run's reference, and the same run in tmp_/interrupted given `presses` Ctrl-Cs a
  // few steps in (not started when the reference failed).
  struct CtrlC {
    fs::path ref, dir;
    Child run;
  };
  CtrlC ctrl_c_mnist(int presses) {
    const fs::path cfg = config("mnist.json", kMnistConfig);
    CtrlC c{reference(cfg), tmp_ / "interrupted", {}};
    if (HasFailure()) return c;
    c.run = started(cfg, c.dir, tmp_);
    for (int i = 0; i < presses; ++i) kill(c.run.pid, SIGINT);
    return c;
  }

  // An uninterrupted run: the bits every interrupted one must end with.
  fs::path reference(const fs::path& cfg, double* seconds = nullptr) {
    const fs::path dir = tmp_ / "reference";
    const auto t0 = Clock::now();
    const Child c = spawn({"train", "--config", cfg.string(), "--out", dir.string()}, tmp_, "ref");
    const int status = wait_for(c, 300);
    EXPECT_EQ(status, 0) << read_file(c.err);
    if (seconds) *seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return dir;
  }

  fs::path tmp_;
};

}  // namespace

TEST_F(Durability, KilledAtRandomPointsAResumedRunEndsBitIdentical) {
  const fs::path cfg = config("mnist.json", kMnistConfig);
  double run_seconds = 0;
  const fs::path ref = reference(cfg, &run_seconds);
  ASSERT_FALSE(HasFailure());
  const std::string want = summary_of(ref)["parameters_sha256"];
  const auto want_rows = metric_rows(ref);
  const std::size_t ref_lines = count_lines(ref / "events.jsonl");
  ASSERT_EQ(want_rows.size(), 2u);

  std::mt19937 rng(20261124);
  std::size_t kills_in_session = 0, kills = 0;
  std::string schedule;
  // Sessions until at least 24 kills have landed in running sessions (at most 12 sessions).
  for (int s = 0; s < 12 && kills_in_session < 24 && !HasFailure(); ++s) {
    const fs::path dir = tmp_ / ("killed-" + std::string(1, char('a' + s)));
    std::size_t resumes = 0;
    for (int segment = 0;; ++segment) {
      const bool fresh = !fs::exists(dir / "config.json");
      if (fresh) fs::remove_all(dir);  // killed before the session existed: start it again
      const std::size_t lines_before = fresh ? 0 : count_lines(dir / "events.jsonl");
      const auto t0 = Clock::now();
      const Child c =
          fresh ? spawn({"train", "--config", cfg.string(), "--out", dir.string()}, tmp_, "seg")
                : spawn({"train", "--resume", dir.string()}, tmp_, "seg");
      resumes += !fresh;
      if (segment < 10) {
        // One kill in four anywhere (loading the data, opening the session, resuming), timed
        // from the start; the others once this segment has logged k more lines, k drawn within
        // 40% of what the reference logged after this point, plus up to 2 ms. Counted in lines,
        // not seconds, so that a loaded machine (a slow reference, fast segments, or the other
        // way round) still lands its kills inside running sessions.
        const bool anywhere = rng() % 4 == 0;
        const double at =
            anywhere ? std::uniform_real_distribution<double>(0.0, run_seconds)(rng) : 0.0;
        const std::size_t remaining = ref_lines > lines_before ? ref_lines - lines_before : 1;
        const std::size_t k = 1 + rng() % std::max<std::size_t>(1, remaining * 2 / 5);
        const auto extra = std::chrono::microseconds(rng() % 2000);
        auto begun = t0;
        if (!anywhere) {
          while (alive(c) && count_lines(dir / "events.jsonl") < lines_before + k)
            std::this_thread::sleep_for(std::chrono::microseconds(200));
          std::this_thread::sleep_for(extra);
        }
        while (alive(c) && std::chrono::duration<double>(Clock::now() - begun).count() < at)
          std::this_thread::sleep_for(std::chrono::microseconds(200));
        if (alive(c)) {
          kill(c.pid, SIGKILL);
          const int killed = wait_for(c, 60);
          if (killed == 0) break;  // it finished just before the signal
          ASSERT_EQ(killed, 128 + SIGKILL) << read_file(c.err);
          schedule += anywhere ? " @" + std::to_string(at).substr(0, 5) : " +" + std::to_string(k);
          if (fs::exists(dir / "events.jsonl")) {
            ++kills_in_session;
            check_log(dir, true);
          }
          ++kills;
          continue;
        }
      }
      const int status = wait_for(c, 300);
      ASSERT_EQ(status, 0) << "session " << s << " segment " << segment << ": " << read_file(c.err);
      break;
    }
    const auto events = check_log(dir, false);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back()["event"], "run_stop");
    const json summary = summary_of(dir);
    EXPECT_EQ(summary["status"], "completed");
    EXPECT_EQ(summary["parameters_sha256"], want) << "session " << s << ", kills at" << schedule;
    EXPECT_EQ(file_sha256(dir / "parameters.f64"), want);
    EXPECT_EQ(metric_rows(dir), want_rows) << "session " << s;
    std::size_t resume_events = 0;
    for (const auto& e : events) resume_events += e["event"] == "resume";
    EXPECT_LE(resume_events, resumes);
  }
  EXPECT_GE(kills_in_session, 20u) << "kills at" << schedule;
  std::cout
      << "[ kills    ] " << kills << " (" << kills_in_session
      << " in running sessions), seconds after start (@) or lines after the segment began (+):"
      << schedule << "\n";
  RecordProperty("kills", int(kills));
}

TEST_F(Durability, CtrlCCheckpointsStopsSafelyAndResumesToTheSameBits) {
  const auto [ref, dir, c] = ctrl_c_mnist(1);
  ASSERT_FALSE(HasFailure());
  ASSERT_EQ(wait_for(c, 120), 130) << read_file(c.err);
  EXPECT_THAT(read_file(c.err), HasSubstr("--resume"));

  const auto events = check_log(dir, false);
  ASSERT_GE(events.size(), 3u);
  const json& stop = events.back();
  EXPECT_EQ(stop["event"], "run_stop");
  EXPECT_EQ(stop["status"], "aborted");
  EXPECT_EQ(stop["safe_state"], "reached");
  const json& last_checkpoint = events[events.size() - 2];
  EXPECT_EQ(last_checkpoint["event"], "checkpoint");
  EXPECT_EQ(last_checkpoint["why"], "stop");
  EXPECT_TRUE(fs::exists(dir / "checkpoints" /
                         fs::path(fmt_sequence(last_checkpoint["sequence"].get<int>()))));
  EXPECT_EQ(summary_of(dir)["status"], "aborted");

  const Child r = spawn({"train", "--resume", dir.string()}, tmp_, "resume");
  ASSERT_EQ(wait_for(r, 300), 0) << read_file(r.err);
  EXPECT_EQ(summary_of(dir)["status"], "completed");
  EXPECT_EQ(summary_of(dir)["parameters_sha256"], summary_of(ref)["parameters_sha256"]);
  EXPECT_EQ(metric_rows(dir), metric_rows(ref));
}

TEST_F(Durability, ASecondCtrlCStopsAtOnceYetSafely) {
  const auto [ref, dir, c] = ctrl_c_mnist(2);
  ASSERT_FALSE(HasFailure());
  ASSERT_EQ(wait_for(c, 120), 130) << read_file(c.err);
  const auto events = check_log(dir, false);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back()["event"], "run_stop");
  EXPECT_EQ(events.back()["status"], "aborted");
  EXPECT_EQ(events.back()["safe_state"], "reached");

  // The abandoned step is redone from the last checkpoint: still the same bits at the end.
  const Child r = spawn({"train", "--resume", dir.string()}, tmp_, "resume");
  ASSERT_EQ(wait_for(r, 300), 0) << read_file(r.err);
  EXPECT_EQ(summary_of(dir)["parameters_sha256"], summary_of(ref)["parameters_sha256"]);
}

TEST_F(Durability, AFullDiskStopsTheRunCleanlyAndLosesNothingRecorded) {
  const fs::path cfg = config("moons.json", kMoonsConfig);
  const fs::path ref = reference(cfg);
  ASSERT_FALSE(HasFailure());
  const std::string want = summary_of(ref)["parameters_sha256"];

  // The file-size limit makes the disk "full" for any file that grows past 48 kB: the event
  // log, at the phase level, gets there within the first epoch.
  const fs::path dir = tmp_ / "full";
  const Child c =
      spawn({"train", "--config", cfg.string(), "--out", dir.string()}, tmp_, "full", 48 * 1024);
  ASSERT_EQ(wait_for(c, 120), 1) << read_file(c.err);
  const std::string err = read_file(c.err);
  EXPECT_THAT(err, HasSubstr("events.jsonl"));
  EXPECT_THAT(err, HasSubstr("File too large"));
  check_log(dir, false);  // whatever was written is intact: a line the disk cut was taken back
  ASSERT_TRUE(fs::exists(dir / "summary.json"));
  const json summary = summary_of(dir);
  EXPECT_EQ(summary["status"], "failed");
  EXPECT_THAT(summary["reason"].get<std::string>(), HasSubstr("File too large"));

  // Room again: the run resumes from its last checkpoint and ends as if nothing happened.
  const Child r = spawn({"train", "--resume", dir.string()}, tmp_, "resume");
  ASSERT_EQ(wait_for(r, 300), 0) << read_file(r.err);
  check_log(dir, false);
  EXPECT_EQ(summary_of(dir)["status"], "completed");
  EXPECT_EQ(summary_of(dir)["parameters_sha256"], want);
}

TEST_F(Durability, ADiskTooSmallForTheCheckpointsIsRefusedBeforeTheRun) {
  const fs::path cfg = config("mnist.json", kMnistConfig);
  // A first checkpoint that cannot be written fails the run before any training.
  const fs::path small = tmp_ / "small";
  const Child c =
      spawn({"train", "--config", cfg.string(), "--out", small.string()}, tmp_, "small", 64 * 1024);
  ASSERT_EQ(wait_for(c, 120), 1) << read_file(c.err);
  EXPECT_THAT(read_file(c.err), HasSubstr("File too large"));
  const auto events = check_log(small, false);
  std::size_t steps = 0;
  for (const auto& e : events) steps += e["event"] == "step";
  EXPECT_EQ(steps, 0u) << "trained although nothing could be kept";

  // With the budget on, a simulator built from its config keeps no checkpoint 0; its trial write
  // (checkpoint 0's size, unsynced, removed) still stops the run before any training.
  const fs::path trial = tmp_ / "trial";
  const Child t = spawn({"train", "--config", cfg.string(), "--out", trial.string(), "--set",
                         "session.checkpoint.max_share=0.03"},
                        tmp_, "trial", 64 * 1024);
  ASSERT_EQ(wait_for(t, 120), 1) << read_file(t.err);
  EXPECT_THAT(read_file(t.err), HasSubstr("File too large"));
  std::size_t trial_steps = 0;
  for (const auto& e : check_log(trial, false)) trial_steps += e["event"] == "step";
  EXPECT_EQ(trial_steps, 0u) << "trained although no checkpoint could be kept";

  // Asking for more checkpoints than the disk holds is refused before the session exists.
  const fs::path greedy = tmp_ / "greedy";
  const Child g = spawn({"train", "--config", cfg.string(), "--out", greedy.string(), "--set",
                         "session.checkpoint.keep=100000000"},
                        tmp_, "greedy");
  ASSERT_EQ(wait_for(g, 120), 2) << read_file(g.err);
  EXPECT_THAT(read_file(g.err), HasSubstr("MB free"));
  EXPECT_FALSE(fs::exists(greedy));
}

TEST_F(Durability, AFolderThatCannotHoldASessionIsNamed) {
  const fs::path cfg = config("moons.json", kMoonsConfig);
  std::ofstream(tmp_ / "a-file") << "not a folder";
  const fs::path bad = tmp_ / "a-file" / "session";
  const Child c = spawn({"train", "--config", cfg.string(), "--out", bad.string()}, tmp_, "bad");
  ASSERT_EQ(wait_for(c, 60), 2);
  EXPECT_THAT(read_file(c.err), HasSubstr(bad.string()));
}

TEST_F(Durability, ResumeRefusesWhatItCannotContinue) {
  const fs::path cfg = config("moons.json", kMoonsConfig);
  const fs::path ref = reference(cfg);
  ASSERT_FALSE(HasFailure());
  // A completed run has nothing to continue; saying so is not an error.
  const Child done = spawn({"train", "--resume", ref.string()}, tmp_, "done");
  EXPECT_EQ(wait_for(done, 60), 0);
  EXPECT_THAT(read_file(done.err) + read_file(done.out), HasSubstr("nothing to resume"));
  // A resumed session keeps the config it recorded.
  const Child set =
      spawn({"train", "--resume", ref.string(), "--set", "trainer.epochs=9"}, tmp_, "set");
  EXPECT_EQ(wait_for(set, 60), 2);
  EXPECT_THAT(read_file(set.err), HasSubstr("--resume"));
  // A folder that is no session.
  fs::create_directories(tmp_ / "empty");
  const Child empty = spawn({"train", "--resume", (tmp_ / "empty").string()}, tmp_, "empty");
  EXPECT_EQ(wait_for(empty, 60), 2);
  EXPECT_THAT(read_file(empty.err), HasSubstr("not a session folder"));
}

TEST_F(Durability, AClosedTerminalStopsTheRunLikeCtrlC) {
  const fs::path cfg = config("mnist.json", kMnistConfig);
  const fs::path dir = tmp_ / "hangup";
  const Child c = started(cfg, dir, tmp_);
  kill(c.pid, SIGHUP);
  ASSERT_EQ(wait_for(c, 120), 128 + SIGHUP) << read_file(c.err);
  const auto events = check_log(dir, false);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back()["status"], "aborted");
  EXPECT_EQ(events.back()["safe_state"], "reached");
}

TEST_F(Durability, AFolderLeftBeforeTheSessionBeganIsTakenOver) {
  // Killed between making the folder and writing config.json: an empty log and nothing else.
  const fs::path cfg = config("moons.json", kMoonsConfig);
  const fs::path dir = tmp_ / "unborn";
  fs::create_directories(dir);
  std::ofstream(dir / "events.jsonl").close();
  const Child c = spawn({"train", "--config", cfg.string(), "--out", dir.string()}, tmp_, "run");
  ASSERT_EQ(wait_for(c, 120), 0) << read_file(c.err);
  EXPECT_EQ(summary_of(dir)["status"], "completed");
}
