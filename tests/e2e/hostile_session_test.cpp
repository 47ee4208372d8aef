// A session folder is read back by `train --resume`, `eval`, `sessions`, `report` and
// `--init-from`; it may come from anyone (a colleague, a damaged disk). Each of them refuses what
// it cannot take with an error naming the file and key, never a crash (docs/sessions.md,
// "Reading a session back"); `report` draws the same figures whatever matplotlibrc lies around.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "program_fixture.hpp"

using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;
using aeqlab::e2e::read_file;

namespace {

class HostileSession : public aeqlab::e2e::ProgramTest {
 protected:
  // A whole tiny session of `epochs` epochs in tmp_/name.
  fs::path trained(const std::string& name, int epochs = 3) const {
    auto args = tiny_xor_train(epochs);
    // Every checkpoint that falls due is kept (a run this short would otherwise keep none: its
    // start can be rebuilt, docs/sessions.md), so there are checkpoints to damage.
    args.insert(args.end(),
                {"--set", "session.checkpoint.max_share=0", "--out", (tmp_ / name).string()});
    const auto r = run(args);
    EXPECT_EQ(r.status, 0) << r.all();
    return tmp_ / name;
  }
  // The newest checkpoint of a session, made to look like a run killed after its first epoch.
  fs::path killed_after_first_epoch(const fs::path& session) const {
    fs::remove(session / "summary.json");
    fs::path newest;
    for (const auto& e : fs::directory_iterator(session / "checkpoints"))
      if (newest.empty() || e.path().filename() > newest.filename()) newest = e.path();
    auto m = nlohmann::json::parse(read_file(newest / "checkpoint.json"));
    m["progress"]["epochs_done"] = 1;
    std::ofstream(newest / "checkpoint.json", std::ios::trunc) << m.dump();
    return newest;
  }
  static void write_bytes(const fs::path& file, const std::string& bytes) {
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
  }
};

std::string u64s(const std::vector<std::uint64_t>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(std::uint64_t)};
}

}  // namespace

// A checkpoint whose sample order names samples that do not exist: a SIGSEGV on the landed code
// (the index was used as it was), now refused naming the checkpoint.
TEST_F(HostileSession, ResumeRefusesASampleOrderNamingSamplesThatDoNotExist) {
  const fs::path s = trained("s");
  const fs::path newest = killed_after_first_epoch(s);
  write_bytes(newest / "order.u64", u64s({0, 1, 2, 1000000000000ull}));
  const auto r = run({"train", "--resume", s.string()});
  EXPECT_EQ(r.status, 1) << r.all();
  EXPECT_THAT(r.err, HasSubstr("its sample order names sample 1000000000000 of 4")) << r.all();
}

// A manifest naming more values than the device has, or nested 100,000 deep: that checkpoint is
// damaged (named, with the key), the one before it is used.
TEST_F(HostileSession, ResumeSkipsACheckpointBeyondTheDeviceNamingFileAndKey) {
  const fs::path s = trained("s");
  const fs::path newest = killed_after_first_epoch(s);
  auto m = nlohmann::json::parse(read_file(newest / "checkpoint.json"));
  m["parameters"] = 2305843009213693952ull;  // 2^61: 0 bytes after an unchecked 8 x
  std::ofstream(newest / "checkpoint.json", std::ios::trunc) << m.dump();
  auto r = run({"train", "--resume", s.string()});
  EXPECT_EQ(r.status, 0) << r.all();
  EXPECT_THAT(r.err, HasSubstr((newest / "checkpoint.json").string() +
                               ": parameters: 2305843009213693952 is more than the"))
      << r.all();

  const fs::path t = trained("t");
  const fs::path deep = killed_after_first_epoch(t);
  write_bytes(deep / "checkpoint.json", R"({"format":1,"sequence":)" +
                                            deep.filename().string().substr(5) +
                                            R"(,"progress":{"x":)" + std::string(100000, '[') +
                                            std::string(100000, ']') + "}}");
  r = run({"train", "--resume", t.string()});
  EXPECT_EQ(r.status, 0) << r.all();
  EXPECT_THAT(r.err, HasSubstr((deep / "checkpoint.json").string() + ":1: nested deeper than 64"))
      << r.all();
}

