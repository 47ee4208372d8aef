// Fuzz target: the SPICE netlist reader (sim/circuit/circuit_netlist and the deck, expression
// and subcircuit stages behind it): any text is read into a circuit or refused with a DataError
// naming the line; a circuit read is written back out (or refused for a name SPICE cannot hold).
// `.include cell.inc` and `.lib models.lib typ` find two small files this harness writes once
// into a folder of its own, so the include paths are exercised too. docs/fuzzing.md.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <unistd.h>

#include "core/error.hpp"
#include "sim/circuit/circuit_netlist.hpp"

namespace {

// The folder the fuzzed deck "lives" in, with the files its includes may name.
std::string deck_path() {
  static const std::string path = [] {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("aeqlab-fuzz-netlist-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "cell.inc") << "* a cell\n.subckt cell a b params: r=1k\nR1 a n {r}\n"
                                       "D1 n b dm\n.ends cell\n.model dm D(IS=1e-14 N=1)\n";
    std::ofstream(dir / "models.lib") << "* lib\n.lib typ\n.param rl=2k\n.model dl D(IS=1e-12)\n"
                                         ".endl typ\n.lib bad\n.include models.lib\n.endl\n";
    return (dir / "fuzz.cir").string();
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  // Smaller bounds than a lab's, so an input that multiplies subcircuits is refused within
  // libFuzzer's time and memory limits; the bounds themselves are the same code.
  aeqlab::sim::NetlistLimits limits;
  limits.cards = 200000;
  limits.bytes = std::size_t{1} << 22;
  try {
    const auto circuit = aeqlab::sim::read_netlist(in, deck_path(), limits);
    std::ostringstream out;
    aeqlab::sim::write_netlist(circuit, out);
  } catch (const aeqlab::DataError&) {
  } catch (const aeqlab::ConfigError&) {
  }
  return 0;
}
