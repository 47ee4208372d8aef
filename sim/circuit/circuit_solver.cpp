// The solver's public operations, and the current through every element at a solution.

#include "sim/circuit/circuit_solver_impl.hpp"

#include <algorithm>
#include <memory>

#include "core/error.hpp"

namespace aeqlab::sim {

using namespace solver_detail;

CircuitSolver::CircuitSolver(const Circuit& circuit, SolveSettings settings,
                             std::vector<std::pair<std::size_t, std::size_t>> nudged)
    : impl_(std::make_unique<Impl>()) {
  impl_->circuit = circuit;
  impl_->settings = settings;
  impl_->analyse(nudged);
}

CircuitSolver::~CircuitSolver() = default;
CircuitSolver::CircuitSolver(CircuitSolver&&) noexcept = default;
CircuitSolver& CircuitSolver::operator=(CircuitSolver&&) noexcept = default;

const Circuit& CircuitSolver::circuit() const {
  return impl_->circuit;
}
bool CircuitSolver::ideal() const {
  return impl_->ideal;
}
Factorisation CircuitSolver::factorisation() const {
  return impl_->sparse ? Factorisation::sparse : Factorisation::layered;
}

SolveResult CircuitSolver::solve(std::span<const double> values, std::span<double> voltages,
                                 std::span<const NudgeTerm> nudges, bool conductances_unchanged) {
  if (voltages.size() != impl_->circuit.nodes.size())
    throw DeviceError(fmt::format("circuit: {} voltages given for {} nodes", voltages.size(),
                                  impl_->circuit.nodes.size()));
  impl_->prepare(values, nudges, conductances_unchanged);
  return impl_->ideal ? impl_->solve_ideal(voltages, nudges)
                      : impl_->solve_shockley(voltages, nudges);
}

void CircuitSolver::element_currents(std::span<const double> values,
                                     std::span<const double> voltages,
                                     std::span<double> currents) const {
  const auto& c = impl_->circuit;
  const std::size_t n = c.nodes.size();
  // Net current leaving each node through the elements handled so far; sources and ideal
  // diodes then carry whatever balances their node (KCL).
  std::vector<double> leaving(n, 0.0);
  std::fill(currents.begin(), currents.end(), 0.0);
  std::size_t diode = 0;  // diodes come in element order in impl_->diodes
  for (std::size_t e = 0; e < c.elements.size(); ++e) {
    const auto& el = c.elements[e];
    const double v = voltages[el.a] - voltages[el.b];
    double i = 0.0;
    if (el.kind == ElementKind::resistor) {
      i = values[e] * v;
    } else if (el.kind == ElementKind::current_source) {
      i = values[e];
    } else if (el.kind == ElementKind::diode && !impl_->ideal) {
      double content, conductance;
      if (!impl_->diode_law[diode++].evaluate(v, content, i, conductance)) i = infinity;
    } else {
      continue;
    }
    currents[e] = i;
    leaving[el.a] += i;
    leaving[el.b] -= i;
  }
  // An ideal diode at a free node carries the node's imbalance (the first one on a bound).
  if (impl_->ideal) {
    std::vector<char> served(n, 0);
    for (std::size_t e : impl_->diodes) {
      const auto& el = c.elements[e];
      const bool a_free = impl_->place[el.a].side != Side::fixed;
      const bool b_free = impl_->place[el.b].side != Side::fixed;
      if (a_free == b_free) continue;
      const std::size_t node = a_free ? el.a : el.b;
      if (served[node] || voltages[el.a] != voltages[el.b]) continue;
      served[node] = 1;
      // Current from a to b: out of the free anode, or into the free cathode.
      const double i = a_free ? -leaving[node] : leaving[node];
      currents[e] = i;
      leaving[el.a] += i;
      leaving[el.b] -= i;
    }
  }
  // Voltage sources, leaves first (reverse breadth-first order): the source feeding a fixed node
  // carries that node's imbalance.
  for (auto it = impl_->fixed_order.rbegin(); it != impl_->fixed_order.rend(); ++it) {
    const auto& el = c.elements[it->element];
    const double into_node = -leaving[it->node];  // what the source must take out of the node
    // Source current flows a -> b through the source; out of node a means +i at a.
    const double i = it->node == el.a ? into_node : -into_node;
    currents[it->element] = i;
    leaving[el.a] += i;
    leaving[el.b] -= i;
  }
}

}  // namespace aeqlab::sim
