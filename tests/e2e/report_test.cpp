// `aeqlab report`: runs the built program on real (and one synthetic) session folders and checks
// the figures and the page it writes. Needs python3 with matplotlib (scripts/install-deps).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

#include "program_fixture.hpp"

using aeqlab::e2e::read_file;

namespace {

const fs::path kExamples = fs::path(AEQLAB_SOURCE_DIR) / "docs" / "examples";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::string last_line(const std::string& text) {
  std::string last;
  for (const auto& line : lines_of(text))
    if (!line.empty()) last = line;
  return last;
}

// The image files index.html shows (<img src="...">).
std::set<std::string> images_of(const std::string& html) {
  std::set<std::string> images;
  const std::regex img(R"re(<img src="([^"]+)")re");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), img); it != std::sregex_iterator();
       ++it)
    images.insert((*it)[1].str());
  return images;
}

std::set<std::string> pngs_in(const fs::path& dir) {
  std::set<std::string> pngs;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".png") pngs.insert(entry.path().filename().string());
  return pngs;
}

// A report folder is consistent: index.html shows every PNG written there and nothing else, and
// each PNG is a real, non-trivial PNG file.
void expect_consistent_report(const fs::path& out) {
  ASSERT_TRUE(fs::exists(out / "index.html")) << out;
  const std::string html = read_file(out / "index.html");
  EXPECT_THAT(html, HasSubstr("<!DOCTYPE html>"));
  EXPECT_THAT(html, Not(HasSubstr("<script"))) << "the page must need no JavaScript";
  EXPECT_THAT(html, Not(HasSubstr("http://")));
  EXPECT_THAT(html, Not(HasSubstr("https://")));
  const auto pngs = pngs_in(out);
  EXPECT_FALSE(pngs.empty());
  EXPECT_EQ(images_of(html), pngs) << html;
  for (const auto& png : pngs) {
    const std::string bytes = read_file(out / png);
    EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << png;
    EXPECT_GT(bytes.size(), 5000u) << png << " is suspiciously small";
  }
}

class Report : public aeqlab::e2e::ProgramTest {
 protected:
  // A real session: a few epochs of XOR (or two-moons) on a tiny Hopfield device.
  fs::path train(const std::string& name, const std::string& example = "xor.json") const {
    const fs::path session = tmp_ / name;
    const auto r = run({"train", "--config", (kExamples / example).string(), "--set",
                        "trainer.epochs=3", "--out", session.string()});
    EXPECT_EQ(r.status, 0) << r.all();
    EXPECT_TRUE(fs::exists(session / "events.jsonl")) << r.all();
    return session;
  }
};

TEST_F(Report, DrawsTheFiguresOfARealSession) {
  const fs::path session = train("xor-session");
  const auto r = run({"report", session.string()});
  ASSERT_EQ(r.status, 0) << r.all();
  const fs::path out = session / "report";
  // The last line of standard output is the page.
  EXPECT_TRUE(fs::equivalent(tmp_ / last_line(r.out), out / "index.html")) << r.all();
  expect_consistent_report(out);
  EXPECT_TRUE(fs::exists(out / "error.png"));
  EXPECT_TRUE(fs::exists(out / "cost.png"));
  EXPECT_TRUE(fs::exists(out / "parameters.png"));
  const std::string html = read_file(out / "index.html");
  EXPECT_THAT(html, HasSubstr("xor-session"));
  EXPECT_THAT(html, HasSubstr("<td>completed</td>"));
  EXPECT_THAT(html, HasSubstr("hopfield 2-16-2"));
}

TEST_F(Report, ADamagedEventLogStillGivesAReportWithAWarning) {
  const fs::path session = train("damaged");
  const fs::path events = session / "events.jsonl";
  auto lines = lines_of(read_file(events));
  ASSERT_GE(lines.size(), 4u);
  // A garbage line in the middle (it becomes line 3), and the last line cut in the middle, as a
  // crash during a write would leave it.
  lines.insert(lines.begin() + 2, "this is no JSON {\"event\":");
  std::string text;
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) text += lines[i] + "\n";
  text += lines.back().substr(0, lines.back().size() / 2);
  std::ofstream(events, std::ios::binary | std::ios::trunc) << text;
  // Another run's parameters were cut short too.
  fs::resize_file(session / "parameters.f64", fs::file_size(session / "parameters.f64") - 3);

