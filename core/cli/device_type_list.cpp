// The device types of the `aeqlab` program, one registration line each. An explicit list rather
// than self-registering static objects: a static library drops an object file nothing refers to,
// and its registration with it.

#include "core/cli/device_types.hpp"

namespace aeqlab::cli {

// Each defined in core/cli/devices/<name>.cpp.
DeviceType hopfield_device_type();
DeviceType circuit_device_type();
DeviceType bench_device_type();
DeviceType netlist_device_type();

const std::vector<DeviceType>& device_types() {
  static const std::vector<DeviceType> types = {
      hopfield_device_type(),
      circuit_device_type(),
      bench_device_type(),
      netlist_device_type(),
  };
  return types;
}

}  // namespace aeqlab::cli
