// The event log's busiest lines, written field by field: the bytes of a step and a phase line are
// part of the session's public format (keys in this order, numbers shortest-exact, non-finite as
// null), as are the lines the session writes from JSON.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/event_log_sink.hpp"
#include "core/session.hpp"
#include "temp_dir.hpp"

using namespace aeqlab;
namespace fs = std::filesystem;

namespace {

// The log's lines with each one's time replaced by T.
std::vector<std::string> lines_of(const fs::path& dir) {
  std::ifstream in(dir / "events.jsonl");
  std::vector<std::string> lines;
  std::string line;
  const std::regex time(R"("time":"[^"]*")");
  while (std::getline(in, line)) lines.push_back(std::regex_replace(line, time, R"("time":"T")"));
  return lines;
}

DeviceDescription two_groups() {
  DeviceDescription d;
  d.model = "test";
  ParameterGroup w, b;
  w.channels.name = "W0";
  w.channels.count = 2;
  b.channels.name = "b1";
  b.channels.count = 1;
  d.parameters = {w, b};
  return d;
}

}  // namespace

TEST(EventLogSink, StepAndPhaseLinesKeepTheirBytes) {
  test_support::TempDir tmp;
  const DeviceDescription d = two_groups();
  {
    Session session(tmp / "run");
    EventLogSink sink(session, Detail::phase, d);
    PhaseRecord held{.phase = "homeostatic",
                     .beta = -0.25,
                     .settle = {.seconds = 0.5, .iterations = 12, .residual = 0.125}};
    held.rounds = 3;
    held.converged = true;
    const std::vector<double> outputs = {0.5, -1.0, std::nan(""), 2.0};
    sink.phase({.epoch = 1,
                .step = 2,
                .phase = held,
                .outputs = outputs,
                .replicas = 2,
                .outputs_per_replica = 2});

    StepReport step;
    step.scored = true;
    step.errors = 1;
    step.cost = 0.75;
    step.settles = 4;
    PhaseRecord scoring{
        .phase = "scoring", .beta = 0.0, .settle = {.seconds = 0.25, .iterations = 3}};
    step.phases = {scoring, held};
    const EpochTally tally;
    const std::vector<double> change = {0.5, std::nan("")};
    sink.step({.epoch = 1,
               .step = 2,
               .position = 8,
               .samples = 4,
               .report = step,
               .parameter_change_rms = change,
               .tally = tally});
    StepReport unscored;
    sink.step({.epoch = 1,
               .step = 3,
               .position = 12,
               .samples = 4,
               .report = unscored,
               .parameter_change_rms = {},
               .tally = tally});
  }
  const auto lines = lines_of(tmp / "run");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0],
            R"({"event":"phase","time":"T","epoch":1,"step":2,"phase":"homeostatic","beta":-0.25,)"
            R"("iterations":12,"seconds":0.5,"residual":0.125,"converged":true,"rounds":3,)"
            R"("hold_error":0,"loop_gain":0,"outputs":[[0.5,-1],[null,2]]})");
  EXPECT_EQ(lines[1],
            R"({"event":"step","time":"T","epoch":1,"step":2,"position":8,"samples":4,"errors":1,)"
            R"("cost":0.75,"phases":{"scoring":{"beta":0,"iterations":3,"seconds":0.25,)"
            R"("residual":0,"converged":false,"rounds":1,"hold_error":0,"loop_gain":0},)"
            R"("homeostatic":{"beta":-0.25,)"
            R"("iterations":12,"seconds":0.5,"residual":0.125,"converged":true,"rounds":3,)"
            R"("hold_error":0,"loop_gain":0}},)"
            R"("settles":4,"parameter_change_rms":{"W0":0.5,"b1":null}})");
  EXPECT_EQ(lines[2], R"({"event":"step","time":"T","epoch":1,"step":3,"position":12,"samples":4,)"
                      R"("phases":{},"settles":0})");
  for (const auto& line : lines) EXPECT_TRUE(nlohmann::json::accept(line)) << line;
}

TEST(EventLogSink, TheDetailDecidesWhichLinesAreWritten) {
  test_support::TempDir tmp;
  const DeviceDescription d = two_groups();
  {
    Session session(tmp / "run");
    EventLogSink sink(session, Detail::epoch, d);
    PhaseRecord p;
    p.phase = "free_knob";
    sink.phase({.epoch = 1,
                .step = 1,
                .phase = p,
                .outputs = {},
                .replicas = 0,
                .outputs_per_replica = 0});
    const StepReport step;
    const EpochTally tally;
    sink.step({.epoch = 1,
               .step = 1,
               .position = 4,
               .samples = 4,
               .report = step,
               .parameter_change_rms = {},
               .tally = tally});
    const Evaluation test{.samples = 4, .errors = 1, .cost = 0.5};
    sink.epoch_ended({.epoch = 1,
                      .epochs = 2,
                      .trained = 4,
                      .tally = tally,
                      .device_settles_total = 0,
                      .test = test,
                      .scored = false});
    sink.checkpointed({.sequence = 1, .why = "epoch", .epoch = 2, .position = 0, .seconds = 0.5});
    sink.stopped({.status = RunStatus::completed,
                  .reason = "",
                  .safe_state = "reached",
                  .last_checkpoint = 1});
  }
  const auto lines = lines_of(tmp / "run");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0],
            R"({"event":"epoch","time":"T","device_settles":0,"device_settles_total":0,"epoch":1,)"
            R"("hold_error_max":0.0,"homeostat_holds":0,"homeostat_rounds":0,)"
            R"("loop_gain_max":0.0,"rounds_per_hold":0.0,"samples":0,)"
            R"("samples_per_second":0.0,"seconds":0.0,)"
            R"("settle_iterations_mean":0.0,"settle_seconds":0.0,"settles":0,)"
            R"("settles_unconverged":0,"test_cost":0.5,"test_error":0.25})");
  EXPECT_EQ(lines[1], R"({"event":"checkpoint","time":"T","epoch":2,"position":0,"seconds":0.5,)"
                      R"("sequence":1,"why":"epoch"})");
  EXPECT_EQ(lines[2], R"({"event":"run_stop","time":"T","last_checkpoint":1,"reason":"",)"
                      R"("safe_state":"reached","status":"completed"})");
}
