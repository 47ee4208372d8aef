#pragma once
// A resistive circuit as a lab draws it: nodes, and resistors, diodes and sources between them.
// The same picture a SPICE netlist describes, so circuits move between aeqlab and SPICE.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aeqlab::sim {

// SPICE's `D` model, or an ideal diode (no drop forward, no current backward).
struct DiodeModel {
  std::string name;
  bool ideal = false;
  double saturation_current = 1e-14;  // IS, amperes
  double emission = 1.0;              // N
};

enum class ElementKind { resistor, diode, voltage_source, current_source };

// How an element kind is called in messages ("voltage source") and its SPICE letter ('v').
struct KindNames {
  const char* name;
  char letter;
};
KindNames names_of(ElementKind kind);

// Between nodes a and b (0 is ground). A diode's anode is a, its cathode b. A voltage source
// holds v_a - v_b = value. A current source drives `value` amperes from a through itself to b
// (SPICE's convention: it takes current out of a and puts it into b).
struct Element {
  ElementKind kind = ElementKind::resistor;
  std::string name;  // as in the netlist, e.g. "R12", "D3", "Vin1"
  std::size_t a = 0;
  std::size_t b = 0;
  double value = 0.0;     // resistor: conductance in siemens; sources: volts or amperes
  std::size_t model = 0;  // diode: index into Circuit::models
};

struct Circuit {
  std::string title;
  std::vector<std::string> nodes{"0"};  // node 0 is ground
  std::vector<Element> elements;
  std::vector<DiodeModel> models;

  // The node with this name, added if new ("0" and "gnd" are ground).
  std::size_t node(std::string_view name);
  std::optional<std::size_t> find_node(std::string_view name) const;
  std::optional<std::size_t> find_element(std::string_view name) const;
  std::optional<std::size_t> find_model(std::string_view name) const;
  std::size_t add(ElementKind kind, std::string name, std::size_t a, std::size_t b, double value,
                  std::size_t model = 0);
};

}  // namespace aeqlab::sim
