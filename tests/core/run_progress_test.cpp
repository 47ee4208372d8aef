// Where a run stands, as a checkpoint keeps it: what is written reads back the same, field for
// field; a checkpoint from before a field existed still reads; a damaged one names the field.
#include <random>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/run_progress.hpp"

using namespace aeqlab;
using ::testing::HasSubstr;
using json = nlohmann::json;

namespace {

// Every field away from its default, so a field the round trip forgot shows.
RunProgress busy() {
  RunProgress p;
  p.epochs_done = 3;
  p.position = 40;
  p.steps = 123;
  p.trained = 3940;
  p.segments = 2;
  p.train_seconds = 12.5;
  p.train_cpu_seconds = 20.25;
  p.log_seconds = 0.75;
  p.checkpoint_seconds = 1.5;
  p.wall_seconds = 33.0625;
  p.tally = {.samples = 40,
             .errors = 7,
             .settles = 30,
             .unconverged = 1,
             .iterations = 900,
             .homeostat_rounds = 44,
             .device_settles = 50,
             .cost = 3.5,
             .seconds = 0.125,
             .settle_seconds = 0.0625};
  p.device_settles = 5000;
  p.epoch_device_settles = {1500, 1600, 1700};
  p.have_test = true;
  p.last_test = {.samples = 100, .errors = 9, .cost = 0.3};
  p.rng.seed(77);
  p.rng.discard(1000);
  p.compliance = {0.1, 0.05, 0.02};
  p.events_lines = 321;
  p.metrics_bytes = 4096;
  return p;
}

}  // namespace

TEST(RunProgress, ACheckpointReadsBackWhatItWrote) {
  const RunProgress p = busy();
  const json written = to_json(p);
  const RunProgress back = run_progress_from(json::parse(written.dump()));
  EXPECT_EQ(back, p);
  EXPECT_EQ(to_json(back), written);
  EXPECT_EQ(back.tally, p.tally);
  EXPECT_EQ(back.rng, p.rng) << "the shuffles after a resume would differ";
  EXPECT_EQ(back.epoch_device_settles, p.epoch_device_settles);
  EXPECT_EQ(back.last_test.errors, 9u);
  EXPECT_DOUBLE_EQ(back.last_test.cost, 0.3);
  EXPECT_EQ(back.compliance, p.compliance);
}

TEST(RunProgress, TheCheckpointKeysAreThoseOfThePublicFormat) {
  const json j = to_json(busy());
  for (const char* key : {"epochs_done",
                          "position",
                          "steps",
                          "trained",
                          "segments",
                          "log_seconds",
                          "checkpoint_seconds",
                          "train_seconds",
                          "train_cpu_seconds",
                          "wall_seconds",
                          "tally",
                          "device_settles",
                          "epoch_device_settles",
                          "have_test",
                          "test_errors",
                          "test_samples",
                          "test_cost",
                          "rng",
                          "compliance",
                          "events_lines",
                          "metrics_bytes"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j.size(), 21u);
  for (const char* key : {"samples", "errors", "settles", "unconverged", "iterations",
                          "homeostat_rounds", "device_settles", "cost", "seconds", "settle_seconds",
                          "holds", "hold_error_max", "loop_gain_max"})
    EXPECT_TRUE(j["tally"].contains(key)) << key;
  EXPECT_EQ(j["tally"].size(), 13u);
  EXPECT_TRUE(j["rng"].is_string());
  EXPECT_TRUE(j["epochs_done"].is_number_unsigned());
  EXPECT_TRUE(j["wall_seconds"].is_number_float());
}

TEST(RunProgress, ACheckpointFromBeforeLaterFieldsStillReads) {
  json j = to_json(busy());
  for (const char* key : {"train_cpu_seconds", "log_seconds", "checkpoint_seconds",
                          "device_settles", "epoch_device_settles"})
    j.erase(key);
  j["tally"].erase("device_settles");
  const RunProgress p = run_progress_from(j);
  EXPECT_EQ(p.train_cpu_seconds, 0.0);
  EXPECT_EQ(p.device_settles, 0u);
  EXPECT_TRUE(p.epoch_device_settles.empty());
  EXPECT_EQ(p.tally.device_settles, 0u);
  EXPECT_EQ(p.steps, 123u);
}

TEST(RunProgress, ADamagedCheckpointNamesTheField) {
  json j = to_json(busy());
  j.erase("position");
  EXPECT_THROW(run_progress_from(j), DataError);
  try {
    run_progress_from(j);
  } catch (const DataError& e) {
    EXPECT_THAT(e.what(), HasSubstr("position"));
  }
  json rng = to_json(busy());
  rng["rng"] = "not a generator";
  try {
    run_progress_from(rng);
    ADD_FAILURE() << "a damaged RNG state was accepted";
  } catch (const DataError& e) {
    EXPECT_THAT(e.what(), HasSubstr("rng: damaged RNG state"));
  }
  json tally = to_json(busy());
  tally["tally"].erase("cost");
  try {
    run_progress_from(tally);
    ADD_FAILURE() << "a tally without its cost was accepted";
  } catch (const DataError& e) {
    EXPECT_THAT(e.what(), HasSubstr("tally: cost"));
  }
}

TEST(EpochTally, AddsAStepsPhasesAndSettles) {
  StepReport step;
  step.errors = 2;
  step.cost = 1.5;
  step.settles = 7;
  PhaseRecord held{
      .phase = "homeostatic", .beta = 0.25, .settle = {.seconds = 0.5, .iterations = 10}};
  held.rounds = 5;
  held.converged = true;
  PhaseRecord free{.phase = "free_knob", .beta = 0.5, .settle = {.seconds = 0.25, .iterations = 4}};
  free.held = false;
  free.converged = false;
  step.phases = {held, free};
  EpochTally t;
  t.add(step, 4);
  EXPECT_EQ(t.samples, 4u);
  EXPECT_EQ(t.errors, 2u);
  EXPECT_DOUBLE_EQ(t.cost, 1.5);
  EXPECT_EQ(t.settles, 2u);
  EXPECT_EQ(t.unconverged, 1u);
  EXPECT_EQ(t.iterations, 14u);
  EXPECT_EQ(t.homeostat_rounds, 5u) << "only held phases count their rounds";
  EXPECT_DOUBLE_EQ(t.settle_seconds, 0.75);
  EXPECT_EQ(t.device_settles, 7u);
}
