#pragma once
// Where a run stands: everything a checkpoint keeps of the run itself (the device's state, the
// parameters and the sample order are the checkpoint's files). One struct and one list of its
// fields, which both writes and reads it: a checkpoint reads back exactly what it wrote.

#include <cstddef>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/evaluation.hpp"
#include "core/trainer.hpp"

namespace aeqlab {

// The present epoch's figures so far, for its metrics row and epoch event.
struct EpochTally {
  // `settles` counts phases (a homeostat's hold once, however many rounds it took);
  // `device_settles` counts every settle asked of the device: the training's device queries.
  std::size_t samples = 0, errors = 0, settles = 0, unconverged = 0, iterations = 0;
  std::size_t homeostat_rounds = 0, device_settles = 0;
  // Holds by the homeostat, and the largest hold error and measured loop gain among them.
  std::size_t holds = 0;
  double hold_error_max = 0.0, loop_gain_max = 0.0;
  double cost = 0.0, seconds = 0.0, settle_seconds = 0.0;

  // Adds one training step on `batch` samples (its time is added by whoever measured it).
  void add(const StepReport& step, std::size_t batch);
  bool operator==(const EpochTally&) const = default;
};

struct RunProgress {
  std::size_t epochs_done = 0;  // completed epochs
  std::size_t position = 0;     // samples of the present epoch trained
  std::size_t steps = 0;        // training steps taken
  std::size_t trained = 0;      // training samples processed
  std::size_t segments = 1;     // runs this one is made of: 1, plus one per resume
  double train_seconds = 0.0;
  double train_cpu_seconds = 0.0;  // process CPU during steps: what orchestration costs
  // Time spent keeping the record: step and phase lines (inside the training loop's time),
  // checkpoints (outside it).
  double log_seconds = 0.0, checkpoint_seconds = 0.0;
  double wall_seconds = 0.0;  // up to the checkpoint
  EpochTally tally;
  // Device queries of the training steps: in all, and per completed epoch (for the summary).
  std::size_t device_settles = 0;
  std::vector<std::size_t> epoch_device_settles;
  bool have_test = false;
  Evaluation last_test;            // the last epoch's evaluation on the test set
  std::mt19937_64 rng;             // shuffles the sample order at each epoch's start
  std::vector<double> compliance;  // per parameter group, as the device had them
  // Where the session's record stood: what a resumed run keeps of events.jsonl and metrics.csv.
  std::size_t events_lines = 0, metrics_bytes = 0;

  bool operator==(const RunProgress& other) const;
};

// The checkpoint's "progress" object. Fields added after the first checkpoints were written read
// as zero or empty when absent; any other missing or mistyped field is a DataError naming it.
nlohmann::json to_json(const RunProgress& progress);
RunProgress run_progress_from(const nlohmann::json& progress);

}  // namespace aeqlab
