#pragma once
// The device as the session records it (device.json): its description and who answered.

#include <nlohmann/json.hpp>

#include "core/device.hpp"

namespace aeqlab {

nlohmann::json describe_json(const Device& device);

}  // namespace aeqlab
