// The `train` job with the rules that set the parameters (eqprop, coupled, spsa) on a device of
// digital potentiometers without knobs: the session records what each step cost in settles, and
// a run stopped and resumed on a device with snapshots ends bit for bit where the uninterrupted
// run ends, though the device rounds every value it is sent.
#include <algorithm>
#include <csignal>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "core/session.hpp"
#include "core/spsa_trainer.hpp"
#include "core/stop_request.hpp"
#include "core/toy_tasks.hpp"
#include "core/training_run.hpp"
#include "temp_dir.hpp"
#include "test_devices.hpp"
#include "test_support.hpp"

using namespace aeqlab;
using namespace aeqlab::test_devices;
using ::testing::Contains;
using ::testing::Not;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

json read_json(const fs::path& file) {
  std::ifstream in(file);
  return json::parse(in);
}

std::vector<json> events_of_kind(const fs::path& dir, const std::string& kind) {
  std::ifstream in(dir / "events.jsonl");
  std::vector<json> out;
  for (std::string line; std::getline(in, line);) {
    auto e = json::parse(line);
    if (e["event"] == kind) out.push_back(e);
  }
  return out;
}

std::vector<std::vector<std::string>> read_csv(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    std::stringstream fields(line);
    for (std::string cell; std::getline(fields, cell, ',');) cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.push_back("");
    rows.push_back(cells);
  }
  return rows;
}

// metrics.csv without the columns that measure time.
std::vector<std::string> untimed_metrics(const fs::path& dir) {
  const auto rows = read_csv(dir / "metrics.csv");
  std::vector<std::string> out;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    std::string kept;
    for (std::size_t c = 0; c < rows[r].size(); ++c)
      if (rows[0][c].find("second") == std::string::npos)
        kept += rows[0][c] + "=" + rows[r][c] + ";";
    out.push_back(kept);
  }
  return out;
}

TinyHopfieldSpec pots() {
  TinyHopfieldSpec spec;
  spec.settable = true;
  spec.local_probes = true;
  return spec;
}

TrainerSettings xor_settings(const std::string& algorithm, std::size_t epochs) {
  TrainerSettings s;
  s.algorithm = algorithm;
  s.epochs = epochs;
  s.batch_size = 4;
  s.learning_rate_decay = 1.0;
  s.learning_rates = {algorithm == "spsa" ? 0.01 : 0.3};
  s.sections.get<SpsaSection>().perturbation = 1e-4;
  return s;
}

class BaselineRun : public test_support::QuietLogs {};

}  // namespace

TEST_F(BaselineRun, EachRuleTrainsXorAndTheSessionCountsItsSettles) {
  // Settles per full-batch step: a scoring relaxation plus the rule's own. Coupled learning
  // scores on its free phase, so its count has no extra settle.
  const std::vector<std::pair<std::string, std::size_t>> rules = {
      {"eqprop", 3}, {"coupled", 2}, {"spsa", 3}};
  for (const auto& [algorithm, per_step] : rules) {
    SCOPED_TRACE(algorithm);
    test_support::TempDir tmp;
    TinyHopfield device(pots());
    RecordingDevice recorder(device);
    const std::size_t epochs = algorithm == "spsa" ? 400 : 60;
    RunResult result;
    {
      Session session(tmp / "run");
      result = run_training(xor_settings(algorithm, epochs), recorder, xor_task(), session);
    }
    ASSERT_EQ(result.status, "completed") << result.summary.dump();
    const json summary = read_json(tmp / "run" / "summary.json");
    EXPECT_EQ(summary["algorithm"], algorithm);
    EXPECT_EQ(summary["test_error"], 0.0) << "XOR not learned in " << epochs << " epochs";
    EXPECT_EQ(summary["train_error"], 0.0);
    EXPECT_EQ(summary["device_settles"], per_step * epochs);
    ASSERT_EQ(summary["device_settles_per_epoch"].size(), epochs);
    EXPECT_EQ(summary["device_settles_per_epoch"][0], per_step);
    EXPECT_TRUE(summary.contains("parameters_sha256"));

    // The per-step and per-epoch record: each step line has its settles and its rule's phases.
    const auto steps = events_of_kind(tmp / "run", "step");
    ASSERT_EQ(steps.size(), epochs);
    EXPECT_EQ(steps[0]["settles"], per_step);
    const auto epoch_lines = events_of_kind(tmp / "run", "epoch");
    ASSERT_EQ(epoch_lines.size(), epochs);
    EXPECT_EQ(epoch_lines.back()["device_settles_total"], per_step * epochs);
    const auto rows = read_csv(tmp / "run" / "metrics.csv");
    ASSERT_EQ(rows.size(), epochs + 1);
    // Columns are found by name: later additions to the format go after them.
    const auto column = [&](const std::string& name) {
      return std::size_t(std::find(rows[0].begin(), rows[0].end(), name) - rows[0].begin());
    };
    const std::size_t total = column("device_settles_total");
    ASSERT_LT(total, rows[0].size());
    EXPECT_EQ(column("device_settles") + 1, total);
    EXPECT_EQ(rows.back()[total], std::to_string(per_step * epochs));
    EXPECT_EQ(rows[0].back(), "unix_seconds");  // the wall clock, added last
    EXPECT_EQ(events_of_kind(tmp / "run", "run_start")[0]["algorithm"], algorithm);

    // No knobs anywhere, and no homeostasis: the parameters stay where they are written.
    for (const char* unused : {"set_knobs", "read_knobs", "settle_homeostatic"})
      EXPECT_THAT(recorder.calls(), Not(Contains(std::string(unused))));
    EXPECT_GE(device.safe_state_count(), 1u);
  }
}

