#pragma once
// The SPICE netlist subset aeqlab's circuits need, both ways: R, D with `.model NAME D(IS= N=)`,
// V and I (DC), subcircuits (`.subckt`, `X`), `.param` and `{expressions}`, `.include` and
// `.lib`, comments, `+` continuation lines, engineering suffixes (f p n u m k meg g t mil),
// `.title`, `.end`; analysis and output cards and `.control` blocks are skipped, so an ngspice
// deck reads. Reading goes through three stages: netlist_deck.hpp (files, lines, tokens),
// netlist_flatten.hpp (subcircuits, parameters), then the elements here. An ideal diode is
// `.model NAME D(IDEAL=1)`: aeqlab's own extension, which write_netlist writes as it is and
// aeqlab reads back, but SPICE refuses. docs/circuit.md lists what is read and what is refused.

#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

#include "sim/circuit/circuit.hpp"
#include "sim/circuit/netlist_deck.hpp"

namespace aeqlab::sim {

// Parse errors are DataError naming `source` (or the included file), the line number and the
// token. `element_where`, if given, receives each element's card as "file:line" (see
// NetlistDeck::where), in the order of Circuit::elements.
Circuit read_netlist(std::istream& in, const std::string& source, const NetlistLimits& limits = {},
                     std::vector<std::string>* element_where = nullptr);
Circuit load_netlist(const std::filesystem::path& file,
                     std::vector<std::string>* element_where = nullptr);

// Values with 17 significant digits, so reading back gives the same circuit bit for bit.
void write_netlist(const Circuit& circuit, std::ostream& out);
void save_netlist(const Circuit& circuit, const std::filesystem::path& file);

// A SPICE number: "4.7k", "1meg", "10u", "2.5e-3", "1kohm" (letters after a suffix ignored, as
// SPICE does). Returns false when `text` does not start with a number.
bool parse_spice_number(std::string_view text, double& value);

// A resistance in ohms, as the conductance aeqlab stores: 1/R taken in long double, so the ohms
// the writer prints with 17 digits always come back to the same conductance. False unless the
// text is a positive, finite resistance whose conductance is positive and finite.
bool parse_spice_conductance(std::string_view ohms, double& conductance);

}  // namespace aeqlab::sim
