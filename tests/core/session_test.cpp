// A lab session on disk: the event log, atomic JSON files, and refusals that name the folder.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/session.hpp"
#include "temp_dir.hpp"

using namespace aeqlab;
using ::testing::HasSubstr;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> lines_of(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::string config_error(const fs::path& dir) {
  try {
    Session s(dir);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Session, CreatesTheFolderAndLogsOneJsonObjectPerLine) {
  test_support::TempDir tmp;
  const fs::path dir = tmp / "nested" / "run";
  {
    Session session(dir);
    EXPECT_EQ(session.dir(), dir);
    EXPECT_TRUE(fs::is_directory(dir));
    session.event("run_start", {{"device", "tiny"}, {"epochs", 2}});
    session.event("epoch", {{"epoch", 1}, {"note", "line\nbreak"}});
    session.event("run_stop", {{"status", "completed"}});
    // Each line is flushed as it is written: readable while the session is still open.
    EXPECT_EQ(lines_of(dir / "events.jsonl").size(), 3u);
  }
  const auto lines = lines_of(dir / "events.jsonl");
  ASSERT_EQ(lines.size(), 3u);
  const std::regex iso_utc(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  std::vector<std::string> kinds;
  for (const auto& line : lines) {
    const json j = json::parse(line);  // throws, failing the test, if a line is not JSON
    ASSERT_TRUE(j.contains("event")) << line;
    ASSERT_TRUE(j.contains("time")) << line;
    EXPECT_TRUE(std::regex_match(j["time"].get<std::string>(), iso_utc)) << j["time"];
    kinds.push_back(j["event"]);
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"run_start", "epoch", "run_stop"}));
  EXPECT_EQ(json::parse(lines[0])["epochs"], 2);
  EXPECT_EQ(json::parse(lines[1])["note"], "line\nbreak");
}

TEST(Session, WritesJsonFilesWholeWithNothingLeftOver) {
  test_support::TempDir tmp;
  Session session(tmp / "run");
  session.write_json("summary.json", {{"status", "running"}});
  session.write_json("summary.json", {{"status", "completed"}, {"test_error", 0.25}});
  std::ifstream in(tmp / "run" / "summary.json");
  const json j = json::parse(in);
  EXPECT_EQ(j["status"], "completed");
  EXPECT_EQ(j["test_error"], 0.25);
  EXPECT_FALSE(fs::exists(tmp / "run" / "summary.json.tmp"));
}

TEST(Session, RefusesAFolderThatAlreadyHoldsASession) {
  test_support::TempDir tmp;
  const fs::path dir = tmp / "run";
  {
    Session first(dir);
    first.event("run_start");
  }
  const std::string e = config_error(dir);
  EXPECT_THAT(e, HasSubstr(dir.string()));
  EXPECT_THAT(e, HasSubstr("already"));
  EXPECT_EQ(lines_of(dir / "events.jsonl").size(), 1u) << "the old log was touched";
}

TEST(Session, AnExistingEmptyFolderIsFine) {
  test_support::TempDir tmp;
  EXPECT_NO_THROW(Session s(tmp.path()));
  EXPECT_TRUE(fs::exists(tmp / "events.jsonl"));
}

TEST(Session, AnUnwritableLocationNamesTheFolder) {
  // A folder under a regular file cannot be created, whoever runs the test (root included).
  test_support::TempDir tmp;
  const fs::path file = tmp.write("plain-file", "not a folder\n");
  const fs::path dir = file / "run";
  const std::string e = config_error(dir);
  ASSERT_FALSE(e.empty()) << "a session was opened under a regular file";
  EXPECT_THAT(e, HasSubstr(dir.string()));
}

TEST(Session, AFolderThatIsAFileIsRefused) {
  test_support::TempDir tmp;
  const fs::path file = tmp.write("run", "");
  EXPECT_THAT(config_error(file), HasSubstr(file.string()));
}

TEST(Session, NewFolderNamesAreTimestampedAndDistinct) {
  test_support::TempDir tmp;
  const fs::path a = Session::new_dir(tmp.path(), "xor");
  EXPECT_EQ(a.parent_path(), tmp.path());
  EXPECT_TRUE(std::regex_match(a.filename().string(), std::regex(R"(\d{8}-\d{6}-xor)")))
      << a.filename();
  fs::create_directories(a);
  const fs::path b = Session::new_dir(tmp.path(), "xor");
  EXPECT_NE(a, b) << "a second run in the same second would reuse the folder";
  EXPECT_FALSE(fs::exists(b));
  const fs::path c = Session::new_dir(tmp.path(), "");
  EXPECT_TRUE(std::regex_match(c.filename().string(), std::regex(R"(\d{8}-\d{6}(-\d+)?)")))
      << c.filename();
}

namespace {

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void append_bytes(const fs::path& file, const std::string& bytes) {
  std::ofstream(file, std::ios::binary | std::ios::app) << bytes;
}

// The ConfigError message of `make`, or "" when it succeeded.
template <typename F>
std::string config_error_of(F make) {
  try {
    make();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Session, ReopeningDropsAPartialLastLineAndAppendsAfterTheCompleteOnes) {
  test_support::TempDir tmp;
  const fs::path dir = tmp / "run";
  const fs::path log = dir / "events.jsonl";
  {
    Session first(dir);
    first.event("run_start", {{"epochs", 3}});
    first.event("checkpoint", {{"sequence", 0}});
    EXPECT_EQ(first.event_lines(), 2u);
    EXPECT_EQ(first.dropped_bytes(), 0u);
  }
  const std::string complete = read_bytes(log);
  const std::string partial = R"({"event":"step","time":"2024-01-01T00:00:00.000Z","epo)";
  append_bytes(log, partial);  // a crash in the middle of a line
  {
    Session again(dir, Session::Reopen{});
    EXPECT_EQ(again.dropped_bytes(), partial.size());
    EXPECT_EQ(again.event_lines(), 2u);
    EXPECT_EQ(read_bytes(log), complete) << "the partial line must be cut, nothing else";
    again.event("resume", {{"checkpoint", 0}});
    again.event_line(R"({"event":"step","step":1})");
    EXPECT_EQ(again.event_lines(), 4u);
  }
  const std::string text = read_bytes(log);
  EXPECT_EQ(text.rfind(complete, 0), 0u) << "the complete lines were changed";
  ASSERT_EQ(text.back(), '\n');
  const auto lines = lines_of(log);
  ASSERT_EQ(lines.size(), 4u);
  std::vector<std::string> kinds;
  for (const auto& line : lines) kinds.push_back(json::parse(line).at("event"));
  EXPECT_EQ(kinds, (std::vector<std::string>{"run_start", "checkpoint", "resume", "step"}));

  // A log ending on a newline loses nothing; the count carries on from the file.
  Session third(dir, Session::Reopen{});
  EXPECT_EQ(third.dropped_bytes(), 0u);
  EXPECT_EQ(third.event_lines(), 4u);
  EXPECT_EQ(read_bytes(log), text);
}

TEST(Session, ReopeningALogThatIsOnlyAPartialLineLeavesItEmpty) {
  test_support::TempDir tmp;
  const fs::path dir = tmp / "run";
  { Session first(dir); }
  append_bytes(dir / "events.jsonl", R"({"event":"run_st)");
  Session again(dir, Session::Reopen{});
  EXPECT_EQ(again.dropped_bytes(), 16u);
  EXPECT_EQ(again.event_lines(), 0u);
  EXPECT_EQ(fs::file_size(dir / "events.jsonl"), 0u);
  again.event("run_start");
  const auto lines = lines_of(dir / "events.jsonl");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(json::parse(lines[0])["event"], "run_start");
}

TEST(Session, ReopeningAFolderWithoutAnEventLogNamesTheFolder) {
  test_support::TempDir tmp;
  const fs::path empty = tmp / "empty";
  fs::create_directories(empty);
  std::string e = config_error_of([&] { Session s(empty, Session::Reopen{}); });
  EXPECT_THAT(e, HasSubstr(empty.string()));
  EXPECT_THAT(e, HasSubstr("events.jsonl"));
  EXPECT_FALSE(fs::exists(empty / "events.jsonl")) << "reopening must not create a session";

  const fs::path missing = tmp / "missing";
  e = config_error_of([&] { Session s(missing, Session::Reopen{}); });
  EXPECT_THAT(e, HasSubstr(missing.string()));
  EXPECT_FALSE(fs::exists(missing));
}

TEST(Session, ASecondSessionOnAFolderInUseIsRefusedUntilTheFirstIsGone) {
  test_support::TempDir tmp;
  const fs::path dir = tmp / "run";
  {
    auto first = std::make_unique<Session>(dir);
    first->event("run_start");
    const std::string reopen = config_error_of([&] { Session s(dir, Session::Reopen{}); });
    EXPECT_THAT(reopen, HasSubstr(dir.string()));
    EXPECT_THAT(reopen, HasSubstr("in use"));
    const std::string create = config_error_of([&] { Session s(dir); });
    EXPECT_THAT(create, HasSubstr("in use"));
    first->event("still_mine");  // the refusals did not disturb the owner
    first.reset();
  }
  Session again(dir, Session::Reopen{});
  EXPECT_EQ(again.event_lines(), 2u);
}

TEST(Session, CreatingOverAnExistingLogPointsToResumeAndKeepsTheFolderUsable) {
  test_support::TempDir tmp;
  const fs::path dir = tmp / "run";
  {
    Session first(dir);
    first.event("run_start");
  }
  const std::string e = config_error_of([&] { Session s(dir); });
  EXPECT_THAT(e, HasSubstr(dir.string()));
  EXPECT_THAT(e, HasSubstr("--resume"));
  // The refused attempt must not keep the folder locked (in this process, or a program that
  // offers a resume after the refusal).
  EXPECT_EQ(config_error_of([&] { Session s(dir, Session::Reopen{}); }), "");
}

TEST(Session, EventLineAppendsAPreformattedLine) {
  test_support::TempDir tmp;
  const fs::path dir = tmp / "run";
  Session session(dir);
  const std::string line = R"({"event":"step","time":"t","epoch":1,"outputs":[[0.25,-1]]})";
  session.event_line(line);
  session.event("epoch", {{"epoch", 1}});
  session.event_line(R"({"event":"step","epoch":2})");
  EXPECT_EQ(session.event_lines(), 3u);
  const auto lines = lines_of(dir / "events.jsonl");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], line) << "the line must be written as given";
  EXPECT_EQ(json::parse(lines[0])["outputs"][0][0], 0.25);
  EXPECT_EQ(json::parse(lines[2])["epoch"], 2);
}

