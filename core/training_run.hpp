#pragma once
// The `train` job: epochs of training steps (AEqprop, or a rule labs compare it with) over a data
// set on any device, with per-epoch evaluation, progress, the session's event log, metrics table,
// checkpoints and summary. Knows only the contract. Its parts: core/run.hpp.

#include <nlohmann/json.hpp>

#include "core/dataset.hpp"
#include "core/device.hpp"
#include "core/device_record.hpp"
#include "core/run_status.hpp"
#include "core/session.hpp"
#include "core/session_settings.hpp"
#include "core/trainer_settings.hpp"

namespace aeqlab {

// TrainerSettings and trainer_settings_from: core/trainer_settings.hpp. SessionSettings, Detail
// and session_settings_from: core/session_settings.hpp. describe_json: core/device_record.hpp.

struct RunResult {
  RunStatus status = RunStatus::completed;  // completed, aborted or failed
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

}  // namespace aeqlab
