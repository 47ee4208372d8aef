// The exact loss gradient, by implicit differentiation through the Kirchhoff equations.

#include "sim/circuit/circuit_solver_impl.hpp"

#include <algorithm>

namespace aeqlab::sim {

using namespace solver_detail;

void CircuitSolver::loss_gradient(std::span<const double> values, std::span<const double> voltages,
                                  std::span<const NudgeTerm> outputs,
                                  std::span<double> gradient) const {
  auto& m = *impl_;
  m.prepare(values, {});
  const std::size_t na = m.a_nodes.size(), nb = m.b_nodes.size();
  Vector va, vb;
  m.gather(voltages, va, vb);
  m.evaluate(va, vb, {}, m.grad_a, m.grad_b, true);
  // Nodes an ideal diode holds do not move with the conductances.
  std::vector<char> pinned(na + nb, 0);
  if (m.ideal)
    for (std::size_t i = 0; i < na + nb; ++i) {
      const double v = i < na ? va[i] : vb[i - na];
      pinned[i] = v <= m.low[i] || v >= m.high[i];
    }
  // Solve H lambda = dL/dv with the Newton machinery: it computes step = -H^-1 grad.
  m.grad_a = Vector::Zero(na);
  m.grad_b = Vector::Zero(nb);
  for (const auto& o : outputs) {
    const double gap = m.node_voltage(o.a, va, vb) - m.node_voltage(o.b, va, vb) - o.target;
    const Place p = m.place[o.a], q = m.place[o.b];
    if (p.side == Side::a) m.grad_a[p.index] += gap;
    if (p.side == Side::b) m.grad_b[p.index] += gap;
    if (q.side == Side::a) m.grad_a[q.index] -= gap;
    if (q.side == Side::b) m.grad_b[q.index] -= gap;
  }
  for (std::size_t i = 0; i < na + nb; ++i)
    if (pinned[i]) (i < na ? m.grad_a[i] : m.grad_b[i - na]) = 0.0;
  m.factor_and_solve(&pinned);
  std::vector<double> lambda(m.circuit.nodes.size(), 0.0);
  for (std::size_t i = 0; i < na; ++i) lambda[m.a_nodes[i]] = -m.step_a[i];
  for (std::size_t j = 0; j < nb; ++j) lambda[m.b_nodes[j]] = -m.step_b[j];
  std::fill(gradient.begin(), gradient.end(), 0.0);
  for (std::size_t e : m.resistors) {
    const auto& el = m.circuit.elements[e];
    gradient[e] = -(lambda[el.a] - lambda[el.b]) * (voltages[el.a] - voltages[el.b]);
  }
}

}  // namespace aeqlab::sim
