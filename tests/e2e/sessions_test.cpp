// `aeqlab sessions`: the built program lists what `aeqlab train` left behind.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;
namespace fs = std::filesystem;

#include "program_fixture.hpp"

using aeqlab::e2e::read_file;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

class Sessions : public aeqlab::e2e::ProgramTest {
 protected:
  // A tiny XOR run; `out` empty: the default folder, sessions/<time> under the temporary folder.
  Result train(const std::string& out, int epochs = 2) const {
    std::vector<std::string> args = tiny_xor_train(epochs);
    if (!out.empty()) args.insert(args.end(), {"--out", out});
    return run(args);
  }
};

}  // namespace

TEST_F(Sessions, ListsATrainedSessionUnderTheDefaultRootAsCompleted) {
  const auto t = train("");
  ASSERT_EQ(t.status, 0) << t.all();
  ASSERT_TRUE(fs::is_directory(tmp_ / "sessions"));

  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"sessions"}, std::vector<std::string>{"sessions", "sessions"}}) {
    const auto r = run(args);
    ASSERT_EQ(r.status, 0) << r.all();
    const auto lines = lines_of(r.out);
    ASSERT_EQ(lines.size(), 2u) << r.all();  // the header and one session
    EXPECT_THAT(lines[0], HasSubstr("status"));
    EXPECT_THAT(lines[0], HasSubstr("samples/s"));
    EXPECT_THAT(lines[1], ::testing::StartsWith("sessions/"));
    EXPECT_THAT(lines[1], HasSubstr(" completed "));
    EXPECT_THAT(lines[1], HasSubstr(" 2/2 "));
    EXPECT_THAT(lines[1], HasSubstr("hopfield"));
    EXPECT_EQ(r.err, "") << r.all();
  }
}

TEST_F(Sessions, JsonLinesParseAndAgreeWithTheSummary) {
  for (const char* name : {"root/one", "root/two"}) {
    const auto t = train((tmp_ / name).string(), 2);
    ASSERT_EQ(t.status, 0) << t.all();
  }
  const auto r = run({"sessions", "--json", "root"});
  ASSERT_EQ(r.status, 0) << r.all();
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.all();
  std::vector<std::string> dirs;
  for (const auto& line : lines) {
    const json j = json::parse(line);
    dirs.push_back(j["dir"]);
    const json summary =
        json::parse(read_file(tmp_ / j["dir"].get<std::string>() / "summary.json"));
    EXPECT_EQ(j["status"], "completed");
    EXPECT_EQ(j["epochs_done"], 2);
    EXPECT_EQ(j["epochs_total"], 2);
    EXPECT_EQ(j["test_error"], summary["test_error"]);
    EXPECT_EQ(j["train_error"], summary["train_error"]);
    EXPECT_EQ(j["wall_seconds"], summary["wall_seconds"]);
    EXPECT_TRUE(j["started"].is_string());
    EXPECT_EQ(j["warnings"], json::array());
  }
  // In order of start: the first trained first.
  EXPECT_EQ(dirs, (std::vector<std::string>{"root/one", "root/two"}));
}

TEST_F(Sessions, ASessionFolderCanBeNamedDirectly) {
  ASSERT_EQ(train((tmp_ / "runs/a").string()).status, 0);
  const auto r = run({"sessions", "runs/a"});
  ASSERT_EQ(r.status, 0) << r.all();
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.all();
  EXPECT_THAT(lines[1], ::testing::StartsWith("runs/a "));
  EXPECT_THAT(lines[1], HasSubstr(" completed "));
}

TEST_F(Sessions, ADeadRunIsInterruptedAndItsTruncatedLineIsAWarning) {
  ASSERT_EQ(train((tmp_ / "runs/ok").string(), 1).status, 0);
  ASSERT_EQ(train((tmp_ / "runs/dead").string(), 1).status, 0);
  // As if the process had died while writing: no summary, no run_stop, half a line.
  const fs::path dead = tmp_ / "runs/dead";
  fs::remove(dead / "summary.json");
  auto lines = lines_of(read_file(dead / "events.jsonl"));
  ASSERT_GE(lines.size(), 3u);
  lines.pop_back();  // run_stop
  std::string log;
  for (const auto& l : lines) log += l + "\n";
  log += R"({"epoch":2,"event":"epo)";
  std::ofstream(dead / "events.jsonl", std::ios::binary) << log;

  const auto r = run({"sessions", "runs"});
  ASSERT_EQ(r.status, 0) << r.all();
  const auto out = lines_of(r.out);
  ASSERT_EQ(out.size(), 3u) << r.all();
  EXPECT_THAT(r.out, HasSubstr(" interrupted "));
  EXPECT_THAT(r.out, HasSubstr(" completed "));
  EXPECT_THAT(r.err, HasSubstr("runs/dead/events.jsonl:" + std::to_string(lines.size() + 1) + ":"))
      << r.all();
}

TEST_F(Sessions, AnEmptyRootSaysSoAndAMissingOneIsAnError) {
  fs::create_directories(tmp_ / "empty");
  const auto e = run({"sessions", "empty"});
  EXPECT_EQ(e.status, 0) << e.all();
  EXPECT_THAT(e.out, HasSubstr("no sessions under empty")) << e.all();

  const auto j = run({"sessions", "--json", "empty"});
  EXPECT_EQ(j.status, 0) << j.all();
  EXPECT_EQ(j.out, "") << "--json prints only JSON lines on stdout";

  const auto m = run({"sessions", "nowhere"});
  EXPECT_EQ(m.status, 2) << m.all();
  EXPECT_THAT(m.err, HasSubstr("nowhere")) << m.all();
  EXPECT_THAT(m.out, Not(HasSubstr("no sessions")));

  // With no argument, the default root (./sessions) does not exist here either.
  const auto d = run({"sessions"});
  EXPECT_EQ(d.status, 2) << d.all();
  EXPECT_THAT(d.err, HasSubstr("sessions")) << d.all();
}
