#pragma once
// The `session` section of a config: how much the event log records and when checkpoints are
// taken (the folder's root and name are the program's business).

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

namespace aeqlab {

// How much the event log records. Each level includes the ones before it.
enum class Detail {
  off,    // run start, checkpoints, resumptions and the stop record only
  epoch,  // + one line per epoch
  step,   // + one line per training step: its phases' settle reports, errors, cost
  phase,  // + one line per phase with the measured outputs, and per-step parameter changes
};

// session.detail's spelling of each level.
const char* to_string(Detail detail);

struct SessionSettings {
  Detail detail = Detail::step;
  std::size_t checkpoint_every_steps = 0;   // 0: not by steps
  double checkpoint_every_seconds = 600.0;  // 0: not by time
  std::size_t checkpoint_every_epochs = 1;  // 0: not at epoch ends
  std::size_t checkpoint_keep = 2;
  // Periodic and epoch checkpoints wait until the time since the last one is at least the last
  // one's cost divided by this share, so checkpoints take at most about this share of the run's
  // time; the start, a stop and the last epoch are always checkpointed. 0: no budget.
  double checkpoint_max_share = 0.0;
  // The lab's own record, copied into summary.json and listed by `aeqlab sessions`.
  std::string operator_name, sample, notes;
  // A resume on a device without snapshots (a bench) brings it back to the checkpoint's
  // parameters and refuses to continue unless readback finds every one within this distance.
  double restore_tolerance = 1e-3;
  std::size_t restore_max_rounds = 200;
  // Not from the config: set by the caller when the device was built afresh from config.json
  // (and nothing put other parameters on it), so with snapshots its start is reproducible from
  // the config and the seed and needs no checkpoint 0.
  bool start_from_config = false;
  // ... and the device is a virtual bench that *RST put back to the server's initial state (the
  // same again on a resume with no checkpoint).
  bool start_is_reset = false;
};

// Reads and checks the `session` section.
SessionSettings session_settings_from(const nlohmann::json& session);

}  // namespace aeqlab
