#include "sim/circuit/circuit.hpp"

#include <algorithm>
#include <cctype>
#include <iterator>

#include "core/error.hpp"

namespace aeqlab::sim {

namespace {

// SPICE folds case in every name (ngspice lowercases the whole deck), so "Vin" and "VIN" are one.
bool same_name(std::string_view x, std::string_view y) {
  return x.size() == y.size() && std::equal(x.begin(), x.end(), y.begin(), [](char p, char q) {
           return std::tolower(static_cast<unsigned char>(p)) ==
                  std::tolower(static_cast<unsigned char>(q));
         });
}

bool is_ground(std::string_view name) {
  return name == "0" || same_name(name, "gnd");
}

}  // namespace

KindNames names_of(ElementKind kind) {
  // In the order of ElementKind.
  static constexpr KindNames kNames[] = {
      {"resistor", 'r'}, {"diode", 'd'}, {"voltage source", 'v'}, {"current source", 'i'}};
  const auto k = static_cast<std::size_t>(kind);
  return k < std::size(kNames) ? kNames[k] : KindNames{"element", '?'};
}

std::size_t Circuit::node(std::string_view name) {
  if (name.empty()) throw DataError("circuit '" + title + "': a node needs a name");
  if (auto found = find_node(name)) return *found;
  nodes.emplace_back(name);
  return nodes.size() - 1;
}

std::optional<std::size_t> Circuit::find_node(std::string_view name) const {
  if (is_ground(name)) return 0;
  // Linear: circuits have hundreds of nodes, and the netlist reader keeps its own index for the
  // thousands of lookups a large deck makes.
  for (std::size_t i = 1; i < nodes.size(); ++i)
    if (same_name(nodes[i], name)) return i;
  return std::nullopt;
}

std::optional<std::size_t> Circuit::find_element(std::string_view name) const {
  for (std::size_t i = 0; i < elements.size(); ++i)
    if (same_name(elements[i].name, name)) return i;
  return std::nullopt;
}

std::optional<std::size_t> Circuit::find_model(std::string_view name) const {
  for (std::size_t i = 0; i < models.size(); ++i)
    if (same_name(models[i].name, name)) return i;
  return std::nullopt;
}

std::size_t Circuit::add(ElementKind kind, std::string name, std::size_t a, std::size_t b,
                         double value, std::size_t model) {
  // Checked here rather than trusted, so a bad index fails where it is made, naming the element,
  // instead of deep inside a solve. Duplicate names are the reader's to catch: checking them here
  // would make building a large circuit quadratic.
  if (a >= nodes.size() || b >= nodes.size())
    throw DataError(std::string(names_of(kind).name) + " '" + name + "': node index " +
                    std::to_string(std::max(a, b)) + " does not exist (the circuit has " +
                    std::to_string(nodes.size()) + " nodes)");
  if (kind == ElementKind::diode && model >= models.size())
    throw DataError("diode '" + name + "': model index " + std::to_string(model) +
                    " does not exist (the circuit has " + std::to_string(models.size()) +
                    " models)");
  elements.push_back(Element{kind, std::move(name), a, b, value, model});
  return elements.size() - 1;
}

}  // namespace aeqlab::sim
