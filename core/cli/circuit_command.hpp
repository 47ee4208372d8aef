#pragma once
// `aeqlab circuit op FILE` and `aeqlab circuit dc FILE SOURCE START STOP STEP`: a SPICE netlist's
// DC operating point and DC sweep, solved by aeqlab's circuit solver, printed so they can be
// set beside ngspice's (docs/circuit.md).

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

namespace aeqlab::cli {

struct CircuitDcOptions {
  std::filesystem::path netlist;
  std::string source;  // a V or I element of the netlist
  // As typed, SPICE numbers allowed ("10m"): parsed by the command, so a bad one is named.
  std::string start, stop, step;
  bool time = false;  // the solve loop's timing on `err`
  // "auto", "layered" or "sparse": the solver's factorisation (docs/circuit.md, "Sparse and
  // layered solves").
  std::string factorisation = "auto";
};

// Every node's voltage but ground, one per line ("name voltage", 12 significant digits). A parse
// error is a DataError (exit 2 in main); a solve that does not converge returns 1 with the reason
// on `err`.
int circuit_op_command(const std::filesystem::path& netlist, std::ostream& out, std::ostream& err,
                       const std::string& factorisation = "auto");

// A header "SOURCE node1 node2 ..." then one row per point: the source's value and the node
// voltages, each point solved from the previous one's solution. With `time`, the solve loop's
// time and the factorisation used on `err`.
int circuit_dc_command(const CircuitDcOptions& options, std::ostream& out, std::ostream& err);

// The circuit a session trained (device type circuit or netlist), as a SPICE netlist: its
// conductances as built (a potentiometer's tap times its own tolerance), inputs at 0 V (sources
// Vinp1, Vinn1, ... for the layered circuit; the lab's own names for a netlist).
int circuit_export_command(const std::filesystem::path& session_dir,
                           const std::optional<std::filesystem::path>& out_file, std::ostream& out);

}  // namespace aeqlab::cli
