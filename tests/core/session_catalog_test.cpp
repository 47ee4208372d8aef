// Reading past sessions back: statuses, figures and tolerance of damaged folders.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/session_catalog.hpp"
#include "temp_dir.hpp"

using namespace aeqlab;
using ::testing::HasSubstr;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

// One event line as the program writes it (nlohmann::json sorts the keys).
std::string event(const std::string& kind, const std::string& time, json fields = json::object()) {
  fields["event"] = kind;
  fields["time"] = time;
  return fields.dump() + "\n";
}

std::string run_start(const std::string& time, std::size_t epochs) {
  return event("run_start", time,
               {{"device", "hopfield 2-8-2"},
                {"train_samples", 4},
                {"test_samples", 4},
                {"epochs", epochs}});
}

std::string epoch(std::size_t n, double test_error, const std::string& time = "") {
  return event("epoch", time.empty() ? "2026-11-24T10:00:0" + std::to_string(n) + ".000Z" : time,
               {{"epoch", n},
                {"test_error", test_error},
                {"test_cost", 0.1},
                {"train_error_running", 0.5},
                {"samples", 100},
                {"seconds", 0.5},
                {"samples_per_second", 200.0}});
}

std::string step(std::size_t n) {
  // Per-step lines are written by hand, "event" first.
  return "{\"event\":\"step\",\"time\":\"2026-11-24T10:00:00.000Z\",\"batch\":" +
         std::to_string(n) + ",\"cost\":0.25}\n";
}

std::string run_stop(const std::string& status, const std::string& reason = "") {
  return event("run_stop", "2026-11-24T10:00:59.000Z", {{"status", status}, {"reason", reason}});
}

std::string summary(const std::string& status, std::size_t epochs, double test_error,
                    const std::string& reason = "") {
  json s = {{"status", status},         {"device", "hopfield 2-8-2"},   {"epochs", epochs},
            {"test_error", test_error}, {"samples_per_second", 1234.5}, {"wall_seconds", 75.0}};
  if (status == "completed") s["train_error"] = 0.125;
  if (!reason.empty()) s["reason"] = reason;
  return s.dump(2) + "\n";
}

// Holds LOCK_EX on a file through its own open file description, as a live training run does;
// flock locks of two descriptions conflict even within one process.
class HeldLock {
 public:
  explicit HeldLock(const fs::path& file) {
    fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0 || ::flock(fd_, LOCK_EX | LOCK_NB) != 0) ADD_FAILURE() << "cannot lock " << file;
  }
  ~HeldLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  HeldLock(const HeldLock&) = delete;
  HeldLock& operator=(const HeldLock&) = delete;

 private:
  int fd_ = -1;
};

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

}  // namespace

TEST(SessionCatalog, ACompletedSessionHasTheSummarysFigures) {
  test_support::TempDir tmp;
  tmp.write("run/events.jsonl", run_start("2026-11-24T10:00:00.000Z", 2) + step(1) + epoch(1, 0.5) +
                                    step(2) + epoch(2, 0.25) + run_stop("completed"));
  tmp.write("run/summary.json", summary("completed", 2, 0.25));
  tmp.write("run/.lock", "");  // left behind, but nobody holds it
  const SessionInfo s = read_session_info(tmp / "run");
  EXPECT_EQ(s.dir, tmp / "run");
  EXPECT_EQ(s.status, "completed");
  EXPECT_EQ(s.started, "2026-11-24T10:00:00.000Z");
  EXPECT_EQ(s.device, "hopfield 2-8-2");
  EXPECT_EQ(s.epochs_done, 2u);
  EXPECT_EQ(s.epochs_total, 2u);
  EXPECT_EQ(s.test_error, 0.25);
  EXPECT_EQ(s.train_error, 0.125);
  EXPECT_EQ(s.samples_per_second, 1234.5);
  EXPECT_EQ(s.wall_seconds, 75.0);
  EXPECT_EQ(s.reason, "");
  EXPECT_FALSE(s.checkpoint);
  EXPECT_TRUE(s.warnings.empty()) << joined(s.warnings);
}

