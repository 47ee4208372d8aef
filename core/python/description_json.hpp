#pragma once
// A device's description from JSON, in the schema of the session's device.json (docs/sessions.md):
// what a device written in Python returns from describe() (docs/python.md). The inverse is
// describe_json (core/device_record.hpp).

#include <string>

#include <nlohmann/json.hpp>

#include "core/device_description.hpp"

namespace aeqlab::python {

// Throws DeviceError naming `who` (the device's class) and the key that is missing or wrong.
DeviceDescription description_from_json(const nlohmann::json& j, const std::string& who);

}  // namespace aeqlab::python
