#include "core/device.hpp"

#include "core/error.hpp"

namespace aeqlab {

std::size_t DeviceDescription::parameter_count() const {
  std::size_t n = 0;
  for (const auto& g : parameters) n += g.channels.count;
  return n;
}

std::size_t DeviceDescription::knob_count() const {
  std::size_t n = 0;
  for (const auto& g : knobs) n += g.count;
  return n;
}

SettleReport Device::settle_homeostatic() {
  throw DeviceError(describe().model + " has no native homeostasis; use the feedback homeostat");
}

void Device::set_compliance(std::size_t, double) {
  throw DeviceError(describe().model + " cannot adjust its compliance");
}

void Device::write_parameters(std::span<const double>) {
  throw DeviceError(describe().model + " has no settable parameters");
}

void Device::read_probes(std::span<double>) {
  throw DeviceError(describe().model + " has no local probes");
}

void Device::save_snapshot(std::ostream&) const {
  throw DeviceError(describe().model + " cannot save a snapshot of its state");
}

void Device::restore_snapshot(std::istream&) {
  throw DeviceError(describe().model + " cannot restore a snapshot of its state");
}

}  // namespace aeqlab