TEST(SessionCatalog, AnAbortedSessionKeepsItsReasonAndHasNoTrainError) {
  test_support::TempDir tmp;
  tmp.write("run/events.jsonl", run_start("2026-11-24T10:00:00.000Z", 5) + epoch(1, 0.5) +
                                    run_stop("aborted", "signal 2 during epoch 2"));
  tmp.write("run/summary.json", summary("aborted", 1, 0.5, "signal 2 during epoch 2"));
  const SessionInfo s = read_session_info(tmp / "run");
  EXPECT_EQ(s.status, "aborted");
  EXPECT_EQ(s.reason, "signal 2 during epoch 2");
  EXPECT_EQ(s.epochs_done, 1u);
  EXPECT_EQ(s.epochs_total, 5u);
  EXPECT_EQ(s.test_error, 0.5);
  EXPECT_FALSE(s.train_error);
  EXPECT_TRUE(s.warnings.empty()) << joined(s.warnings);
}

TEST(SessionCatalog, ADeadRunWithATruncatedLastLineIsInterrupted) {
  test_support::TempDir tmp;
  const std::string cut = epoch(3, 0.1);
  tmp.write("run/events.jsonl", run_start("2026-11-24T10:00:00.000Z", 10) + epoch(1, 0.5) +
                                    epoch(2, 0.3) + step(7) + cut.substr(0, cut.size() / 2));
  tmp.write("run/.lock", "");
  fs::create_directories(tmp / "run/checkpoints/000002");
  fs::create_directories(tmp / "run/checkpoints/000010");
  fs::create_directories(tmp / "run/checkpoints/.000011.tmp");  // being written: not one yet
  fs::create_directories(tmp / "run/checkpoints/notes");
  tmp.write("run/checkpoints/000099", "a file, not a checkpoint folder");
  const SessionInfo s = read_session_info(tmp / "run");
  EXPECT_EQ(s.status, "interrupted");
  EXPECT_EQ(s.epochs_done, 2u);
  EXPECT_EQ(s.epochs_total, 10u);
  EXPECT_EQ(s.test_error, 0.3);  // the last epoch's
  EXPECT_FALSE(s.train_error);
  EXPECT_EQ(s.samples_per_second, 200.0);  // from the epochs: 200 samples in 1 s
  EXPECT_FALSE(s.wall_seconds);
  EXPECT_EQ(s.checkpoint, 10u);
  ASSERT_EQ(s.warnings.size(), 1u) << joined(s.warnings);
  EXPECT_THAT(s.warnings[0], HasSubstr((tmp / "run/events.jsonl").string() + ":5:"));
}

TEST(SessionCatalog, ATruncatedStepLineIsNoticedWithoutParsingTheOthers) {
  test_support::TempDir tmp;
  const std::string cut = step(3);
  tmp.write("run/events.jsonl", run_start("2026-11-24T10:00:00.000Z", 1) + step(1) + step(2) +
                                    cut.substr(0, cut.size() - 6));
  const SessionInfo s = read_session_info(tmp / "run");
  EXPECT_EQ(s.status, "interrupted");
  ASSERT_EQ(s.warnings.size(), 1u) << joined(s.warnings);
  EXPECT_THAT(s.warnings[0], HasSubstr("events.jsonl:4:"));
}

TEST(SessionCatalog, ALiveRunHoldingTheLockIsRunning) {
  test_support::TempDir tmp;
  tmp.write("run/events.jsonl", run_start("2026-11-24T10:00:00.000Z", 3) + epoch(1, 0.5));
  // A summary from an earlier, aborted segment that is being resumed: the lock wins.
  tmp.write("run/summary.json", summary("aborted", 1, 0.5, "signal 2"));
  {
    HeldLock lock(tmp / "run/.lock");
    EXPECT_TRUE(is_lock_held(tmp / "run/.lock"));
    const SessionInfo s = read_session_info(tmp / "run");
    EXPECT_EQ(s.status, "running");
    EXPECT_EQ(s.epochs_done, 1u);
    EXPECT_EQ(s.epochs_total, 3u);
    EXPECT_EQ(s.test_error, 0.5);
    EXPECT_EQ(s.reason, "");
  }
  // Once the process is gone, the lock is free again.
  EXPECT_FALSE(is_lock_held(tmp / "run/.lock"));
  EXPECT_NE(read_session_info(tmp / "run").status, "running");
}