// --init-from a session whose device.json is damaged: the key is named.
TEST_F(HostileSession, InitFromNamesTheKeyOfADamagedDeviceRecord) {
  const fs::path s = trained("s", 1);
  for (const auto& [record, key] : std::vector<std::pair<std::string, std::string>>{
           {R"({"model":"x"})", "parameters: missing or not a list"},
           {R"({"parameters":[{"name":"W1","count":"many"}]})", "parameters[0]: count: expected"},
           {R"({"parameters":[{"name":7,"count":8}]})", "parameters[0].name"},
           {R"({"parameters":[{"name":"W1","count":1e300}]})", "parameters[0]: count"},
           {"[" + std::string(70000, '[') + std::string(70000, ']') + "]",
            "nested deeper than 64"}}) {
    write_bytes(s / "device.json", record);
    auto args = tiny_xor_train(1);
    args.insert(args.end(), {"--init-from", s.string(), "--out", (tmp_ / "next").string()});
    const auto r = run(args);
    EXPECT_NE(r.status, 0) << record.substr(0, 80) << "\n" << r.all();
    EXPECT_LT(r.status, 128) << "a crash\n" << r.all();
    EXPECT_THAT(r.err, HasSubstr((s / "device.json").string())) << r.all();
    EXPECT_THAT(r.err, HasSubstr(key)) << r.all();
    fs::remove_all(tmp_ / "next");
  }
}

// `aeqlab sessions` and `aeqlab report` over files nested deep, lines without end, and a CSV
// field beyond Python's limit: warnings naming the file, never a traceback or a crash.
TEST_F(HostileSession, SessionsAndReportWarnOnDeepAndEndlessFiles) {
  const fs::path s = trained("s", 2);
  {
    std::ofstream events(s / "events.jsonl", std::ios::app | std::ios::binary);
    events << R"({"event":"note","x":)" << std::string(100000, '[') << std::string(100000, ']')
           << "}\n";
  }
  write_bytes(s / "summary.json",
              R"({"status":)" + std::string(100000, '[') + std::string(100000, ']') + "}");
  {
    std::ofstream metrics(s / "metrics.csv", std::ios::app | std::ios::binary);
    metrics << std::string(5 << 20, 'x') << "\n";
  }
  auto r = run({"sessions", s.string()});
  EXPECT_EQ(r.status, 0) << r.all();
  EXPECT_THAT(r.err, HasSubstr((s / "summary.json").string() + ":1: nested deeper")) << r.all();
  EXPECT_THAT(r.err, HasSubstr((s / "events.jsonl").string())) << r.all();

  r = run({"report", s.string()});
  EXPECT_EQ(r.status, 0) << r.all();
  EXPECT_THAT(r.err, Not(HasSubstr("Traceback"))) << r.all();
  EXPECT_THAT(r.err, HasSubstr("summary.json")) << r.all();
  EXPECT_THAT(r.err, HasSubstr("metrics.csv")) << r.all();
  EXPECT_TRUE(fs::exists(s / "report" / "index.html")) << r.all();
}

// A matplotlibrc in the folder `report` runs from, in the session folder, or named by
// MATPLOTLIBRC changes nothing it draws: the figures are the same bytes as without them. On the
// landed code matplotlib read the one in the working folder (red axes, 1-inch figures).
TEST_F(HostileSession, ReportIgnoresAnyMatplotlibrcAround) {
  const fs::path s = trained("s", 2);
  auto r = run({"report", s.string(), "--out", (tmp_ / "clean").string()});
  ASSERT_EQ(r.status, 0) << r.all();
  const std::string rc =
      "axes.facecolor: red\nlines.linewidth: 20\nfigure.figsize: 1, 1\nfont.size: 30\n"
      "savefig.transparent: True\n";
  write("matplotlibrc", rc);
  write_bytes(s / "matplotlibrc", rc);
  fs::create_directories(tmp_ / "rcdir");
  write_bytes(tmp_ / "rcdir" / "matplotlibrc", rc);
  const std::string env = "MATPLOTLIBRC=" + aeqlab::e2e::quote((tmp_ / "rcdir").string());
  r = run({"report", s.string(), "--out", (tmp_ / "hostile").string()}, env);
  ASSERT_EQ(r.status, 0) << r.all();
  std::size_t compared = 0;
  for (const auto& e : fs::directory_iterator(tmp_ / "clean")) {
    if (e.path().extension() != ".png") continue;
    const fs::path other = tmp_ / "hostile" / e.path().filename();
    ASSERT_TRUE(fs::exists(other)) << other;
    EXPECT_TRUE(read_file(e.path()) == read_file(other))
        << e.path().filename() << " differs: a matplotlibrc was read";
    ++compared;
  }
  EXPECT_GE(compared, 3u);
}
