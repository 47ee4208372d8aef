#pragma once
// The `train` job: epochs of AEqprop steps over a data set on any device, with per-epoch
// evaluation, progress, the session's event log and its summary. Knows only the contract.

#include <nlohmann/json.hpp>

#include "core/dataset.hpp"
#include "core/device.hpp"
#include "core/session.hpp"

namespace aeqlab {

struct TrainerSettings {
  std::string algorithm = "aeqprop";
  std::string mode = "centered";
  double nudging = 0.5;
  std::size_t epochs = 1;
  std::size_t batch_size = 32;
  double compliance_decay = 1.0;
  std::string homeostat = "auto";
  double feedback_gain = 1.0;
  double feedback_tolerance = 1e-6;
  std::size_t feedback_max_rounds = 100;
  std::uint64_t seed = 1;
  bool shuffle = true;
  bool score_batches = true;
};

// Reads and checks the `trainer` section; errors name the key.
TrainerSettings trainer_settings_from(const nlohmann::json& trainer);

struct RunResult {
  std::string status;  // "completed", "aborted" or "failed"
  nlohmann::json summary;
};

// Everything about the run that can be refused before it starts (data against the device, batch
// against its replicas, the homeostat and decay against its capabilities): call it before
// creating the session, so a refused run leaves no half-made session behind.
void check_run(const TrainerSettings& settings, const Device& device, const Split& data);

// Trains, evaluates after every epoch, and writes events and summary.json into `session`. On a
// stop request or a fault the device is brought to its safe state and the summary still written.
RunResult run_training(const TrainerSettings& settings, Device& device, const Split& data,
                       Session& session);

}  // namespace aeqlab
