#pragma once
// The one place that turns a config's `device` section into a concrete device, through the
// registered device types (core/cli/device_types.hpp). Everything else in core/ sees only the
// contract.

#include <memory>

#include <nlohmann/json.hpp>

#include "core/device.hpp"

namespace aeqlab::cli {

// `batch_size` fills in the replica count when the section does not give one.
std::unique_ptr<Device> make_device(const nlohmann::json& device, std::size_t batch_size);

// The device section as the device will use it (defaults filled in), for the session's record.
nlohmann::json resolved_device_section(const nlohmann::json& device, std::size_t batch_size);

}  // namespace aeqlab::cli