TEST_F(BaselineRun, AeqpropRecordsItsSettlesToo) {
  test_support::TempDir tmp;
  TinyHopfield device(TinyHopfieldSpec{});
  TrainerSettings s = xor_settings("aeqprop", 3);
  s.compliance_decay = 1.0;
  Session session(tmp / "run");
  const RunResult result = run_training(s, device, xor_task(), session);
  ASSERT_EQ(result.status, "completed");
  // Native homeostasis: scoring, homeostatic and free-knob phase, one settle each.
  EXPECT_EQ(result.summary["device_settles"], 9);
  EXPECT_EQ(events_of_kind(tmp / "run", "step")[0]["settles"], 3);
  const auto steps = events_of_kind(tmp / "run", "step");
  for (const char* phase : {"scoring", "homeostatic", "free_knob"})
    EXPECT_TRUE(steps[0]["phases"].contains(phase)) << phase;
}

namespace {

constexpr std::size_t kBatch = 4;
constexpr std::size_t kEpochs = 3;

// A device with snapshots whose every write is rounded to taps of 0.01.
TinyHopfieldSpec snapshot_pots(std::uint64_t seed = 1) {
  TinyHopfieldSpec spec = pots();
  spec.snapshot = true;
  spec.parameter_quantum = 0.01;
  spec.seed = seed;
  return spec;
}

TrainerSettings moons_settings(const std::string& algorithm) {
  TrainerSettings s;
  s.algorithm = algorithm;
  s.epochs = kEpochs;
  s.batch_size = kBatch;
  s.learning_rates = {algorithm == "spsa" ? 0.01 : 0.05, 0.02, 0.01, 0.01};
  s.learning_rate_decay = 0.9;  // the rates move every epoch: they must come back the same
  s.sections.get<SpsaSection>().perturbation = 1e-4;
  s.seed = 5;
  return s;
}

const Split& moons() {
  static const Split data = two_moons(22, 0.1, 3);  // 5 full batches and one of 2 per epoch
  return data;
}

using test_support::parameters_of;

using test_support::same_bits;

// Stops the run with SIGINT at the `nth` settle, resumes it on a fresh device from the
// session's checkpoints, and compares the end with an uninterrupted run's.
void expect_resume_bit_identical(const std::string& algorithm, std::size_t nth) {
  test_support::TempDir tmp;
  TinyHopfield reference_device(snapshot_pots());
  RunResult reference;
  {
    Session session(tmp / "reference");
    reference = run_training(moons_settings(algorithm), test_support::every_three_steps(),
                             reference_device, moons(), session);
  }
  ASSERT_EQ(reference.status, "completed") << reference.summary.dump();

  {
    TinyHopfield device(snapshot_pots());
    RecordingDevice recorder(device);
    install_stop_handlers();
    recorder.on_call("settle", nth, [] { std::raise(SIGINT); });
    RunResult first;
    {
      Session session(tmp / "run");
      first = run_training(moons_settings(algorithm), test_support::every_three_steps(), recorder,
                           moons(), session);
    }
    clear_stop_request();
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    ASSERT_EQ(first.status, "aborted") << first.summary.dump();
    ASSERT_LT(first.summary["epochs"].get<std::size_t>(), kEpochs);
  }
  // Another seed: whatever the fresh device starts from, the checkpoint decides.
  TinyHopfield fresh(snapshot_pots(77));
  RunResult resumed;
  {
    Session session(tmp / "run", Session::Reopen{});
    resumed = run_training(moons_settings(algorithm), test_support::every_three_steps(), fresh,
                           moons(), session, true);
  }
  ASSERT_EQ(resumed.status, "completed") << resumed.summary.dump();
  EXPECT_EQ(resumed.summary["segments"], 2);
  for (const char* key :
       {"parameters_sha256", "epochs", "steps", "train_samples_processed", "test_error",
        "test_cost", "train_error", "train_cost", "device_settles", "device_settles_per_epoch"})
    EXPECT_EQ(resumed.summary[key], reference.summary[key]) << key;
  EXPECT_TRUE(same_bits(parameters_of(fresh), parameters_of(reference_device)));
  EXPECT_EQ(untimed_metrics(tmp / "run"), untimed_metrics(tmp / "reference"));
}

}  // namespace

