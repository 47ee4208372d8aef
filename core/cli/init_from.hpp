#pragma once
// Warm start: a new session that begins from another session's final parameters
// (`train --init-from SESSION`, or `session.init_from` in a config). docs/sessions.md,
// "Starting from another session".

#include <filesystem>

#include "core/device.hpp"
#include "core/parameter_restore.hpp"

namespace aeqlab::cli {

// Puts `source`'s parameters.f64 on `device` (written, or held through the knobs and verified by
// readback). Refused, naming the group, when the source's device has other parameter groups
// (names or sizes, from its device.json) than `device`.
void init_from_session(Device& device, const std::filesystem::path& source,
                       const RestoreSettings& settings);

}  // namespace aeqlab::cli
