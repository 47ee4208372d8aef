// `device.type: "hopfield"`: the layered Hopfield network simulated in-process (sim/hopfield).

#include <spdlog/spdlog.h>

#include "core/cli/device_types.hpp"
#include "core/cpu_cores.hpp"
#include "sim/hopfield/hopfield_device.hpp"
#include "sim/hopfield/thread_choice.hpp"

namespace aeqlab::cli {

namespace {

sim::HopfieldSpec parse(const nlohmann::json& device, std::size_t batch_size) {
  nlohmann::json section = device;
  if (!section.contains("replicas")) section["replicas"] = batch_size;
  return sim::hopfield_spec_from_json(section);
}

// Says how many threads the simulation took and why (device.threads, "auto" by default).
std::unique_ptr<Device> announced(std::unique_ptr<sim::HopfieldDevice> d, std::size_t ranks_here) {
  if (d->spec().threads == 0 && sim::threads_worth(d->spec()) <= 1)
    spdlog::info(
        "hopfield: 1 simulation thread (device.threads auto: {} core(s); a sweep of this network "
        "is too short to split)",
        cores_available());
  else if (d->spec().threads == 0)
    spdlog::info(
        "hopfield: {} simulation thread(s) (device.threads auto: {} core(s), {} idle, {} "
        "rank(s) on this machine)",
        d->threads(), cores_available(), cores_idle(), ranks_here);
  else
    spdlog::info("hopfield: {} simulation thread(s) (device.threads)", d->threads());
  return d;
}

std::unique_ptr<Device> build(sim::HopfieldSpec spec) {
  return announced(std::make_unique<sim::HopfieldDevice>(std::move(spec)), 1);
}

}  // namespace

DeviceType hopfield_device_type() {
  DeviceType t =
      typed_device_type<sim::HopfieldSpec>("hopfield", parse, sim::hopfield_spec_to_json, build);
  t.make_data_parallel = [](const nlohmann::json& section, std::size_t batch,
                            std::shared_ptr<ReplicaGroup> group) -> std::unique_ptr<Device> {
    const std::size_t here = group ? group->size_here() : 1;
    return announced(std::make_unique<sim::HopfieldDevice>(parse(section, batch), std::move(group)),
                     here);
  };
  return t;
}

}  // namespace aeqlab::cli
