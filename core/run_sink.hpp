#pragma once
// What a run reports as it goes, and the outputs that take it: the event log (events.jsonl), the
// metrics table (metrics.csv) and the console (log lines and the progress display). The run
// feeds every sink from one place (RunSinks); each sink decides what it keeps and how it writes
// it. See docs/architecture.md, "The run's parts".

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/evaluation.hpp"
#include "core/parameter_restore.hpp"
#include "core/run_progress.hpp"
#include "core/run_status.hpp"
#include "core/session_settings.hpp"
#include "core/trainer.hpp"

namespace aeqlab {

struct RunStartReport {
  std::string device, algorithm;
  std::size_t train_samples = 0, test_samples = 0, epochs = 0, batch_size = 0;
  std::uint64_t seed = 0;
  Detail detail = Detail::step;
};

struct ResumeReport {
  std::optional<std::uint64_t> checkpoint;  // none: no checkpoint yet, the run starts over
  std::size_t epoch = 1, position = 0, train_samples = 0;
  std::size_t superseded_after_line = 0;  // log lines after this one are redone
  std::size_t dropped_bytes = 0;          // of a partial last log line left by the interruption
  // A device without snapshots: how close it came to the checkpoint's parameters (and within
  // what tolerance); none when it was restored from a snapshot or had nothing to restore.
  std::optional<RestoreReport> restore;
  double restore_tolerance = 0.0;
};

// One phase of a step as it ended, with the outputs then measured (replicas x outputs).
struct PhaseReport {
  std::size_t epoch = 0, step = 0;
  const PhaseRecord& phase;
  std::span<const double> outputs;
  std::size_t replicas = 0, outputs_per_replica = 0;
};

struct StepLine {
  std::size_t epoch = 0, step = 0, position = 0, samples = 0;
  const StepReport& report;
  // How far each parameter group moved in the step (root mean square); empty: not measured.
  std::span<const double> parameter_change_rms;
  const EpochTally& tally;  // the epoch so far, this step included
};

struct EpochReport {
  std::size_t epoch = 0, epochs = 0;
  std::size_t trained = 0;  // samples processed since the run began
  const EpochTally& tally;
  std::size_t device_settles_total = 0;
  const Evaluation& test;
  bool scored = true;  // the running training error and cost were measured
  std::vector<double> compliance = {};
  // With parameter readback: each group's root mean square at the epoch's end, and of its change
  // over the epoch (NaN where the epoch's start is unknown). Empty without.
  std::vector<double> parameter_rms = {}, parameter_change_rms = {};
};

struct CheckpointReport {
  std::uint64_t sequence = 0;
  const char* why = "";
  std::size_t epoch = 0, position = 0;
  double seconds = 0.0;
  // The end of a run: the stop record follows at once and syncs the log for both lines.
  bool log_synced_by_stop = false;
};

struct StopReport {
  RunStatus status = RunStatus::completed;
  std::string reason, safe_state;
  std::uint64_t last_checkpoint = 0;
};

// A sink takes what it needs and ignores the rest. Errors propagate: a record that cannot be
// written stops the run as today's disk errors do.
class RunSink {
 public:
  virtual ~RunSink() = default;
  virtual void started(const RunStartReport&) {}
  virtual void resumed(const ResumeReport&) {}
  virtual void epoch_started(std::size_t epoch, std::size_t epochs, std::size_t samples) {
    (void)epoch, (void)epochs, (void)samples;
  }
  virtual void phase(const PhaseReport&) {}
  virtual void step(const StepLine&) {}
  // The training loop stops for now: its epoch's steps are done, or a stop request or a fault
  // ends them.
  virtual void paused() {}
  virtual void epoch_ended(const EpochReport&) {}
  virtual void checkpointed(const CheckpointReport&) {}
  virtual void stopped(const StopReport&) {}
};

// The run's sinks, fed in the order they were added.
class RunSinks {
 public:
  void add(RunSink& sink) { sinks_.push_back(&sink); }
  template <class Report>
  void feed(void (RunSink::*what)(const Report&), const Report& report) {
    for (RunSink* s : sinks_) (s->*what)(report);
  }
  void epoch_started(std::size_t epoch, std::size_t epochs, std::size_t samples) {
    for (RunSink* s : sinks_) s->epoch_started(epoch, epochs, samples);
  }
  void paused() {
    for (RunSink* s : sinks_) s->paused();
  }

 private:
  std::vector<RunSink*> sinks_;
};

}  // namespace aeqlab
