#include "core/cli/device_factory.hpp"

#include <filesystem>

#include "core/config.hpp"
#include "core/error.hpp"
#include "instruments/bench_config.hpp"
#include "instruments/bench_device.hpp"
#include "sim/circuit/circuit_device.hpp"
#include "sim/hopfield/hopfield_device.hpp"

namespace aeqlab::cli {

static std::string device_type(const nlohmann::json& device) {
  if (!device.is_object() || !device.contains("type") || !device["type"].is_string())
    throw ConfigError("device.type: missing; expected \"hopfield\", \"circuit\" or \"bench\"");
  return device["type"].get<std::string>();
}

static sim::HopfieldSpec hopfield_spec(const nlohmann::json& device, std::size_t batch_size) {
  nlohmann::json section = device;
  if (!section.contains("replicas")) section["replicas"] = batch_size;
  return sim::hopfield_spec_from_json(section);
}

// A bench section holds the bench itself, or the path of a bench file; the session records the
// bench's content, so a resumed or re-evaluated run uses the bench it was trained on.
static sim::CircuitSpec circuit_spec(const nlohmann::json& device, std::size_t batch_size) {
  nlohmann::json section = device;
  if (!section.contains("replicas")) section["replicas"] = batch_size;
  return sim::circuit_spec_from_json(section);
}

static nlohmann::json bench_section(const nlohmann::json& device) {
  for (const auto& [k, v] : device.items())
    if (k != "type" && k != "bench" && k != "file")
      throw ConfigError("device." + k +
                        ": unknown key for a bench device (known: type, bench, file)");
  if (!device.contains("bench"))
    throw ConfigError("device.bench: missing; give the bench file (aeqlab train --bench FILE)");
  nlohmann::json section = {{"type", "bench"}};
  const auto& b = device.at("bench");
  if (b.is_string()) {
    section["file"] = std::filesystem::absolute(b.get<std::string>()).string();
    section["bench"] = read_json_file(b.get<std::string>());
  } else {
    if (device.contains("file")) section["file"] = device.at("file");
    section["bench"] = b;
  }
  return section;
}

static instruments::BenchConfig bench_config(const nlohmann::json& device) {
  const auto section = bench_section(device);
  const std::string source =
      section.contains("file") ? section["file"].get<std::string>() : std::string("device.bench");
  return instruments::parse_bench(section["bench"], source);
}

std::unique_ptr<Device> make_device(const nlohmann::json& device, std::size_t batch_size) {
  const auto type = device_type(device);
  if (type == "hopfield")
    return std::make_unique<sim::HopfieldDevice>(hopfield_spec(device, batch_size));
  if (type == "circuit")
    return std::make_unique<sim::CircuitDevice>(circuit_spec(device, batch_size));
  if (type == "bench") {
    if (batch_size != 1)
      throw ConfigError(fmt::format(
          "trainer.batch_size: a bench has one replica, so the batch size must be 1 (got {})",
          batch_size));
    return std::make_unique<instruments::BenchDevice>(bench_config(device));
  }
  throw ConfigError("device.type: \"" + type +
                    "\" is not a known device (known: hopfield, circuit, bench)");
}

nlohmann::json resolved_device_section(const nlohmann::json& device, std::size_t batch_size) {
  const auto type = device_type(device);
  if (type == "hopfield") return sim::hopfield_spec_to_json(hopfield_spec(device, batch_size));
  if (type == "circuit") return sim::circuit_spec_to_json(circuit_spec(device, batch_size));
  if (type == "bench") {
    auto section = bench_section(device);
    // Parsed now, so a bad bench is refused before a session folder exists.
    section["bench"] = instruments::bench_to_json(instruments::parse_bench(
        section["bench"],
        section.contains("file") ? section["file"].get<std::string>() : "device.bench"));
    return section;
  }
  throw ConfigError("device.type: \"" + type +
                    "\" is not a known device (known: hopfield, circuit, bench)");
}

}  // namespace aeqlab::cli
