#pragma once
// The device types `device.type` may name: one entry each, in its own file under core/cli/devices/,
// and one registration line in core/cli/device_type_list.cpp. The composition root finds a type
// here by name; nothing else in the program tests a type's name (docs/architecture.md, "How to
// add a physics").

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/device.hpp"
#include "core/replica_group.hpp"

namespace aeqlab::cli {

struct DeviceType {
  std::string name;  // the value of `device.type`
  // The section as the device will use it (defaults filled in), for the session's record: a
  // resumed or re-evaluated run builds its device from what this returned, so `make` must accept
  // it and build the same device. Throws ConfigError naming the key.
  std::function<nlohmann::json(const nlohmann::json& section, std::size_t batch_size)> resolve;
  // The device a section describes; `batch_size` fills in the replica count when it gives none.
  std::function<std::unique_ptr<Device>(const nlohmann::json& section, std::size_t batch_size)>
      make;
  // Replicas the device always has, which the batch size must then equal (hardware has one);
  // 0: as many as the batch asks.
  std::size_t fixed_replicas = 0;
  // Whether it may be the physics `aeqlab serve` puts behind virtual instruments (a simulator may,
  // a bench of real instruments may not).
  bool servable = true;
  // The device with each relaxation's replicas split over the ranks of `group` (data-parallel
  // training under mpirun, docs/mpi.md); empty for a type that cannot split them (hardware).
  std::function<std::unique_ptr<Device>(const nlohmann::json& section, std::size_t batch_size,
                                        std::shared_ptr<ReplicaGroup> group)>
      make_data_parallel;
};

// A type whose section parses into `Settings` (a spec), which writes back to JSON whole and from
// which the device is built: the round trip the session's record relies on, by construction.
template <class Settings>
DeviceType typed_device_type(std::string name,
                             Settings (*parse)(const nlohmann::json& section, std::size_t batch),
                             nlohmann::json (*to_json)(const Settings&),
                             std::unique_ptr<Device> (*build)(Settings)) {
  DeviceType t;
  t.name = std::move(name);
  t.resolve = [parse, to_json](const nlohmann::json& section, std::size_t batch) {
    return to_json(parse(section, batch));
  };
  t.make = [parse, build](const nlohmann::json& section, std::size_t batch) {
    return build(parse(section, batch));
  };
  return t;
}

// Every registered type, in the order error messages list them.
const std::vector<DeviceType>& device_types();

// The type called `name`, or nullptr.
const DeviceType* find_device_type(const std::string& name);

// The type a device section names; a ConfigError listing the known types when it names none.
const DeviceType& device_type_of(const nlohmann::json& section);

}  // namespace aeqlab::cli
