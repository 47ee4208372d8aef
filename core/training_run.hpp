#pragma once
// The `train` job: epochs of training steps (AEqprop, or a rule labs compare it with) over a data
// set on any device, with per-epoch evaluation, progress, the session's event log, metrics table,
// checkpoints and summary. Knows only the contract.

#include <nlohmann/json.hpp>

#include "core/dataset.hpp"
#include "core/device.hpp"
#include "core/session.hpp"
#include "core/trainer_settings.hpp"

namespace aeqlab {

// TrainerSettings and trainer_settings_from: core/trainer_settings.hpp.

// How much the event log records (DESIGN §7). Each level includes the ones before it.
enum class Detail {
  off,    // run start, checkpoints, resumptions and the stop record only
  epoch,  // + one line per epoch
  step,   // + one line per training step: its phases' settle reports, errors, cost
  phase,  // + one line per phase with the measured outputs, and per-step parameter changes
};

struct SessionSettings {
  Detail detail = Detail::step;
  std::size_t checkpoint_every_steps = 0;   // 0: not by steps
  double checkpoint_every_seconds = 600.0;  // 0: not by time
  std::size_t checkpoint_every_epochs = 1;  // 0: not at epoch ends
  std::size_t checkpoint_keep = 2;
};

// Reads and checks the `session` section (root and name are the program's business).
SessionSettings session_settings_from(const nlohmann::json& session);

struct RunResult {
  std::string status;  // "completed", "aborted" or "failed"
  nlohmann::json summary;
};

// Everything about the run that can be refused before it starts (data against the device, batch
// against its replicas, the homeostat and decay against its capabilities): call it before
// creating the session, so a refused run leaves no half-made session behind.
void check_run(const TrainerSettings& settings, const Device& device, const Split& data);

// Trains, evaluates after every epoch, and records everything into `session`; with `resume`,
// first restores the session's newest checkpoint and continues from there. On a stop request or
// a fault the device is brought to its safe state and the stop record and summary still written.
RunResult run_training(const TrainerSettings& settings, const SessionSettings& session_settings,
                       Device& device, const Split& data, Session& session, bool resume = false);
RunResult run_training(const TrainerSettings& settings, Device& device, const Split& data,
                       Session& session);

// The device's description as the session records it (device.json).
nlohmann::json describe_json(const Device& device);

}  // namespace aeqlab
