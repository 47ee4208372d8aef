// `device.type: "netlist"`: a lab's own SPICE netlist as the circuit device (sim/circuit;
// docs/circuit-device.md, "Your own netlist").

#include "core/cli/device_types.hpp"
#include "sim/circuit/circuit_device.hpp"

namespace aeqlab::cli {

namespace {

sim::CircuitSpec parse(const nlohmann::json& device, std::size_t batch_size) {
  nlohmann::json section = device;
  if (!section.contains("replicas")) section["replicas"] = batch_size;
  return sim::netlist_spec_from_json(section);
}

std::unique_ptr<Device> build(sim::CircuitSpec spec) {
  return std::make_unique<sim::CircuitDevice>(std::move(spec));
}

}  // namespace

DeviceType netlist_device_type() {
  return typed_device_type<sim::CircuitSpec>("netlist", parse, sim::netlist_spec_to_json, build);
}

}  // namespace aeqlab::cli
