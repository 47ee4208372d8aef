// The `train` job on the analytic test device: the session record of a completed, a failed and
// an interrupted run, and the checks made before a run starts.
#include <algorithm>
#include <csignal>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/session.hpp"
#include "core/stop_request.hpp"
#include "core/toy_tasks.hpp"
#include "core/training_run.hpp"
#include "temp_dir.hpp"
#include "test_devices.hpp"
#include "test_support.hpp"

using namespace aeqlab;
using namespace aeqlab::test_devices;
using ::testing::HasSubstr;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::vector<json> read_events(const fs::path& dir) {
  std::ifstream in(dir / "events.jsonl");
  std::vector<json> events;
  std::string line;
  while (std::getline(in, line)) events.push_back(json::parse(line));
  return events;
}

json read_json(const fs::path& file) {
  std::ifstream in(file);
  return json::parse(in);
}

TrainerSettings xor_settings(std::size_t epochs) {
  TrainerSettings s;
  s.epochs = epochs;
  s.batch_size = 4;
  s.compliance_decay = 1.0;
  s.homeostat = "auto";
  return s;
}

// The per-epoch log lines would bury the test output.
class TrainingRun : public test_support::QuietLogs {};

// Safe state is the last thing done to the device: after it, only readings (the final
// parameters for parameters.f64) and nothing that drives it.
void expect_safe_state_last(const RecordingDevice& recorder) {
  const auto& calls = recorder.calls();
  const auto last = std::find(calls.rbegin(), calls.rend(), "safe_state");
  ASSERT_NE(last, calls.rend()) << "the device never got its safe state";
  for (auto it = calls.rbegin(); it != last; ++it)
    EXPECT_TRUE(it->rfind("read_", 0) == 0) << *it << " after the safe state";
}

std::vector<json> events_of_kind(const fs::path& dir, const std::string& kind) {
  std::vector<json> out;
  for (auto& e : read_events(dir))
    if (e["event"] == kind) out.push_back(e);
  return out;
}

}  // namespace

TEST_F(TrainingRun, ACompletedRunLeavesItsEventsAndSummary) {
  test_support::TempDir tmp;
  TinyHopfield device(TinyHopfieldSpec{});
  const RunResult result = [&] {
    Session session(tmp / "run");
    return run_training(xor_settings(3), device, xor_task(), session);
  }();
  EXPECT_EQ(result.status, "completed");

  const json summary = read_json(tmp / "run" / "summary.json");
  EXPECT_EQ(summary, result.summary);
  EXPECT_EQ(summary["status"], "completed");
  EXPECT_EQ(summary["epochs"], 3);
  EXPECT_EQ(summary["train_samples_processed"], 12);
  for (const char* key : {"train_error", "test_error"}) {
    ASSERT_TRUE(summary.contains(key)) << key;
    EXPECT_GE(summary[key].get<double>(), 0.0);
    EXPECT_LE(summary[key].get<double>(), 1.0);
  }
  EXPECT_GT(summary["samples_per_second"].get<double>(), 0.0);
  EXPECT_GT(summary["wall_seconds"].get<double>(), 0.0);

  const auto all = read_events(tmp / "run");
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.front()["event"], "run_start");
  EXPECT_EQ(all.front()["train_samples"], 4);
  std::vector<json> events, steps, checkpoints;
  for (const auto& e : all) {
    if (e["event"] == "epoch") events.push_back(e);
    if (e["event"] == "step") steps.push_back(e);
    if (e["event"] == "checkpoint") checkpoints.push_back(e);
  }
  ASSERT_EQ(events.size(), 3u);
  for (int e = 1; e <= 3; ++e) {
    EXPECT_EQ(events[e - 1]["epoch"], e);
    EXPECT_EQ(events[e - 1]["samples"], 4);
    EXPECT_TRUE(events[e - 1].contains("test_error"));
  }
  // The default detail: one line per step (batch of 4: one step per epoch) with its phases.
  ASSERT_EQ(steps.size(), 3u);
  for (const char* phase : {"scoring", "homeostatic", "free_knob"})
    EXPECT_TRUE(steps[0]["phases"].contains(phase)) << phase;
  // The starting point and every epoch's end.
  EXPECT_EQ(checkpoints.size(), 4u);
  EXPECT_EQ(all.back()["event"], "run_stop");
  EXPECT_EQ(all.back()["status"], "completed");
  EXPECT_GE(device.safe_state_count(), 1u) << "the device was left live at the end";
}

