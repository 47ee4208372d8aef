#pragma once
// Private to the bench device (instruments/bench_device.cpp, bench_flush.cpp, bench_readback.cpp,
// bench_verify.cpp, incremental_steps.cpp).

#include <cstddef>
#include <vector>

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"
#include "drivers/errors.hpp"
#include "instruments/bench_device.hpp"

namespace aeqlab::instruments {

// A set role's channels on each instrument, what was last written there, and what waits to go.
struct BenchDevice::RoleState {
  const ChannelRole* role = nullptr;
  struct Part {
    std::size_t instrument = 0;
    std::vector<int> channels;
    std::size_t offset = 0;  // into the role's flat values
  };
  std::vector<Part> parts;
  std::vector<double> last;  // last written (NaN = unknown)
  std::vector<double> staged;
  bool pending = false;
};

// A wire failure as the device reports it: the bench, what it was doing, and the transport's own
// words (instrument, address, command).
template <class F>
auto BenchDevice::on_the_wire(const char* what, F&& f) {
  try {
    return f();
  } catch (const drivers::TransportError& e) {
    throw DeviceError(fmt::format("{}: {} failed: {}", bench_.name, what, e.what()));
  }
}

}  // namespace aeqlab::instruments
