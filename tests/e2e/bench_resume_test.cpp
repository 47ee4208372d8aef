// Resuming a bench session on a *fresh* virtual bench (the server restarted, as after a power cut
// of the lab): the resume must bring the device back to the checkpoint's parameters before it
// trains, verify them by readback, and end where an uninterrupted run ends, with no error spike
// after the resume; a device that cannot be brought back is refused with the distance named.
// docs/sessions.md, "Continuing a run".

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "program_fixture.hpp"
#include "served_bench.hpp"

namespace aeqlab::e2e {
namespace {

// docs/examples/xor.json (a 2-16-2 network that learns XOR within about 50 epochs) on a bench:
// one sample per step.
const std::string kConfig = R"({
  "device": {"layers": [2, 16, 2], "gains": [4.0, 1.0],
             "compliance": {"weights": [0.5, 0.1], "biases": [0.2, 0.02]}},
  "data": {"set": "xor"},
  "trainer": {"epochs": 40, "batch_size": 1, "compliance_decay": 0.995},
  "session": {"detail": "epoch", "checkpoint": {"max_share": 0, "every_steps": 3, "every_epochs": 0}}
})";
constexpr std::size_t kEpochs = 40;

struct Row {
  double test_error = 0, test_cost = 0;
};

std::vector<Row> metrics(const std::filesystem::path& session) {
  std::istringstream csv(read_file(session / "metrics.csv"));
  std::string line;
  std::getline(csv, line);
  std::vector<std::string> header;
  {
    std::istringstream h(line);
    std::string cell;
    while (std::getline(h, cell, ',')) header.push_back(cell);
  }
  std::vector<Row> rows;
  while (std::getline(csv, line)) {
    std::istringstream l(line);
    std::string cell;
    Row r;
    for (std::size_t i = 0; std::getline(l, cell, ','); ++i) {
      if (header.at(i) == "test_error") r.test_error = std::stod(cell);
      if (header.at(i) == "test_cost") r.test_cost = std::stod(cell);
    }
    rows.push_back(r);
  }
  return rows;
}

std::size_t lines_of(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::size_t n = 0;
  std::string line;
  while (std::getline(in, line)) ++n;
  return n;
}

class BenchResume : public ProgramTest {
 protected:
  // A bench file with fixed addresses, so a server started later answers where the session's
  // recorded bench looks: laid out once by `serve --bench-out`, then the physics added.
  std::string fixed_bench(const nlohmann::json& extra_virtual = nlohmann::json::object()) {
    const auto config = write("config.json", kConfig);
    const std::string laid = (tmp_ / "laid.json").string();
    {
      ServedBench first(tmp_.string(), {"--config", config.string(), "--bench-out", laid, "--set",
                                        "virtual.settle_ms=0"});
      first.stop();
    }
    auto bench = nlohmann::json::parse(read_file(laid));
    bench["virtual"]["device"] = nlohmann::json::parse(kConfig)["device"];
    bench["virtual"]["settle_ms"] = 0;
    for (const auto& [k, v] : extra_virtual.items()) bench["virtual"][k] = v;
    const auto path = tmp_ / ("bench" + std::to_string(benches_++) + ".json");
    std::ofstream(path) << bench.dump(2);
    return path.string();
  }

