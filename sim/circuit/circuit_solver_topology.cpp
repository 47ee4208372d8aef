// Analysing a circuit once per topology: the elements by kind, the nodes sources fix, and the
// split of the free nodes that keeps the dense block small, or the sparse pattern when that
// block would not be small.

#include "sim/circuit/circuit_solver_impl.hpp"

#include <algorithm>
#include <deque>

#include "core/error.hpp"

namespace aeqlab::sim {

using namespace solver_detail;

void CircuitSolver::Impl::analyse(const std::vector<std::pair<std::size_t, std::size_t>>& nudged) {
  const auto& c = circuit;
  const std::size_t n = c.nodes.size();
  for (std::size_t e = 0; e < c.elements.size(); ++e) {
    const auto& el = c.elements[e];
    if (el.a >= n || el.b >= n)
      throw DataError(fmt::format("circuit: element {} joins a node that does not exist", el.name));
    // In the order of ElementKind.
    std::vector<std::size_t>* const by_kind[] = {&resistors, &diodes, &voltage_sources,
                                                 &current_sources};
    by_kind[static_cast<std::size_t>(el.kind)]->push_back(e);
  }
  // Ideal or Shockley: one kind per circuit.
  std::size_t ideal_count = 0;
  for (std::size_t d : diodes) {
    const auto m = c.elements[d].model;
    if (m >= c.models.size())
      throw DataError(fmt::format("circuit: diode {} has no model", c.elements[d].name));
    if (c.models[m].ideal) ++ideal_count;
  }
  if (ideal_count != 0 && ideal_count != diodes.size())
    throw DataError(
        "circuit: ideal and Shockley diodes are mixed; the solver takes one kind per circuit");
  ideal = ideal_count != 0;
  const double vt = boltzmann * settings.temperature / electron_charge;
  for (std::size_t d : diodes) {
    const auto& m = c.models[c.elements[d].model];
    if (!ideal && (!(m.saturation_current > 0.0) || !(m.emission > 0.0)))
      throw DataError(fmt::format("circuit: diode model {} needs IS > 0 and N > 0", m.name));
    diode_law.push_back({m.saturation_current, m.emission * vt, settings.gmin, m.ideal});
    diode_ends.push_back({c.elements[d].a, c.elements[d].b});
  }

  // Fixed nodes: ground, then whatever voltage sources tie to a fixed node, breadth first.
  place.assign(n, Place{Side::b, 0});
  std::vector<char> fixed(n, 0);
  fixed[0] = 1;
  std::vector<char> used(c.elements.size(), 0);
  std::deque<std::size_t> queue{0};
  while (!queue.empty()) {
    const std::size_t node = queue.front();
    queue.pop_front();
    for (std::size_t e : voltage_sources) {
      if (used[e]) continue;
      const auto& el = c.elements[e];
      if (el.a != node && el.b != node) continue;
      used[e] = 1;
      const std::size_t other = el.a == node ? el.b : el.a;
      if (fixed[other])
        throw DataError(fmt::format("circuit: voltage source {} closes a loop of voltage sources",
                                    element_label(c, e)));
      fixed[other] = 1;
      // v_a - v_b = value: a = b + value, b = a - value.
      fixed_order.push_back({other, node, e, el.a == other ? 1.0 : -1.0});
      queue.push_back(other);
    }
  }
  for (std::size_t e : voltage_sources)
    if (!used[e])
      throw DataError(fmt::format(
          "circuit: voltage source {} floats: neither end reaches ground through voltage "
          "sources, which the solver needs",
          element_label(c, e)));

  // Couplings between free nodes (resistors, diodes, nudged pairs) decide the split: A is a
  // greedy independent set taken in order of rising degree, so a layered network's wide hidden
  // layers land in A and the Schur complement lives on the few nodes left.
  std::vector<std::vector<std::size_t>> adjacent(n);
  auto couple = [&](std::size_t p, std::size_t q) {
    if (p == q || fixed[p] || fixed[q]) return;
    adjacent[p].push_back(q);
    adjacent[q].push_back(p);
  };
  for (std::size_t e : resistors) couple(c.elements[e].a, c.elements[e].b);
  for (std::size_t e : diodes) couple(c.elements[e].a, c.elements[e].b);
  for (auto [p, q] : nudged) {
    if (p >= n || q >= n) throw DataError("circuit: a nudged node does not exist");
    couple(p, q);
  }
  std::vector<std::size_t> connected(n, 0);
  for (std::size_t e : resistors) {
    const auto& el = c.elements[e];
    if (el.a != el.b) connected[el.a] = connected[el.b] = 1;
  }
  for (std::size_t e : diodes) {
    const auto& el = c.elements[e];
    if (el.a != el.b) connected[el.a] = connected[el.b] = 1;
  }
  std::vector<std::size_t> order;
  for (std::size_t i = 1; i < n; ++i) {
    if (fixed[i]) continue;
    if (!connected[i])
      throw DataError(fmt::format(
          "circuit: node {} has no resistor or diode, so its voltage is undefined", c.nodes[i]));
    order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t p, std::size_t q) {
    return adjacent[p].size() < adjacent[q].size();
  });
  std::vector<char> in_a(n, 0), blocked(n, 0);
  for (std::size_t i : order) {
    if (blocked[i]) continue;
    in_a[i] = 1;
    for (std::size_t j : adjacent[i]) blocked[j] = 1;
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (fixed[i]) {
      place[i] = {Side::fixed, f_nodes.size()};
      f_nodes.push_back(i);
    }
  }
  for (std::size_t i = 1; i < n; ++i) {
    if (fixed[i]) continue;
    if (in_a[i]) {
      place[i] = {Side::a, a_nodes.size()};
      a_nodes.push_back(i);
    }
  }
  for (std::size_t i = 1; i < n; ++i) {
    if (fixed[i] || in_a[i]) continue;
    place[i] = {Side::b, b_nodes.size()};
    b_nodes.push_back(i);
  }
  choose_factorisation(adjacent);

  // Ideal diodes bound one free node each.
  if (ideal) {
    for (std::size_t d : diodes) {
      const auto& el = c.elements[d];
      if (!fixed[el.a] && !fixed[el.b])
        throw DataError(fmt::format(
            "circuit: ideal diode {} joins two free nodes; the exact solve needs every ideal "
            "diode to end at a node a source fixes (use a Shockley model for this circuit)",
            element_label(c, d)));
    }
  }

  const std::size_t na = a_nodes.size(), nb = b_nodes.size(), nf = f_nodes.size();
  g_ab = Matrix::Zero(na, nb);
  g_af = Matrix::Zero(na, nf);
  if (!sparse) {  // the sparse path keeps these blocks sparse (circuit_solver_sparse.cpp)
    g_bb = Matrix::Zero(nb, nb);
    g_bf = Matrix::Zero(nb, nf);
  }
  d_a0 = Vector::Zero(na);
  d_b0 = Vector::Zero(nb);
  v_fixed = Vector::Zero(nf);
  volts.assign(n, 0.0);
}

}  // namespace aeqlab::sim
