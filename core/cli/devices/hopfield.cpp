// `device.type: "hopfield"`: the layered Hopfield network simulated in-process (sim/hopfield).

#include "core/cli/device_types.hpp"
#include "sim/hopfield/hopfield_device.hpp"

namespace aeqlab::cli {

namespace {

sim::HopfieldSpec parse(const nlohmann::json& device, std::size_t batch_size) {
  nlohmann::json section = device;
  if (!section.contains("replicas")) section["replicas"] = batch_size;
  return sim::hopfield_spec_from_json(section);
}

std::unique_ptr<Device> build(sim::HopfieldSpec spec) {
  return std::make_unique<sim::HopfieldDevice>(std::move(spec));
}

}  // namespace

DeviceType hopfield_device_type() {
  DeviceType t =
      typed_device_type<sim::HopfieldSpec>("hopfield", parse, sim::hopfield_spec_to_json, build);
  t.make_data_parallel = [](const nlohmann::json& section, std::size_t batch,
                            std::shared_ptr<ReplicaGroup> group) -> std::unique_ptr<Device> {
    return std::make_unique<sim::HopfieldDevice>(parse(section, batch), std::move(group));
  };
  return t;
}

}  // namespace aeqlab::cli
