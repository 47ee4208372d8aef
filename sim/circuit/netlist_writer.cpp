// The netlist writer: a circuit as a SPICE deck that reads back bit for bit (docs/circuit.md,
// "Writing netlists").

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <ostream>
#include <sstream>
#include <unordered_set>

#include "core/error.hpp"
#include "sim/circuit/circuit_netlist.hpp"
#include "sim/circuit/netlist_deck.hpp"

namespace aeqlab::sim {

namespace {

// Names SPICE reads back as one token: no separators, nothing its parser treats specially.
void check_name(const std::string& name, const std::string& what) {
  const bool bad = name.empty() || name.front() == '+' || name.front() == '*' ||
                   name.front() == '.' || std::any_of(name.begin(), name.end(), [](char c) {
                     return std::isspace(static_cast<unsigned char>(c)) || c == ',' || c == '(' ||
                            c == ')' || c == '=' || c == ';';
                   });
  if (bad) throw DataError(what + " " + netlist_quote(name) + " cannot be written as a SPICE name");
}

std::string format_double(double v) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%.17g", v);
  return buffer;
}

// The fewest digits (up to 17, which always suffice) whose reciprocal reads back bit for bit,
// so a resistor read as "4.7k" is written as "4700".
std::string format_ohms(const std::string& name, double conductance) {
  const long double ohms = 1.0L / static_cast<long double>(conductance);
  char buffer[48];
  for (int digits : {15, 16, 17, 21}) {
    std::snprintf(buffer, sizeof buffer, "%.*Lg", digits, ohms);
    double back = 0.0;
    if (parse_spice_conductance(buffer, back) && back == conductance) return buffer;
  }
  throw DataError("resistor " + netlist_quote(name) + ": conductance " +
                  format_double(conductance) + " S does not survive writing as ohms");
}

}  // namespace

void write_netlist(const Circuit& circuit, std::ostream& out) {
  std::string title = circuit.title;
  std::replace(title.begin(), title.end(), '\n', ' ');
  std::replace(title.begin(), title.end(), '\r', ' ');
  std::ostringstream s;
  s << title << "\n";
  // aeqlab's extension: aeqlab reads it back; SPICE ignores the parameter without failing, so
  // the file says what the reader of a SPICE run would otherwise not see (docs/circuit.md).
  if (std::any_of(circuit.models.begin(), circuit.models.end(),
                  [](const DiodeModel& m) { return m.ideal; }))
    s << "* IDEAL=1 is aeqlab's ideal diode: no drop forward, no current backward.\n"
         "* SPICE does not know IDEAL and ignores it: ngspice simulates these models as its\n"
         "* default Shockley diode (IS=1e-14 N=1) instead; see docs/circuit.md.\n";
  for (const auto& m : circuit.models) {
    check_name(m.name, "model");
    if (m.ideal) {
      s << ".model " << m.name << " D(IDEAL=1)\n";
    } else {
      s << ".model " << m.name << " D(IS=" << format_double(m.saturation_current)
        << " N=" << format_double(m.emission) << ")\n";
    }
  }
  for (std::size_t i = 1; i < circuit.nodes.size(); ++i) check_name(circuit.nodes[i], "node");
  std::unordered_set<std::string> names;
  for (const auto& e : circuit.elements) {
    check_name(e.name, "element");
    if (std::tolower(static_cast<unsigned char>(e.name.front())) != names_of(e.kind).letter)
      throw DataError("element " + netlist_quote(e.name) +
                      ": SPICE knows it by its first letter, " + "which must be " +
                      std::string(1, static_cast<char>(std::toupper(names_of(e.kind).letter))));
    if (!names.insert(netlist_lower(e.name)).second)
      throw DataError("element " + netlist_quote(e.name) + " appears twice in the circuit");
    if (e.a >= circuit.nodes.size() || e.b >= circuit.nodes.size())
      throw DataError("element " + netlist_quote(e.name) + ": node index out of range");
    s << e.name << ' ' << circuit.nodes[e.a] << ' ' << circuit.nodes[e.b] << ' ';
    switch (e.kind) {
      case ElementKind::resistor:
        if (!(e.value > 0.0) || !std::isfinite(e.value))
          throw DataError("resistor " + netlist_quote(e.name) + ": conductance " +
                          format_double(e.value) + " S is not positive and finite");
        s << format_ohms(e.name, e.value);
        break;
      case ElementKind::diode:
        if (e.model >= circuit.models.size())
          throw DataError("diode " + netlist_quote(e.name) + ": model index out of range");
        s << circuit.models[e.model].name;
        break;
      case ElementKind::voltage_source:
      case ElementKind::current_source:
        if (!std::isfinite(e.value))
          throw DataError("source " + netlist_quote(e.name) + ": value is not finite");
        s << "DC " << format_double(e.value);
        break;
    }
    s << '\n';
  }
  s << ".end\n";
  out << s.str();
}

void save_netlist(const Circuit& circuit, const std::filesystem::path& file) {
  std::ostringstream s;
  write_netlist(circuit, s);
  std::ofstream out(file, std::ios::binary);
  out << s.str();
  out.flush();
  if (!out) throw DataError("cannot write netlist '" + file.string() + "'");
}

}  // namespace aeqlab::sim
