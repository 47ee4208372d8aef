// How a run ends, whatever happened: the stop's reason, the final figures, the device's safe
// state, parameters.f64, the stop record and summary.json. See core/run.hpp for the run's other
// parts.
#include <filesystem>
#include <optional>

#include <spdlog/spdlog.h>

#include "core/durable_files.hpp"
#include "core/emergency_stop.hpp"
#include "core/error.hpp"
#include "core/evaluation.hpp"
#include "core/run.hpp"
#include "core/sha256.hpp"
#include "core/stop_request.hpp"

namespace aeqlab {

namespace {

void add_reason(std::string& reason, const std::string& more) {
  reason += (reason.empty() ? "" : "; ") + more;
}

}  // namespace

Run::Outcome Run::train_until_stopped(bool resume) {
  Outcome o;
  try {
    begin(resume);
    train_epochs();
    if (stop_requested() && progress_.epochs_done < settings_.epochs) {
      o.status = RunStatus::aborted;
      o.reason = fmt::format("signal {} during epoch {}; resume continues from checkpoint {}",
                             stop_signal(), progress_.epochs_done + 1, last_sequence_);
    }
  } catch (const Interrupted&) {
    sinks_.paused();
    o.status = RunStatus::aborted;
    o.reason = fmt::format(
        "second interrupt during epoch {}, step {}; that step was abandoned, resume continues "
        "from checkpoint {}",
        progress_.epochs_done + 1, progress_.steps + 1, last_sequence_);
  } catch (const std::exception& e) {
    sinks_.paused();
    o.status = RunStatus::failed;
    o.reason = e.what();
    spdlog::error("training stopped: {}", o.reason);
  }
  return o;
}

nlohmann::json Run::summary(const Outcome& o) const {
  const RunProgress& p = progress_;
  nlohmann::json s = {
      {"status", to_string(o.status)},
      {"device", d_.model},
      {"epochs", p.epochs_done},
      {"steps", p.steps},
      {"train_samples_processed", p.trained},
      {"samples_per_second", p.train_seconds > 0 ? double(p.trained) / p.train_seconds : 0.0},
      {"train_seconds", p.train_seconds},
      {"train_cpu_seconds", p.train_cpu_seconds},
      {"segments", p.segments},
      {"last_checkpoint", last_sequence_},
      {"algorithm", settings_.algorithm},
      // Device queries of the training steps (evaluations not counted): the figure to compare
      // rules by, with the test error reached.
      {"device_settles", p.device_settles},
      {"device_settles_per_epoch", p.epoch_device_settles},
      // The lab's record (session.operator, session.sample, session.notes).
      {"operator", ss_.operator_name},
      {"sample", ss_.sample},
      {"notes", ss_.notes}};
  if (p.have_test) {
    s["test_error"] = p.last_test.error_rate();
    s["test_cost"] = p.last_test.cost;
  }
  return s;
}

// The run's final files in one synced batch: parameters.f64 (the final parameters, float64
// little-endian in the device's order, for `aeqlab eval`), the checkpoint of the last epoch's end
// when one is held, and metrics.csv. One sync for all of them, then the renames, then the folders:
// the end of a run costs one synced batch, not a checkpoint's and then the files'.
void Run::record_final_files(const std::vector<double>* theta, nlohmann::json& summary) {
  DurableFiles batch;
  const auto file = session_.dir() / "parameters.f64";
  const auto tmp = session_.dir() / "parameters.f64.tmp";
  if (theta) {
    summary["parameters_sha256"] = parameters_sha256(*theta);
    batch.write(tmp,
                {reinterpret_cast<const char*>(theta->data()), theta->size() * sizeof(double)});
  }
  const auto staged = stage_end_checkpoint(batch);
  if (metrics_) metrics_->sync();
  batch.sync_all();
  // Both renames, then one sync of the session folder, which commits them together; the
  // checkpoints folder's own sync then finds them on the disk already.
  if (staged) rename_end_checkpoint(*staged);
  if (theta) std::filesystem::rename(tmp, file);
  sync_folder(session_.dir());
  if (staged) publish_end_checkpoint();
}

void Run::emergency_stop() {
  std::string outcome = "reached (emergency stop)";
  try {
    device_.safe_state();
  } catch (const std::exception& e) {
    outcome = std::string("failed: ") + e.what();
  }
  try {
    events_.stopped({.status = RunStatus::aborted,
                     .reason = "second interrupt; the run did not answer in time, so the "
                               "emergency stop brought the device to its safe state",
                     .safe_state = outcome,
                     .last_checkpoint = last_sequence_});
  } catch (...) {
  }
  spdlog::error("emergency stop: safe state {}; resume from checkpoint {}", outcome,
                last_sequence_);
}

// A completed run is measured before its safe state: on a bench, safe state changes the circuit
// (inputs off, homeostat released), and the final figures must be the trained ones. A failed or
// stopped run goes to its safe state first: safety before records.
void Run::measure_final(Outcome& o) {
  if (o.status != RunStatus::completed || progress_.epochs_done == 0 || !trainer_) return;
  // The pass over the training set takes seconds on a bench; say so rather than fall silent.
  spdlog::info("measuring the final parameters on the {} training samples", train_.size());
  try {
    o.final_train = evaluate(device_, trainer_->homeostat(), trainer_->parameter_target(), train_);
    if (readback_) o.final_theta = read_parameters();
  } catch (const std::exception& e) {
    o.status = dynamic_cast<const Interrupted*>(&e) ? RunStatus::aborted : RunStatus::failed;
    o.reason = fmt::format("final evaluation: {}", e.what());
  }
}

void Run::reach_safe_state(Outcome& o, EmergencyStop& emergency) {
  try {
    emergency.reaching_safe_state();
    device_.safe_state();
    o.safe_state = "reached";
  } catch (const std::exception& e) {
    spdlog::error("could not bring {} to its safe state: {}", d_.model, e.what());
    o.safe_state = std::string("failed: ") + e.what();
    if (o.status == RunStatus::completed) o.status = RunStatus::failed;
    add_reason(o.reason, std::string("safe state failed: ") + e.what());
  }
}

// What the disk refuses is collected, not thrown: the stop record and the summary are still tried.
RunResult Run::write_record(Outcome& o) {
  nlohmann::json summary = this->summary(o);
  std::vector<std::string> write_errors;
  const auto attempt = [&](auto&& write) {
    try {
      write();
    } catch (const std::exception& e) {
      write_errors.push_back(e.what());
    }
  };
  if (o.final_train) {
    // Both errors with the final parameters, so they are comparable with each other.
    summary["train_error"] = o.final_train->error_rate();
    summary["train_cost"] = o.final_train->cost;
  }
  attempt([&] {
    std::optional<std::vector<double>> theta;
    if (readback_ && trainer_) theta = o.final_theta ? *o.final_theta : read_parameters();
    record_final_files(theta ? &*theta : nullptr, summary);
  });
  summary["last_checkpoint"] = last_sequence_;  // the end's, once it is on the disk
  if (!write_errors.empty()) {
    // The disk refused part of the record: the run cannot call itself complete. The checkpoints
    // and the log up to here are intact, so it can be resumed once there is room.
    if (o.status == RunStatus::completed) o.status = RunStatus::failed;
    add_reason(o.reason, "session record incomplete: " + write_errors.front());
  }
  summary["status"] = to_string(o.status);
  if (!o.reason.empty()) summary["reason"] = o.reason;
  summary["log_seconds"] = progress_.log_seconds;
  summary["checkpoint_seconds"] = progress_.checkpoint_seconds;
  summary["wall_seconds"] = wall_before_ + seconds_since(segment_t0_);
  attempt([&] {
    events_.stopped({.status = o.status,
                     .reason = o.reason,
                     .safe_state = o.safe_state,
                     .last_checkpoint = last_sequence_});
  });
  attempt([&] { session_.write_json("summary.json", summary); });
  for (const auto& w : write_errors) spdlog::error("session record incomplete: {}", w);
  if (!write_errors.empty() && o.status == RunStatus::completed) {
    o.status = RunStatus::failed;
    summary["status"] = to_string(o.status);
  }
  return {o.status, summary};
}

RunResult Run::go(bool resume) {
  // A second interrupt while the run is blocked in a device call: safe state from outside.
  EmergencyStop emergency([this] { emergency_stop(); }, std::chrono::milliseconds(2000));
  Outcome o = train_until_stopped(resume);
  measure_final(o);
  reach_safe_state(o, emergency);
  emergency.disarm();
  return write_record(o);
}

}  // namespace aeqlab
