// Runs the built `aeqlab` program as a user would, and reads what it leaves behind.
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
using json = nlohmann::json;
namespace fs = std::filesystem;

#include "program_fixture.hpp"

using aeqlab::e2e::read_file;

namespace {

const fs::path kMnistDir = fs::path(AEQLAB_SOURCE_DIR) / "data" / "mnist";

class Program : public aeqlab::e2e::ProgramTest {};

std::vector<json> events_of(const fs::path& session) {
  std::ifstream in(session / "events.jsonl");
  std::vector<json> events;
  std::string line;
  while (std::getline(in, line)) {
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception&) {
      ADD_FAILURE() << "events.jsonl line is not JSON: " << line;
      continue;
    }
    EXPECT_TRUE(j.contains("event") && j.contains("time")) << line;
    events.push_back(std::move(j));
  }
  return events;
}

// The last non-empty line of the program's standard output, as JSON.
json last_json_line(const std::string& out) {
  std::istringstream in(out);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return json::parse(last);
}

// What every completed training session must hold.
void expect_completed_session(const fs::path& session, std::size_t epochs) {
  ASSERT_TRUE(fs::exists(session / "config.json"));
  const json config = json::parse(read_file(session / "config.json"));
  for (const char* section : {"device", "trainer", "data"})
    EXPECT_TRUE(config.contains(section)) << "config.json lacks " << section;

  const auto events = events_of(session);
  ASSERT_GE(events.size(), 2u + epochs);
  EXPECT_EQ(events.front()["event"], "run_start");
  std::size_t epoch_events = 0;
  for (const auto& e : events) epoch_events += e["event"] == "epoch";
  EXPECT_EQ(epoch_events, epochs);
  EXPECT_EQ(events.back()["event"], "run_stop");
  EXPECT_EQ(events.back()["status"], "completed");

  ASSERT_TRUE(fs::exists(session / "summary.json"));
  const json summary = json::parse(read_file(session / "summary.json"));
  EXPECT_EQ(summary["status"], "completed");
  EXPECT_EQ(summary["epochs"], epochs);
  for (const char* key : {"train_error", "test_error"}) {
    ASSERT_TRUE(summary.contains(key) && summary[key].is_number()) << key;
    EXPECT_GE(summary[key].get<double>(), 0.0) << key;
    EXPECT_LE(summary[key].get<double>(), 1.0) << key;
  }
  for (const char* key : {"samples_per_second", "wall_seconds"}) {
    ASSERT_TRUE(summary.contains(key) && summary[key].is_number()) << key;
    EXPECT_GT(summary[key].get<double>(), 0.0) << key;
  }
}

}  // namespace

TEST_F(Program, PrintsItsDefaultConfigAsJson) {
  const auto r = run({"config", "--print-default"});
  ASSERT_EQ(r.status, 0) << r.all();
  const auto config = json::parse(r.out);
  EXPECT_EQ(config["device"]["type"], "hopfield");
  EXPECT_EQ(config["data"]["set"], "mnist");
  EXPECT_EQ(config["trainer"]["mode"], "centered");
  // The embedded default is the file in the repository.
  EXPECT_EQ(config, json::parse(read_file(fs::path(AEQLAB_SOURCE_DIR) / "core" / "cli" /
                                          "default_config.json")));
}