  const auto r = run({"report", session.string()});
  ASSERT_EQ(r.status, 0) << r.all();
  EXPECT_THAT(r.err, HasSubstr(events.string() + ":3:")) << r.all();
  EXPECT_THAT(r.err, HasSubstr(events.string() + ":" + std::to_string(lines.size()) + ":"))
      << "the truncated last line is named\n"
      << r.all();
  EXPECT_THAT(r.err, HasSubstr("parameters.f64")) << r.all();
  const fs::path out = session / "report";
  expect_consistent_report(out);
  EXPECT_TRUE(fs::exists(out / "error.png"));
  // The page says what could not be read.
  EXPECT_THAT(read_file(out / "index.html"), HasSubstr("events.jsonl:3:"));
}

TEST_F(Report, ShowsTwoSessionsSideBySide) {
  const fs::path xor_session = train("xor-run");
  const fs::path moons_session = train("moons-run", "two-moons.json");
  const fs::path out = tmp_ / "side-by-side";
  const auto r =
      run({"report", xor_session.string(), moons_session.string(), "--out", out.string()});
  ASSERT_EQ(r.status, 0) << r.all();
  EXPECT_TRUE(fs::equivalent(last_line(r.out), out / "index.html")) << r.all();
  expect_consistent_report(out);
  EXPECT_TRUE(fs::exists(out / "error.png"));
  const std::string html = read_file(out / "index.html");
  EXPECT_THAT(html, HasSubstr("xor-run"));
  EXPECT_THAT(html, HasSubstr("moons-run"));
  EXPECT_THAT(html, HasSubstr("hopfield 2-16-2"));
  EXPECT_THAT(html, HasSubstr("hopfield 2-64-2"));
  EXPECT_FALSE(fs::exists(xor_session / "report")) << "--out was given";
}

TEST_F(Report, SeveralSessionsWithoutOutGoToAeqlabReport) {
  const fs::path a = train("a"), b = train("b");
  const auto r = run({"report", a.string(), b.string()});
  ASSERT_EQ(r.status, 0) << r.all();
  EXPECT_EQ(last_line(r.out), "aeqlab-report/index.html") << r.all();
  expect_consistent_report(tmp_ / "aeqlab-report");
}

TEST_F(Report, AFolderThatIsNoSessionIsNamed) {
  const fs::path session = train("real");
  const fs::path empty = tmp_ / "not-a-session";
  fs::create_directories(empty);
  const fs::path missing = tmp_ / "no-such-folder";
  for (const fs::path& bad : {empty, missing}) {
    const auto r = run({"report", session.string(), bad.string(), "--out", (tmp_ / "o").string()});
    EXPECT_EQ(r.status, 2) << r.all();
    EXPECT_THAT(r.err, HasSubstr(bad.string())) << r.all();
    EXPECT_THAT(r.err, HasSubstr("not a session folder")) << r.all();
  }
  EXPECT_FALSE(fs::exists(tmp_ / "o")) << "a refused report wrote something";
}

TEST_F(Report, WithoutMatplotlibSaysWhatToInstall) {
  const fs::path session = train("real");
  const auto r = run({"report", session.string()}, "AEQLAB_PYTHON=/bin/false");
  EXPECT_EQ(r.status, 1) << r.all();
  EXPECT_THAT(r.err, HasSubstr("needs python3 with matplotlib")) << r.all();
  EXPECT_THAT(r.err, HasSubstr("python3-matplotlib")) << r.all();
  EXPECT_FALSE(fs::exists(session / "report"));
}