TEST_F(TrainingRun, LearnsXorEndToEndOnTheContract) {
  test_support::TempDir tmp;
  TinyHopfield device(TinyHopfieldSpec{});
  Session session(tmp / "run");
  const RunResult result = run_training(xor_settings(200), device, xor_task(), session);
  ASSERT_EQ(result.status, "completed");
  EXPECT_EQ(result.summary["test_error"], 0.0);
  EXPECT_EQ(result.summary["train_error"], 0.0);
}

TEST_F(TrainingRun, ADeviceFaultFailsTheRunButKeepsTheRecordAndMakesTheDeviceSafe) {
  test_support::TempDir tmp;
  TinyHopfield device(TinyHopfieldSpec{});
  RecordingDevice recorder(device);
  recorder.on_call("settle", 5, [] { throw DeviceError("tiny-hopfield: W0 driver tripped"); });
  RunResult result;
  {
    Session session(tmp / "run");
    result = run_training(xor_settings(10), recorder, xor_task(), session);
  }
  EXPECT_EQ(result.status, "failed");
  const json summary = read_json(tmp / "run" / "summary.json");
  EXPECT_EQ(summary["status"], "failed");
  EXPECT_THAT(summary.value("reason", ""), HasSubstr("W0 driver tripped"));
  EXPECT_EQ(summary["epochs"], 4);
  const auto events = read_events(tmp / "run");
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back()["event"], "run_stop");
  EXPECT_EQ(events.back()["status"], "failed");
  EXPECT_THAT(events.back()["reason"].get<std::string>(), HasSubstr("W0 driver tripped"));
  expect_safe_state_last(recorder);
}

TEST_F(TrainingRun, AnInterruptStopsAfterTheStepAsAborted) {
  test_support::TempDir tmp;
  TinyHopfield device(TinyHopfieldSpec{});
  RecordingDevice recorder(device);
  install_stop_handlers();
  recorder.on_call("settle", 2, [] { std::raise(SIGINT); });  // during the second epoch
  RunResult result;
  {
    Session session(tmp / "run");
    result = run_training(xor_settings(10), recorder, xor_task(), session);
  }
  clear_stop_request();
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);

  EXPECT_EQ(result.status, "aborted");
  EXPECT_EQ(result.summary["epochs"], 1);
  EXPECT_THAT(result.summary.value("reason", ""), HasSubstr("signal"));
  EXPECT_EQ(recorder.count("settle"), 2u) << "the interrupted step was finished, none after it";
  expect_safe_state_last(recorder);
  EXPECT_EQ(events_of_kind(tmp / "run", "checkpoint").back()["why"], "stop");
  const auto events = read_events(tmp / "run");
  EXPECT_EQ(events.back()["status"], "aborted");
  EXPECT_EQ(read_json(tmp / "run" / "summary.json")["status"], "aborted");
}

TEST_F(TrainingRun, RefusesDataTheDeviceCannotTake) {
  test_support::TempDir tmp;
  TinyHopfield device(TinyHopfieldSpec{});
  Session session(tmp / "run");
  Split wide = xor_task();
  wide.train.features = wide.test.features = 3;
  wide.train.inputs.resize(12);
  try {
    run_training(xor_settings(1), device, wide, session);
    FAIL() << "3 features accepted by a device with 2 inputs";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("3 features"));
  }
  TrainerSettings big = xor_settings(1);
  big.batch_size = 8;
  try {
    run_training(big, device, xor_task(), session);
    FAIL() << "a batch larger than the device's replicas";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("trainer.batch_size"));
  }
}