TEST_F(Program, TrainsOnAnMnistSubsetAndEvalReproducesTheTestError) {
  ASSERT_TRUE(fs::exists(kMnistDir / "0.json"))
      << "MNIST digits not found in " << kMnistDir.string() << ": run scripts/fetch-mnist first";
  const fs::path session = tmp_ / "mnist-run";
  const auto r =
      run({"train", "--set", "data.dir=" + kMnistDir.string(), "--set", "data.train_limit=200",
           "--set", "data.test_limit=100", "--set", "device.layers=[784,32,10]", "--set",
           "trainer.epochs=1", "--out", session.string()});
  ASSERT_EQ(r.status, 0) << r.all();
  expect_completed_session(session, 1);
  const json config = json::parse(read_file(session / "config.json"));
  EXPECT_EQ(config["device"]["layers"], json::array({784, 32, 10}));
  EXPECT_EQ(config["data"]["train_limit"], 200);
  const auto events = events_of(session);
  EXPECT_EQ(events.front()["train_samples"], 200);
  EXPECT_EQ(events.front()["test_samples"], 100);
  // The final parameters, float64: 784x32 + 32x10 weights and 32 + 10 biases.
  EXPECT_EQ(fs::file_size(session / "parameters.f64"), (784u * 32 + 32 * 10 + 32 + 10) * 8);

  const json summary = json::parse(read_file(session / "summary.json"));
  const auto e = run({"eval", session.string()});
  ASSERT_EQ(e.status, 0) << e.all();
  const json eval = last_json_line(e.out);
  EXPECT_EQ(eval["test_samples"], 100);
  EXPECT_EQ(eval["train_samples"], 200);
  // Same parameters, same data: the same test error as the run reported.
  EXPECT_EQ(eval["test_error"], summary["test_error"]) << "eval: " << eval.dump();
  EXPECT_EQ(eval["train_error"], summary["train_error"]) << "eval: " << eval.dump();
}

TEST_F(Program, TrainsXorAndEvalReproducesTheErrors) {
  const fs::path session = tmp_ / "xor-run";
  const auto r =
      run({"train", "--set", "data.set=xor", "--set", "device.layers=[2,8,2]", "--set",
           "trainer.batch_size=4", "--set", "trainer.epochs=3", "--out", session.string()});
  ASSERT_EQ(r.status, 0) << r.all();
  expect_completed_session(session, 3);
  const json summary = json::parse(read_file(session / "summary.json"));
  const auto e = run({"eval", session.string()});
  ASSERT_EQ(e.status, 0) << e.all();
  const json eval = last_json_line(e.out);
  EXPECT_EQ(eval["test_samples"], 4);
  EXPECT_EQ(eval["test_error"], summary["test_error"]) << "eval: " << eval.dump();
}

TEST_F(Program, AMalformedConfigFileIsNamedWithItsLine) {
  const fs::path file = write("bad.json", "{\n  \"trainer\": {\n    \"epochs\": 1,,\n  }\n}\n");
  const fs::path session = tmp_ / "never";
  const auto r = run({"train", "--config", file.string(), "--out", session.string()});
  EXPECT_NE(r.status, 0) << r.all();
  EXPECT_THAT(r.err, HasSubstr(file.string() + ":3:")) << r.all();
  EXPECT_FALSE(fs::exists(session)) << "a refused run left a session folder";
}

TEST_F(Program, AnUnknownKeyInTheConfigFileIsNamed) {
  const fs::path file = write("typo.json", R"({"trainer": {"nudgng": 0.2}})");
  const fs::path session = tmp_ / "never";
  const auto r = run({"train", "--config", file.string(), "--out", session.string()});
  EXPECT_NE(r.status, 0) << r.all();
  EXPECT_THAT(r.err, HasSubstr(file.string())) << r.all();
  EXPECT_THAT(r.err, HasSubstr("trainer.nudgng")) << r.all();
  EXPECT_FALSE(fs::exists(session));
}

TEST_F(Program, BadSettingsAreNamed) {
  struct Case {
    std::string setting, named;
  };
  for (const Case& c : std::vector<Case>{{"trainer.nudgng=0.2", "trainer.nudgng"},
                                         {"trainer.nudging=-1", "trainer.nudging"},
                                         {"trainer.mode=centred", "trainer.mode"},
                                         {"trainer.epochs.max=2", "trainer.epochs"},
                                         {"device.layer=[2,2]", "device.layer"}}) {
    const auto r = run(
        {"train", "--set", "data.set=xor", "--set", c.setting, "--out", (tmp_ / "never").string()});
    EXPECT_NE(r.status, 0) << c.setting << "\n" << r.all();
    EXPECT_THAT(r.err, HasSubstr(c.named)) << c.setting << "\n" << r.all();
  }
  EXPECT_FALSE(fs::exists(tmp_ / "never"));
}