  // `train` on `bench` into `session`, stopped by `signal` once `epochs` rows are in metrics.csv.
  void train_and_interrupt(const std::string& bench, const std::filesystem::path& session,
                           std::size_t epochs, int signal) {
    const auto config = tmp_ / "config.json";
    std::vector<std::string> words{AEQLAB_BINARY, "train", "--config", config.string(),
                                   "--bench",     bench,   "--out",    session.string()};
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string err = (tmp_ / "train-stderr.txt").string();
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid = -1;
    ASSERT_EQ(posix_spawn(&pid, AEQLAB_BINARY, &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (lines_of(session / "metrics.csv") <= epochs) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << read_file(err);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ::kill(pid, signal);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }

  // Uninterrupted, interrupted at `epochs` by `signal`, resumed on a fresh server: the resumed
  // run's figures against the uninterrupted one's, epoch by epoch.
  // A server on new ports (as after a restart of `aeqlab serve --bench-out`), its bench file.
  std::unique_ptr<ServedBench> serve_elsewhere(const std::string& bench_out) {
    const auto config = tmp_ / "config.json";
    return std::make_unique<ServedBench>(
        tmp_.string(), std::vector<std::string>{"--config", config.string(), "--bench-out",
                                                bench_out, "--set", "virtual.settle_ms=0"});
  }

  void check_resume_matches(int signal, std::size_t epochs, bool repointed = false) {
    const std::string bench = fixed_bench();
    const auto reference = tmp_ / "U", session = tmp_ / "S";
    {
      ServedBench serve(tmp_.string(), {"--bench", bench});
      const auto r = run({"train", "--config", (tmp_ / "config.json").string(), "--bench", bench,
                          "--out", reference.string()});
      ASSERT_EQ(r.status, 0) << r.all();
    }
    {
      ServedBench serve(tmp_.string(), {"--bench", bench});
      train_and_interrupt(bench, session, epochs, signal);
    }
    const auto before = metrics(session).size();
    ASSERT_LT(before, kEpochs) << "the run ended before it was interrupted";
    std::unique_ptr<ServedBench> fresh;
    std::vector<std::string> resume{"train", "--resume", session.string()};
    if (repointed) {
      const std::string elsewhere = (tmp_ / "elsewhere.json").string();
      fresh = serve_elsewhere(elsewhere);
      resume.insert(resume.end(), {"--bench", elsewhere});
    } else {
      fresh =
          std::make_unique<ServedBench>(tmp_.string(), std::vector<std::string>{"--bench", bench});
    }
    const auto r = run(resume);
    ASSERT_EQ(r.status, 0) << r.all();
    EXPECT_NE(r.err.find("holds checkpoint"), std::string::npos) << r.err;
    if (repointed) {
      EXPECT_NE(r.err.find("re-pointed from"), std::string::npos) << r.err;
    }

    const auto u = metrics(reference), s = metrics(session);
    ASSERT_EQ(u.size(), kEpochs);
    ASSERT_EQ(s.size(), kEpochs);
    // The physics' own state is brought back too (the evaluation's last settles done again, an
    // epoch's first steps trained again from its start), and the virtual bench is deterministic
    // with noise off: the resumed run follows the uninterrupted one epoch by epoch, to rounding.
    // (With the knobs alone restored: test error 0.5, final cost 100x; with the parameters alone,
    // up to 3x.) A checkpoint every 3 steps of 4-step epochs (max_share 0), so a kill mostly
    // resumes from within an epoch.
    EXPECT_NE(r.err.find("settled again"), std::string::npos) << r.err;
    for (std::size_t e = before; e < s.size(); ++e) {
      EXPECT_EQ(s[e].test_error, u[e].test_error) << "epoch " << e + 1;
      EXPECT_NEAR(s[e].test_cost, u[e].test_cost, 1e-9 * u[e].test_cost) << "epoch " << e + 1;
    }

    // The resume line says how close the device came to the checkpoint's parameters.
    std::istringstream log(read_file(session / "events.jsonl"));
    std::string line;
    bool saw = false;
    while (std::getline(log, line)) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_object() || j.value("event", "") != "resume") continue;
      saw = true;
      if (j.value("position", 0) > 0) {
        EXPECT_NE(r.err.find("trained again from its start"), std::string::npos) << r.err;
      }
      ASSERT_TRUE(j.contains("restore")) << line;
      EXPECT_LE(j["restore"]["max_distance"].get<double>(),
                j["restore"]["tolerance"].get<double>());
    }
    EXPECT_TRUE(saw);
  }

  std::size_t benches_ = 0;
};

TEST_F(BenchResume, CtrlCThenResumeOnAFreshBenchEndsWhereTheUninterruptedRunEnds) {
  check_resume_matches(SIGINT, 14);
}

