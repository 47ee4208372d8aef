#include "core/cli/device_factory.hpp"

#include "core/error.hpp"
#include "sim/hopfield_device.hpp"

namespace aeqlab::cli {

static std::string device_type(const nlohmann::json& device) {
  if (!device.is_object() || !device.contains("type") || !device["type"].is_string())
    throw ConfigError("device.type: missing; expected \"hopfield\"");
  return device["type"].get<std::string>();
}

static sim::HopfieldSpec hopfield_spec(const nlohmann::json& device, std::size_t batch_size) {
  nlohmann::json section = device;
  if (!section.contains("replicas")) section["replicas"] = batch_size;
  return sim::hopfield_spec_from_json(section);
}

std::unique_ptr<Device> make_device(const nlohmann::json& device, std::size_t batch_size) {
  const auto type = device_type(device);
  if (type == "hopfield")
    return std::make_unique<sim::HopfieldDevice>(hopfield_spec(device, batch_size));
  throw ConfigError("device.type: \"" + type + "\" is not a known device (known: hopfield)");
}

nlohmann::json resolved_device_section(const nlohmann::json& device, std::size_t batch_size) {
  const auto type = device_type(device);
  if (type == "hopfield") return sim::hopfield_spec_to_json(hopfield_spec(device, batch_size));
  throw ConfigError("device.type: \"" + type + "\" is not a known device (known: hopfield)");
}

}  // namespace aeqlab::cli