TEST_F(Program, MissingDataNamesTheFolder) {
  const fs::path empty = tmp_ / "empty-data";
  fs::create_directories(empty);
  const fs::path session = tmp_ / "never";
  const auto r = run({"train", "--set", "data.dir=" + empty.string(), "--set", "trainer.epochs=1",
                      "--out", session.string()});
  EXPECT_NE(r.status, 0) << r.all();
  EXPECT_THAT(r.err, HasSubstr(empty.string())) << r.all();
  EXPECT_THAT(r.err, HasSubstr("fetch-mnist")) << r.all();
  EXPECT_FALSE(fs::exists(session)) << "a run without data left a session folder";
}

TEST_F(Program, RefusesToOverwriteASession) {
  const fs::path session = tmp_ / "run";
  std::vector<std::string> args = tiny_xor_train(1);
  args.insert(args.end(), {"--out", session.string()});
  ASSERT_EQ(run(args).status, 0);
  const std::string events = read_file(session / "events.jsonl");
  const auto again = run(args);
  EXPECT_NE(again.status, 0) << again.all();
  EXPECT_THAT(again.err, HasSubstr(session.string())) << again.all();
  EXPECT_EQ(read_file(session / "events.jsonl"), events) << "the first run's log was touched";
}

TEST_F(Program, EvalOfAFolderThatIsNoSessionIsNamed) {
  const fs::path folder = tmp_ / "not-a-session";
  fs::create_directories(folder);
  const auto r = run({"eval", folder.string()});
  EXPECT_NE(r.status, 0) << r.all();
  EXPECT_THAT(r.err, HasSubstr(folder.string())) << r.all();
}

// The example configs the user guide lists must run as they are and do what the guide says.
TEST_F(Program, EveryExampleConfigIsAccepted) {
  const fs::path examples = fs::path(AEQLAB_SOURCE_DIR) / "docs" / "examples";
  ASSERT_TRUE(fs::is_directory(examples));
  std::size_t checked = 0;
  for (const auto& entry : fs::directory_iterator(examples)) {
    if (entry.path().extension() != ".json") continue;
    ++checked;
    // Shrunk to a one-epoch XOR run so that only the file's own keys are on trial.
    const fs::path session = tmp_ / entry.path().stem();
    const auto r = run({"train", "--config", entry.path().string(), "--set", "data.set=xor",
                        "--set", "device.layers=[2,4,2]", "--set", "trainer.epochs=1", "--set",
                        "trainer.batch_size=4", "--out", session.string()});
    EXPECT_EQ(r.status, 0) << entry.path() << "\n" << r.all();
  }
  EXPECT_GT(checked, 0u);
}

TEST_F(Program, TheXorExamplesLearnXor) {
  const fs::path examples = fs::path(AEQLAB_SOURCE_DIR) / "docs" / "examples";
  for (const char* name : {"xor.json", "feedback-homeostat.json"}) {
    const fs::path session = tmp_ / name;
    const auto r =
        run({"train", "--config", (examples / name).string(), "--out", session.string()});
    ASSERT_EQ(r.status, 0) << name << "\n" << r.all();
    const json summary = json::parse(read_file(session / "summary.json"));
    EXPECT_EQ(summary["test_error"], 0.0) << name;
    json last_epoch;
    for (const auto& e : events_of(session))
      if (e["event"] == "epoch") last_epoch = e;
    EXPECT_EQ(last_epoch["settles_unconverged"], 0) << name << ": " << last_epoch.dump();
  }
}

TEST_F(Program, TheTwoMoonsExampleSeparatesTheMoons) {
  const fs::path file = fs::path(AEQLAB_SOURCE_DIR) / "docs" / "examples" / "two-moons.json";
  const fs::path session = tmp_ / "moons";
  const auto r = run({"train", "--config", file.string(), "--out", session.string()});
  ASSERT_EQ(r.status, 0) << r.all();
  const json summary = json::parse(read_file(session / "summary.json"));
  EXPECT_LE(summary["test_error"].get<double>(), 0.02) << summary.dump();
}