// The whole session format (device.json, metrics.csv, per-step events with phases, checkpoints, a
// resume), written by hand, so that every figure is drawn from it and each damage is handled.
TEST_F(Report, ReadsTheFullSessionFormat) {
  const fs::path session = tmp_ / "synthetic";
  fs::create_directories(session / "checkpoints" / "000001");
  fs::create_directories(session / "checkpoints" / "000002");
  std::ofstream(session / "device.json") << R"({"model": "hopfield 2-2-1", "replicas": 4,
    "parameters": [{"name": "W0", "count": 4, "unit": "S", "safe": [-1, 1]},
                   {"name": "W1", "count": 2, "unit": "S", "safe": [-1, 1]},
                   {"name": "b1", "count": 2}, {"name": "b2", "count": 1}]})";
  for (int c : {1, 2}) {
    std::vector<double> theta;
    for (int i = 0; i < 9; ++i) theta.push_back(0.1 * c * (i - 4));
    std::ofstream f(session / "checkpoints" / ("00000" + std::to_string(c)) / "parameters.f64",
                    std::ios::binary);
    f.write(reinterpret_cast<const char*>(theta.data()), std::streamsize(theta.size() * 8));
  }
  const std::string t = R"("time": "2026-11-24T00:00:00.000Z")";
  auto step = [&](int epoch, int n, const std::string& extra_phase) {
    return R"({"event": "step", )" + t + ", \"epoch\": " + std::to_string(epoch) +
           ", \"step\": " + std::to_string(n) +
           R"(, "samples": 4, "errors": 1, "cost": 0.4, "phases": {)" + extra_phase +
           R"("homeostatic": {"beta": 0, "iterations": )" + std::to_string(10 + n) +
           R"(, "seconds": 0.0002, "residual": 1e-7, "converged": true, "rounds": 1},
           "free_knob": {"beta": 0.5, "iterations": )" +
           std::to_string(4 + n) + R"(, "seconds": 0.0001, "residual": 1e-7, "converged": true,
           "rounds": 1}}})";
  };
  auto flat = [](std::string s) {
    std::replace(s.begin(), s.end(), '\n', ' ');
    return s;
  };
  const std::string scoring =
      R"("scoring": {"beta": 0, "iterations": 30, "seconds": 0.0003, "converged": true}, )";
  const std::vector<std::string> events = {
      R"({"event": "run_start", )" + t +
          R"(, "device": "hopfield 2-2-1", "train_samples": 4, "test_samples": 4, "epochs": 3})",
      flat(step(1, 1, scoring)),
      flat(step(1, 2, scoring)),
      R"({"event": "epoch", )" + t +
          R"(, "epoch": 1, "test_error": 0.5, "test_cost": 0.6, "train_error_running": 0.5,
           "train_cost_running": 0.7, "samples": 8, "seconds": 0.01, "samples_per_second": 800})",
      R"({"event": "checkpoint", )" + t + R"(, "sequence": 1, "epoch": 1, "position": 0})",
      // Lines 6 and 7: work lost in a crash and redone after the resume on line 8.
      flat(step(2, 1, R"("lost_phase": {"iterations": 99, "seconds": 9}, )")),
      flat(step(2, 2, R"("lost_phase": {"iterations": 99, "seconds": 9}, )")),
      R"({"event": "resume", )" + t +
          R"(, "checkpoint": 1, "epoch": 2, "position": 0, "superseded_after_line": 5})",
      flat(step(2, 1, scoring)),
      R"({"event": "epoch", )" + t +
          R"(, "epoch": 2, "test_error": 0.25, "test_cost": 0.3, "train_error_running": 0.25,
           "train_cost_running": 0.4, "samples": 4, "seconds": 0.01, "samples_per_second": 400})",
      R"({"event": "run_stop", )" + t + R"(, "status": "aborted", "reason": "signal 2"})",
  };
  {
    std::ofstream f(session / "events.jsonl");
    for (const auto& e : events) f << flat(e) << "\n";
  }
  std::ofstream(session / "metrics.csv")
      << "epoch,samples_seen,train_error_running,train_cost_running,test_error,test_cost,"
         "samples_per_second,epoch_seconds,compliance_W0\n"
         "1,8,0.5,0.7,0.5,0.6,800,0.01,0.1\n"
         "2,12,0.25,0.4,0.25,0.3,400,0.01,0.09\n"
         "3,16,0.2";  // cut short
  std::ofstream(session / "summary.json")
      << R"({"status": "aborted", "device": "hopfield 2-2-1", "epochs": 2, "test_error": 0.25,
             "reason": "signal 2", "samples_per_second": 600, "wall_seconds": 0.5})";

  const auto r = run({"report", session.string()});
  ASSERT_EQ(r.status, 0) << r.all();
  EXPECT_THAT(r.err, HasSubstr((session / "metrics.csv").string() + ":4:")) << r.all();
  EXPECT_THAT(r.err, HasSubstr("checkpoints/000002/parameters.f64")) << r.all();
  const fs::path out = session / "report";
  expect_consistent_report(out);
  for (const char* png : {"error.png", "cost.png", "parameters.png", "settle_time.png",
                          "settle_iterations.png", "speed.png"})
    EXPECT_TRUE(fs::exists(out / png)) << png;
  const std::string html = read_file(out / "index.html");
  EXPECT_THAT(html, HasSubstr("<td>aborted</td>"));
  EXPECT_THAT(html, HasSubstr("resumed 1 time"));
  EXPECT_THAT(html, HasSubstr("Phases: scoring, homeostatic, free_knob."));
  // The superseded lines 6 and 7 are dropped: 3 steps stand, and their phase is not shown.
  EXPECT_THAT(html, HasSubstr("synthetic: 3"));
  EXPECT_THAT(html, Not(HasSubstr("lost_phase")));
}

}  // namespace
