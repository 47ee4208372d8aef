#include "core/cli/device_factory.hpp"

#include <new>
#include <stdexcept>

#include <spdlog/fmt/fmt.h>

#include "core/cli/device_types.hpp"
#include "core/error.hpp"

namespace aeqlab::cli {

namespace {

// "hopfield, circuit, bench"
std::string listed() {
  std::string s;
  for (const auto& t : device_types()) s += (s.empty() ? "" : ", ") + t.name;
  return s;
}

// "\"hopfield\", \"circuit\" or \"bench\""
std::string alternatives() {
  const auto& types = device_types();
  std::string s;
  for (std::size_t i = 0; i < types.size(); ++i) {
    if (i > 0) s += i + 1 == types.size() ? " or " : ", ";
    s += "\"" + types[i].name + "\"";
  }
  return s;
}

}  // namespace

const DeviceType* find_device_type(const std::string& name) {
  for (const auto& t : device_types())
    if (t.name == name) return &t;
  return nullptr;
}

const DeviceType& device_type_of(const nlohmann::json& device) {
  if (!device.is_object() || !device.contains("type") || !device["type"].is_string())
    throw ConfigError("device.type: missing; expected " + alternatives());
  const auto name = device["type"].get<std::string>();
  if (const DeviceType* t = find_device_type(name)) return *t;
  throw ConfigError("device.type: \"" + name + "\" is not a known device (known: " + listed() +
                    ")");
}

std::unique_ptr<Device> make_device(const nlohmann::json& device, std::size_t batch_size) {
  const DeviceType& type = device_type_of(device);
  const std::size_t fixed = type.fixed_replicas;
  if (fixed != 0 && batch_size != fixed)
    throw ConfigError(fmt::format(
        "trainer.batch_size: a {} has {}, so the batch size must be {} (got {})", type.name,
        fixed == 1 ? std::string("one replica") : fmt::format("{} replicas", fixed), fixed,
        batch_size));
  try {
    return type.make(device, batch_size);
  } catch (const std::bad_alloc&) {
    // Counts within their ranges can still multiply past this machine's memory: say which.
    throw ConfigError(fmt::format(
        "device: a {} of this size ({}) with {} replicas (trainer.batch_size) does not fit in "
        "this machine's memory",
        type.name, device.contains("layers") ? "layers " + device["layers"].dump() : "as given",
        batch_size));
  } catch (const std::length_error&) {
    throw ConfigError(fmt::format(
        "device: a {} of this size ({}) with {} replicas (trainer.batch_size) is larger than "
        "any array can be",
        type.name, device.contains("layers") ? "layers " + device["layers"].dump() : "as given",
        batch_size));
  }
}

nlohmann::json resolved_device_section(const nlohmann::json& device, std::size_t batch_size) {
  return device_type_of(device).resolve(device, batch_size);
}

}  // namespace aeqlab::cli