TEST_F(BaselineRun, AnEqpropRunResumesBitForBitOnADeviceThatRoundsItsParameters) {
  // Settles per step: scoring, two nudged phases. Stopped in the first nudged phase of the 5th
  // step of the first epoch; the newest checkpoint then is the 3rd step's.
  expect_resume_bit_identical("eqprop", 14);
}

TEST_F(BaselineRun, AnSpsaRunResumesBitForBitWithNoStateOfItsOwn) {
  // Stopped in the second epoch: the perturbations and the decayed rates come from the step and
  // epoch counts alone.
  expect_resume_bit_identical("spsa", 3 * 6 + 4 * 3 + 2);
}

TEST_F(BaselineRun, ACoupledLearningRunResumesBitForBit) {
  expect_resume_bit_identical("coupled", 2 * 6 + 7);
}

TEST_F(BaselineRun, OnADeviceWithoutSnapshotsAResumeWritesTheTrainersValuesFirst) {
  // Hardware keeps no snapshot: the resumed run must put the checkpoint's parameters on the
  // device before it settles anything, or its first step would learn from other parameters.
  test_support::TempDir tmp;
  const TrainerSettings settings = moons_settings("eqprop");
  {
    TinyHopfield device(pots());
    RecordingDevice recorder(device);
    install_stop_handlers();
    recorder.on_call("settle", 14, [] { std::raise(SIGINT); });
    Session session(tmp / "run");
    const RunResult first =
        run_training(settings, test_support::every_three_steps(), recorder, moons(), session);
    clear_stop_request();
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    ASSERT_EQ(first.status, "aborted");
  }
  TinyHopfieldSpec other = pots();
  other.seed = 77;
  TinyHopfield fresh(other);
  RecordingDevice recorder(fresh);
  RunResult resumed;
  {
    Session session(tmp / "run", Session::Reopen{});
    resumed =
        run_training(settings, test_support::every_three_steps(), recorder, moons(), session, true);
  }
  ASSERT_EQ(resumed.status, "completed") << resumed.summary.dump();
  EXPECT_EQ(resumed.summary["segments"], 2);
  const auto& calls = recorder.calls();
  const auto write = std::find(calls.begin(), calls.end(), "write_parameters");
  const auto settle = std::find(calls.begin(), calls.end(), "settle");
  ASSERT_NE(write, calls.end());
  EXPECT_LT(write - calls.begin(), settle - calls.begin());
  EXPECT_EQ(resumed.summary["device_settles"], 3 * 6 * kEpochs);
}
