// Fuzz target: the SPICE netlist reader (sim/circuit/circuit_netlist): any text is read into a
// circuit or refused with a DataError naming the line; a circuit read is written back out (or
// refused for a name SPICE cannot hold). docs/fuzzing.md.

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "core/error.hpp"
#include "sim/circuit/circuit_netlist.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    const auto circuit = aeqlab::sim::read_netlist(in, "fuzz.cir");
    std::ostringstream out;
    aeqlab::sim::write_netlist(circuit, out);
  } catch (const aeqlab::DataError&) {
  } catch (const aeqlab::ConfigError&) {
  }
  return 0;
}
