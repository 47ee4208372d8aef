#pragma once
// One run (or one resumed segment of a run) of the `train` job, in its parts: the progress state
// a checkpoint keeps (RunProgress), the outputs (RunSinks), and the steps of the run below, each
// in its own file: run.cpp (start and the training loop), run_checkpoint.cpp (checkpoints and
// resuming from one), run_finish.cpp (how the run ends, whatever happened). Internal to the
// `train` job: the public entry points are in core/training_run.hpp.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/checkpoint.hpp"
#include "core/console_sink.hpp"
#include "core/dataset.hpp"
#include "core/device.hpp"
#include "core/evaluation.hpp"
#include "core/event_log_sink.hpp"
#include "core/homeostat.hpp"
#include "core/metrics_sink.hpp"
#include "core/run_progress.hpp"
#include "core/run_sink.hpp"
#include "core/session.hpp"
#include "core/session_settings.hpp"
#include "core/trainer.hpp"
#include "core/trainer_settings.hpp"
#include "core/training_run.hpp"

namespace aeqlab {

class DurableFiles;
class EmergencyStop;

class Run {
 public:
  Run(const TrainerSettings& settings, const SessionSettings& ss, Device& device, const Split& data,
      Session& session);

  // Starts (or resumes), trains and ends the run; the result is also in summary.json.
  RunResult go(bool resume);

 private:
  using Clock = std::chrono::steady_clock;

  // run.cpp
  void begin(bool resume);
  void train_epochs();
  void train_step(std::vector<double>& x, std::vector<double>& t, std::vector<int>& labels);
  void finish_epoch();
  // The device's start is the config's and the seed's (a simulator built from config.json, a
  // virtual bench reset by *RST): a resume with no checkpoint trains again from it to the same
  // bits. Only with the checkpoint budget on (max_share 0 keeps checkpoint 0 and the end's).
  bool start_reproducible() const;
  void on_phase(const PhaseRecord& p);
  std::vector<double> read_parameters();
  std::vector<double> compliances() const;

  // run_checkpoint.cpp
  void checkpoint(const char* why);  // taken and synced now
  // A checkpoint's parts: the run's and the device's state now (its sequence taken), the
  // progress record (at writing time), and what follows once it is on the disk.
  Checkpoint capture();
  void add_progress(Checkpoint& c);
  void checkpointed(const Checkpoint& c, const char* why, Clock::time_point t0,
                    double more_seconds = 0.0, bool log_synced_by_stop = false);
  // The end of the last epoch: captured then, written with the run's final files in one synced
  // batch (write_record), so the end of a run costs one sync, not a checkpoint's and the files'.
  void hold_end_checkpoint();
  // Checkpoint 0 written without the sync and removed: what a reproducible start does instead of
  // checkpointing, so a folder or a disk that cannot hold a checkpoint still stops the run first.
  void try_checkpoint_room();
  std::optional<CheckpointStore::Staged> stage_end_checkpoint(DurableFiles& batch);
  void rename_end_checkpoint(const CheckpointStore::Staged& staged);
  void publish_end_checkpoint();
  bool checkpoint_due() const;
  bool checkpoint_affordable() const;  // session.checkpoint.max_share
  void restore(const Checkpoint& c);
  void restore_parameters_of(const Checkpoint& c, const std::vector<double>& target,
                             const char* which, bool exactly = false);
  bool redo_epoch_steps(const Checkpoint& c, const RunProgress& p) const;
  void redo_steps_to(const Checkpoint& c);
  void replay_evaluation_tail(const std::vector<double>& theta);
  static constexpr std::size_t kReplayedSamples = 8;

  // run_finish.cpp
  struct Outcome {
    RunStatus status = RunStatus::completed;
    std::string reason;
    std::string safe_state = "not reached";
    std::optional<Evaluation> final_train;           // completed runs: on the training set
    std::optional<std::vector<double>> final_theta;  // ... and the parameters, with readback
  };
  Outcome train_until_stopped(bool resume);
  void emergency_stop();
  void measure_final(Outcome& o);
  void reach_safe_state(Outcome& o, EmergencyStop& emergency);
  RunResult write_record(Outcome& o);
  nlohmann::json summary(const Outcome& outcome) const;
  void record_final_files(const std::vector<double>* theta, nlohmann::json& summary);

  const TrainerSettings& settings_;
  const SessionSettings& ss_;
  Device& device_;
  const DeviceDescription& d_;
  Session& session_;
  CheckpointStore store_;
  Dataset train_, test_;
  const bool readback_;

  std::unique_ptr<Homeostat> homeostat_;
  std::unique_ptr<Trainer> trainer_;

  // Where the run stands: all of it goes into a checkpoint, with the order and the parameters
  // at the epoch's start (the checkpoint's own files).
  RunProgress progress_;
  std::vector<std::size_t> order_;
  std::vector<double> epoch_start_;
  std::uint64_t next_sequence_ = 0, last_sequence_ = 0;
  double wall_before_ = 0.0;                  // wall time of the segments before this one
  std::optional<RestoreReport> restored_;     // a resume on a device without snapshots
  std::vector<double> restore_knobs_memory_;  // the knobs that hold the restored parameters

  // The outputs, fed from one place: sinks_ (metrics, console, event log, in that order).
  EventLogSink events_;
  ConsoleSink console_;
  std::unique_ptr<MetricsSink> metrics_;
  RunSinks sinks_;

  Clock::time_point segment_t0_ = Clock::now(), last_checkpoint_t_ = Clock::now();
  std::size_t steps_since_checkpoint_ = 0;
  // Seconds the last checkpoint took; before the first is timed, what one typically costs on a
  // disk (docs/sessions.md, "What checkpoints cost").
  double last_checkpoint_cost_ = kAssumedCheckpointSeconds;
  static constexpr double kAssumedCheckpointSeconds = 0.05;
  std::optional<Checkpoint> end_checkpoint_;  // captured, not yet written (hold_end_checkpoint)
  double end_capture_seconds_ = 0.0;
  std::size_t batch_n_ = 0;
  std::vector<double> step_params_, outputs_, change_;
};

// Root mean square of each parameter group (of `a - b` when `b` is given).
std::vector<double> group_rms(const DeviceDescription& d, const std::vector<double>& a,
                              const std::vector<double>* b = nullptr);

double seconds_since(std::chrono::steady_clock::time_point t0);

}  // namespace aeqlab
