#include "core/cli/bench_reset.hpp"

#include <utility>  // before Asio, whatever includes it (docs/architecture.md, "Build facts")

#include <chrono>
#include <string>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include "core/config.hpp"
#include "drivers/address.hpp"
#include "drivers/scpi_session.hpp"
#include "drivers/transport.hpp"
#include "instruments/bench_config.hpp"
#include "sim/virtual_bench/virtual_physics.hpp"

namespace aeqlab::cli {

std::size_t reset_virtual_bench(const nlohmann::json& device) {
  const nlohmann::json& b = device.at("bench");
  const instruments::BenchConfig bench =
      instruments::parse_bench(b.is_string() ? read_json_file(b.get<std::string>()) : b,
                               b.is_string() ? b.get<std::string>() : "device.bench");
  // One physics sits behind every instrument of a virtual bench: one *RST resets it all.
  for (const auto& ic : bench.instruments) {
    if (!sim::virtual_instrument_kind(ic.profile)) continue;
    const auto timeout = std::chrono::milliseconds(static_cast<long>(ic.timeout_s * 1000));
    try {
      drivers::ScpiOptions options;
      options.timeout = timeout;
      drivers::ScpiSession scpi(
          ic.name, drivers::open_transport(drivers::parse_address(ic.address), timeout), options);
      scpi.write("*RST");
      scpi.wait_complete();
    } catch (const std::exception& e) {
      // Opening the bench next names every instrument it cannot reach; the reset only warns.
      spdlog::warn(
          "virtual bench: not reset (instrument \"{}\" at {}: {}); the session starts "
          "from wherever the bench is",
          ic.name, ic.address, e.what());
      return 0;
    }
    spdlog::info("virtual bench: reset to its initial state (*RST to \"{}\") before the session",
                 ic.name);
    return 1;
  }
  return 0;
}

}  // namespace aeqlab::cli