TEST(SessionCatalog, ALockHeldByAnotherProcessIsSeen) {
  test_support::TempDir tmp;
  tmp.write("run/events.jsonl", run_start("2026-11-24T10:00:00.000Z", 3));
  const fs::path lock = tmp / "run/.lock";
  int ready[2], release[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(release), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    ::close(release[1]);  // so that the read below sees the parent's close as end of file
    const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT, 0644);
    const char ok = fd >= 0 && ::flock(fd, LOCK_EX) == 0 ? 'y' : 'n';
    (void)!::write(ready[1], &ok, 1);
    char c;
    (void)!::read(release[0], &c, 1);
    ::_exit(0);
  }
  ::close(ready[1]);
  ::close(release[0]);
  char ok = 'n';
  const bool locked = ::read(ready[0], &ok, 1) == 1 && ok == 'y';
  EXPECT_TRUE(locked) << "the child could not lock " << lock;
  if (locked) {
    EXPECT_TRUE(is_lock_held(lock));
    EXPECT_EQ(read_session_info(tmp / "run").status, "running");
  }
  ::close(release[1]);  // the child exits, and the kernel drops its lock
  ::close(ready[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_FALSE(is_lock_held(lock));
  EXPECT_EQ(read_session_info(tmp / "run").status, "interrupted");
}

TEST(SessionCatalog, ADamagedSummaryIsAWarningAndTheLogTellsTheOutcome) {
  test_support::TempDir tmp;
  tmp.write("run/events.jsonl",
            run_start("2026-11-24T10:00:00.000Z", 1) + epoch(1, 0.25) + run_stop("completed"));
  tmp.write("run/summary.json", "{\"status\": \"compl");
  const SessionInfo s = read_session_info(tmp / "run");
  EXPECT_EQ(s.status, "completed");
  EXPECT_EQ(s.epochs_done, 1u);
  EXPECT_EQ(s.test_error, 0.25);
  EXPECT_FALSE(s.train_error);
  ASSERT_EQ(s.warnings.size(), 1u) << joined(s.warnings);
  EXPECT_THAT(s.warnings[0], HasSubstr((tmp / "run/summary.json").string()));

  // Without a run_stop at the end, a damaged summary leaves the run interrupted.
  tmp.write("dead/events.jsonl", run_start("2026-11-24T10:00:00.000Z", 3) + epoch(1, 0.25));
  tmp.write("dead/summary.json", "[1, 2]");
  const SessionInfo d = read_session_info(tmp / "dead");
  EXPECT_EQ(d.status, "interrupted");
  EXPECT_EQ(d.warnings.size(), 1u) << joined(d.warnings);
}

TEST(SessionCatalog, EpochsRedoneAfterAResumeAreCountedOnce) {
  test_support::TempDir tmp;
  // Lines 1-3 survive the crash (the checkpoint at line 3), lines 4-5 are redone after it.
  const std::string log =
      run_start("2026-11-24T10:00:00.000Z", 3) + epoch(1, 0.5) +
      event("checkpoint", "2026-11-24T10:00:02.000Z",
            {{"sequence", 1}, {"epoch", 1}, {"position", 0}}) +
      epoch(2, 0.4) + step(9) +
      event("resume", "2026-11-24T11:00:00.000Z",
            {{"checkpoint", 1}, {"epoch", 1}, {"position", 0}, {"superseded_after_line", 3}}) +
      epoch(2, 0.3, "2026-11-24T11:00:01.000Z") + epoch(3, 0.2, "2026-11-24T11:00:02.000Z") +
      run_stop("completed");
  tmp.write("run/events.jsonl", log);
  const SessionInfo s = read_session_info(tmp / "run");
  // The resumed run stopped but its summary.json is missing: the log has the outcome.
  EXPECT_EQ(s.status, "completed");
  ASSERT_EQ(s.warnings.size(), 1u) << joined(s.warnings);
  EXPECT_THAT(s.warnings[0], HasSubstr("summary.json: missing"));
  EXPECT_EQ(s.epochs_done, 3u);
  EXPECT_EQ(s.test_error, 0.2);
  EXPECT_EQ(s.started, "2026-11-24T10:00:00.000Z");
}

TEST(SessionCatalog, EpochsAfterAResumeWithoutSummaryAreInterrupted) {
  test_support::TempDir tmp;
  // Aborted, summary written; then resumed from the checkpoint at line 2, and killed.
  tmp.write("run/events.jsonl",
            run_start("2026-11-24T10:00:00.000Z", 4) + epoch(1, 0.5) + epoch(2, 0.4) +
                run_stop("aborted", "signal 2") +
                event("resume", "2026-11-24T11:00:00.000Z", {{"superseded_after_line", 2}}) +
                epoch(2, 0.35) + epoch(3, 0.3));
  tmp.write("run/summary.json", summary("aborted", 2, 0.4, "signal 2"));
  const SessionInfo s = read_session_info(tmp / "run");
  EXPECT_EQ(s.status, "interrupted");
  EXPECT_EQ(s.epochs_done, 3u);
  EXPECT_EQ(s.test_error, 0.3);
  EXPECT_EQ(s.reason, "");
  ASSERT_EQ(s.warnings.size(), 1u) << joined(s.warnings);
  EXPECT_THAT(s.warnings[0], HasSubstr("summary.json"));
  EXPECT_THAT(s.warnings[0], HasSubstr("events.jsonl:5"));
}

TEST(SessionCatalog, AResumedRunThatEndedHasItsNewSummary) {
  test_support::TempDir tmp;
  tmp.write("run/events.jsonl",
            run_start("2026-11-24T10:00:00.000Z", 2) + epoch(1, 0.5) +
                run_stop("aborted", "signal 2") +
                event("resume", "2026-11-24T11:00:00.000Z", {{"superseded_after_line", 2}}) +
                epoch(2, 0.2) + run_stop("completed"));
  tmp.write("run/summary.json", summary("completed", 2, 0.2));
  const SessionInfo s = read_session_info(tmp / "run");
  EXPECT_EQ(s.status, "completed");
  EXPECT_EQ(s.epochs_done, 2u);
  EXPECT_TRUE(s.warnings.empty()) << joined(s.warnings);
}

TEST(SessionCatalog, ListsTheSessionsOfARootByStartTimeAndSkipsOtherFolders) {
  test_support::TempDir tmp;
  tmp.write("b-late/events.jsonl", run_start("2026-11-25T08:00:00.000Z", 1));
  tmp.write("a-early/events.jsonl", run_start("2026-11-24T08:00:00.000Z", 1));
  tmp.write("c-same/events.jsonl", run_start("2026-11-24T08:00:00.000Z", 1));
  tmp.write("only-summary/summary.json", summary("completed", 1, 0.0));
  tmp.write("broken/events.jsonl", "\x01\x02 not json at all\n{\"event\":");
  tmp.write("not-a-session/notes.txt", "hello");
  tmp.write("stray-file.json", "{}");
  const auto sessions = list_sessions(tmp.path());
  std::vector<std::string> names;
  for (const auto& s : sessions) names.push_back(s.dir.filename().string());
  // Known start times first, in order, ties by name; then the rest by name.
  EXPECT_THAT(names,
              ::testing::ElementsAre("a-early", "c-same", "b-late", "broken", "only-summary"));
  EXPECT_EQ(sessions[3].status, "interrupted");
  EXPECT_EQ(sessions[3].warnings.size(), 2u) << joined(sessions[3].warnings);
  EXPECT_EQ(sessions[4].status, "completed");
  EXPECT_EQ(sessions[0].dir, tmp.path() / "a-early");
}

TEST(SessionCatalog, AnEmptyRootHasNoSessionsAndAMissingOneIsAnError) {
  test_support::TempDir tmp;
  EXPECT_TRUE(list_sessions(tmp.path()).empty());
  try {
    list_sessions(tmp / "nowhere");
    FAIL() << "no error for a missing root";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr((tmp / "nowhere").string()));
  }
  tmp.write("file", "x");
  EXPECT_THROW(list_sessions(tmp / "file"), ConfigError);
}

TEST(SessionCatalog, JsonHasEveryFieldWithNullForAbsentOnes) {
  test_support::TempDir tmp;
  tmp.write("run/events.jsonl", run_start("2026-11-24T10:00:00.000Z", 4) + epoch(1, 0.5));
  const json j = to_json(read_session_info(tmp / "run"));
  EXPECT_EQ(j["dir"], (tmp / "run").string());
  EXPECT_EQ(j["status"], "interrupted");
  EXPECT_EQ(j["started"], "2026-11-24T10:00:00.000Z");
  EXPECT_EQ(j["device"], "hopfield 2-8-2");
  EXPECT_EQ(j["epochs_done"], 1);
  EXPECT_EQ(j["epochs_total"], 4);
  EXPECT_EQ(j["test_error"], 0.5);
  for (const char* key : {"train_error", "wall_seconds", "reason", "checkpoint"})
    EXPECT_TRUE(j[key].is_null()) << key;
  EXPECT_EQ(j["warnings"], json::array());
}
