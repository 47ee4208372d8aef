#pragma once
// The second stage of the netlist reader: `.subckt` definitions expanded at their `X`
// instances and `.param` values and `{expressions}` evaluated, so what remains is the cards of
// one flat circuit. Names follow ngspice's: inside instance X1 of a subcircuit, node `n` is
// `x1.n` and resistor `R1` is `r.x1.r1`; nested instances chain (`x1.x2.n`, `r.x1.x2.r1`).
// docs/circuit.md, "Subcircuits" and "Parameters and expressions".

#include <vector>

#include "sim/circuit/netlist_deck.hpp"

namespace aeqlab::sim {

// The deck's element, `.model` and other dot cards, flattened: names and nodes of instances
// renamed, expression tokens evaluated (NetlistToken::evaluated). `.subckt`, `.ends`, `.param`,
// `.global` and `X` cards are consumed. Mistakes are DataError naming the file and line.
std::vector<NetlistCard> flatten_netlist(const NetlistDeck& deck, const NetlistLimits& limits);

}  // namespace aeqlab::sim
