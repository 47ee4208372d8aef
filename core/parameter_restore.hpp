#pragma once
// Bringing a device without snapshots (a bench) to a recorded set of parameters, and checking by
// readback that it got there: what `train --resume` does before it continues from a checkpoint,
// and what `eval` and `train --init-from` do before they use a session's parameters. Through the
// contract only: written where the device can set them, then held by feedback on the knobs,
// verified by readback. See docs/sessions.md, "Continuing a run".

#include <cstddef>
#include <span>
#include <string>

#include "core/device.hpp"

namespace aeqlab {

struct RestoreSettings {
  double tolerance = 1e-3;       // largest |target - readback| accepted, in parameter units
  std::size_t max_rounds = 200;  // feedback rounds (settle, read, adjust the knobs)
  double gain = 1.0;             // u <- u + gain * (target - measured), as the feedback homeostat
};

struct RestoreReport {
  bool verified = false;    // the device can read its parameters back, and did
  bool within = false;      // verified, and the largest distance is within the tolerance
  std::size_t rounds = 0;   // settles taken
  double max_distance = 0;  // largest |target - readback|
  double rms_distance = 0;  // root mean square of target - readback
  std::string worst;        // the channel of the largest distance, e.g. "W0[3]"
  bool written = false;     // the parameters were written directly (settable_parameters)
};

// Writes `target` where the device can set its parameters; then, with readback, settles and
// reads, adjusting the knobs (kept inside their safe ranges) until every parameter is within the
// tolerance or the rounds run out. Never throws for a distance: the caller decides (a resume
// refuses, naming it). Throws what the device throws (a refused value, a wire error).
RestoreReport restore_parameters(Device& device, std::span<const double> target,
                                 const RestoreSettings& settings);

// "largest distance 3.2e-07 at W0[3], RMS 1.1e-07, after 12 settles"
std::string describe(const RestoreReport& report);

}  // namespace aeqlab