TEST(Session, EventPutsEventAndTimeFirst) {
  test_support::TempDir tmp;
  const fs::path dir = tmp / "run";
  Session session(dir);
  // Keys a sorted object would put before "event" and "time".
  session.event("epoch", {{"alpha", 1}, {"batch", 2}, {"epoch", 3}, {"zeta", "z"}});
  const auto lines = lines_of(dir / "events.jsonl");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].rfind(R"({"event":"epoch","time":")", 0), 0u) << lines[0];
  const json j = json::parse(lines[0]);
  EXPECT_EQ(j["alpha"], 1);
  EXPECT_EQ(j["zeta"], "z");
  EXPECT_EQ(j.size(), 6u);
}

TEST(Session, WriteJsonReplacesAtomicallyAndLeavesNoTemporary) {
  test_support::TempDir tmp;
  const fs::path dir = tmp / "run";
  Session session(dir);
  tmp.write("run/summary.json.tmp", "{ half-written by a killed run");  // left by a crash
  session.write_json("summary.json", {{"status", "running"}});
  EXPECT_FALSE(fs::exists(dir / "summary.json.tmp"));
  session.write_json("summary.json", {{"status", "completed"}});
  EXPECT_FALSE(fs::exists(dir / "summary.json.tmp"));
  std::ifstream in(dir / "summary.json");
  EXPECT_EQ(json::parse(in), json({{"status", "completed"}}));
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{".lock", "events.jsonl", "summary.json"}));
}