// Resumed on a server at other addresses, with --bench re-pointing the recorded bench.
TEST_F(BenchResume, KillThenResumeOnARepointedBenchEndsWhereTheUninterruptedRunEnds) {
  check_resume_matches(SIGKILL, 24, /*repointed=*/true);
}

TEST_F(BenchResume, ABenchThatCannotBeBroughtBackIsRefusedWithTheDistance) {
  const std::string bench = fixed_bench();
  const auto session = tmp_ / "S";
  {
    ServedBench serve(tmp_.string(), {"--bench", bench});
    train_and_interrupt(bench, session, 4, SIGINT);
  }
  // The same addresses, but an ADC of 8 bits: its steps are far above the restore tolerance.
  const std::string noisy = fixed_bench({{"adc_bits", 8}});
  auto recorded = nlohmann::json::parse(read_file(bench));
  auto replaced = nlohmann::json::parse(read_file(noisy));
  replaced["instruments"] = recorded["instruments"];
  std::ofstream(noisy) << replaced.dump(2);
  const auto rows_before = metrics(session).size();
  ServedBench fresh(tmp_.string(), {"--bench", noisy});
  const auto r = run({"train", "--resume", session.string()});
  EXPECT_NE(r.status, 0) << r.all();
  EXPECT_NE(r.err.find("cannot bring the device back to checkpoint"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("largest distance"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("session.restore.tolerance"), std::string::npos) << r.err;
  // Nothing was trained: the metrics stand where the checkpoint left them.
  EXPECT_EQ(metrics(session).size(), rows_before);
}

double number(const nlohmann::json& j, const char* key) {
  return j.at(key).get<double>();
}

// `aeqlab eval` on a bench session: the session's parameters held on a fresh bench, at the
// recorded addresses and re-pointed at new ones; a bench whose channel map differs is refused.
TEST_F(BenchResume, EvalOnABenchSessionGivesTheSummarysTestError) {
  const std::string bench = fixed_bench();
  const auto session = tmp_ / "S";
  {
    ServedBench serve(tmp_.string(), {"--bench", bench});
    const auto r = run({"train", "--config", (tmp_ / "config.json").string(), "--bench", bench,
                        "--out", session.string()});
    ASSERT_EQ(r.status, 0) << r.all();
  }
  const auto summary = nlohmann::json::parse(read_file(session / "summary.json"));
  auto check = [&](const ProgramTest::Result& r) {
    ASSERT_EQ(r.status, 0) << r.all();
    const auto e = nlohmann::json::parse(r.out);
    EXPECT_EQ(number(e, "test_error"), number(summary, "test_error"));
    EXPECT_NEAR(number(e, "test_cost"), number(summary, "test_cost"),
                0.05 * number(summary, "test_cost"));
    EXPECT_NE(r.err.find("holds the session's parameters"), std::string::npos) << r.err;
  };
  {
    ServedBench fresh(tmp_.string(), {"--bench", bench});
    check(run({"eval", session.string()}));
  }
  const std::string elsewhere = (tmp_ / "elsewhere.json").string();
  auto served = serve_elsewhere(elsewhere);
  check(run({"eval", session.string(), "--bench", elsewhere}));

  // The inputs wired the other way round: refused by key, nothing evaluated.
  auto crossed = nlohmann::json::parse(read_file(elsewhere));
  crossed["channels"]["inputs"]["map"][0]["channels"] = {2, 1};
  std::ofstream(tmp_ / "crossed.json") << crossed.dump(2);
  const auto r = run({"eval", session.string(), "--bench", (tmp_ / "crossed.json").string()});
  EXPECT_EQ(r.status, 2) << r.all();
  EXPECT_NE(r.err.find("channels.inputs.map[0].channels differs from the session's recorded bench"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  // And --resume with it the same way.
  const auto again =
      run({"train", "--resume", session.string(), "--bench", (tmp_ / "crossed.json").string()});
  EXPECT_EQ(again.status, 2) << again.all();
  EXPECT_NE(again.err.find("channels.inputs.map[0].channels"), std::string::npos) << again.err;
}

}  // namespace
}  // namespace aeqlab::e2e
