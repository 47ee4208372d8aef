// A lab session on disk: the event log, atomic JSON files, and refusals that name the folder.
#include <filesystem>
#include <fstream>
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
