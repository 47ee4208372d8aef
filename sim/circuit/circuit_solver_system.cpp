// The co-content on the A/B split: conductance blocks (rebuilt only when a resistor changes),
// what the sources drive, the ideal diodes' bounds, and the energy, gradient and Hessian at a
// point.

#include "sim/circuit/circuit_solver_impl.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.hpp"

namespace aeqlab::sim {

using namespace solver_detail;

void CircuitSolver::Impl::build(std::span<const double> values) {
  if (sparse) {
    build_sparse(values);
    return;
  }
  g_ab.setZero();
  g_af.setZero();
  g_bb.setZero();
  g_bf.setZero();
  d_a0.setZero();
  d_b0.setZero();
  for (std::size_t e : resistors) {
    const auto& el = circuit.elements[e];
    const double g = values[e];
    if (!(g >= 0.0) || !std::isfinite(g))
      throw DeviceError(
          fmt::format("circuit: resistor {} has conductance {} (must be >= 0)", el.name, g));
    if (el.a == el.b) continue;
    Place p = place[el.a], q = place[el.b];
    if (p.side == Side::fixed && q.side == Side::fixed) continue;
    if (p.side == Side::fixed || (p.side == Side::b && q.side == Side::a)) std::swap(p, q);
    // Now p is free, and A before B.
    (p.side == Side::a ? d_a0[p.index] : d_b0[p.index]) += g;
    if (q.side == Side::fixed) {
      (p.side == Side::a ? g_af(p.index, q.index) : g_bf(p.index, q.index)) += g;
    } else {
      (q.side == Side::a ? d_a0[q.index] : d_b0[q.index]) += g;
      if (p.side == Side::a)
        g_ab(p.index, q.index) += g;
      else {
        g_bb(p.index, q.index) += g;
        g_bb(q.index, p.index) += g;
      }
    }
  }
  built = true;
}

void CircuitSolver::Impl::prepare(std::span<const double> values, std::span<const NudgeTerm> nudges,
                                  bool conductances_unchanged) {
  if (values.size() != circuit.elements.size())
    throw DeviceError(fmt::format("circuit: {} element values given for {} elements", values.size(),
                                  circuit.elements.size()));
  // Conductances rarely change during a sweep; sources do. Rebuild only when a resistor moved
  // (the caller may say so, which saves comparing them all).
  const bool same =
      built && (conductances_unchanged || (cached_values.size() == values.size() &&
                                           std::memcmp(cached_values.data(), values.data(),
                                                       values.size() * sizeof(double)) == 0));
  if (!same) {
    bool resistor_moved = !built;
    if (!resistor_moved)
      for (std::size_t e : resistors)
        if (cached_values[e] != values[e]) {
          resistor_moved = true;
          break;
        }
    if (resistor_moved) build(values);
    cached_values.assign(values.begin(), values.end());
  }
  for (std::size_t i = 0; i < f_nodes.size(); ++i) volts[f_nodes[i]] = 0.0;
  for (const auto& step : fixed_order)
    volts[step.node] = volts[step.from] + step.sign * values[step.element];
  for (std::size_t i = 0; i < f_nodes.size(); ++i) v_fixed[i] = volts[f_nodes[i]];
  drive_a.noalias() = g_af * v_fixed;
  if (sparse)
    drive_b.noalias() = g_bf_sparse * v_fixed;
  else
    drive_b.noalias() = g_bf * v_fixed;
  for (std::size_t e : current_sources) {
    const auto& el = circuit.elements[e];
    // Current leaves a and enters b.
    const Place p = place[el.a], q = place[el.b];
    if (p.side == Side::a) drive_a[p.index] -= values[e];
    if (p.side == Side::b) drive_b[p.index] -= values[e];
    if (q.side == Side::a) drive_a[q.index] += values[e];
    if (q.side == Side::b) drive_b[q.index] += values[e];
  }
  for (const auto& nu : nudges) {
    if (nu.a >= circuit.nodes.size() || nu.b >= circuit.nodes.size())
      throw DeviceError("circuit: a nudge names a node that does not exist");
    const bool unannounced =
        nu.a != nu.b && (sparse ? place[nu.a].side == Side::b && place[nu.b].side == Side::b &&
                                      slots_of(nu.a, nu.b).pq < 0
                                : place[nu.a].side == Side::a && place[nu.b].side == Side::a);
    if (unannounced)
      throw DeviceError(
          fmt::format("circuit: nodes {} and {} are nudged as a pair the solver was not told about",
                      circuit.nodes[nu.a], circuit.nodes[nu.b]));
  }
  if (ideal) {
    const std::size_t na = a_nodes.size(), nb = b_nodes.size();
    low = Vector::Constant(na + nb, -infinity);
    high = Vector::Constant(na + nb, infinity);
    for (std::size_t d : diodes) {
      const auto& el = circuit.elements[d];
      const Place p = place[el.a], q = place[el.b];
      // Conducting means v_a = v_b; never v_a > v_b.
      if (p.side == Side::fixed && q.side == Side::fixed) {
        if (volts[el.a] > volts[el.b])
          throw DeviceError(fmt::format(
              "circuit: ideal diode {} is forward-biased by sources alone ({} V across it)",
              element_label(circuit, d), volts[el.a] - volts[el.b]));
        continue;
      }
      if (q.side == Side::fixed) {
        const std::size_t i = p.side == Side::a ? p.index : na + p.index;
        high[i] = std::min(high[i], volts[el.b]);
      } else {
        const std::size_t i = q.side == Side::a ? q.index : na + q.index;
        low[i] = std::max(low[i], volts[el.a]);
      }
    }
    for (Eigen::Index i = 0; i < low.size(); ++i)
      if (low[i] > high[i]) {
        const std::size_t node = std::size_t(i) < na ? a_nodes[i] : b_nodes[i - na];
        throw DeviceError(fmt::format(
            "circuit: ideal diodes at node {} demand a voltage above {} V and below {} V",
            circuit.nodes[node], low[i], high[i]));
      }
  }
}

double CircuitSolver::Impl::evaluate(const Vector& va, const Vector& vb,
                                     std::span<const NudgeTerm> nudges, Vector& ga, Vector& gb,
                                     bool hessian) {
  // Resistors as a weighted Laplacian: gradient L v - drive, energy 1/2 v.L v - v.drive.
  ga.noalias() = d_a0.cwiseProduct(va) - g_ab * vb;
  if (sparse)
    gb.noalias() = laplacian * vb;
  else
    gb.noalias() = d_b0.cwiseProduct(vb) - g_ab.transpose() * va - g_bb * vb;
  double energy = 0.5 * (va.dot(ga) + vb.dot(gb));
  ga -= drive_a;
  gb -= drive_b;
  energy -= va.dot(drive_a) + vb.dot(drive_b);
  if (hessian && sparse) {
    hd_a.resize(0);
    h_ab.resize(0, Eigen::Index(b_nodes.size()));
    std::copy(laplacian.valuePtr(), laplacian.valuePtr() + laplacian.nonZeros(),
              sparse_hessian.valuePtr());
  } else if (hessian) {
    hd_a = d_a0;
    h_ab = -g_ab;
    h_bb = -g_bb;
    h_bb.diagonal() += d_b0;
  }
  double* const sparse_h = sparse ? sparse_hessian.valuePtr() : nullptr;
  // `slots`: where the coupling adds into the sparse Hessian (found here when not given).
  auto couple = [&](std::size_t p_node, std::size_t q_node, double flow, double g,
                    const Slots* slots) {
    const Place p = place[p_node], q = place[q_node];
    if (p.side == Side::a) ga[p.index] += flow;
    if (p.side == Side::b) gb[p.index] += flow;
    if (q.side == Side::a) ga[q.index] -= flow;
    if (q.side == Side::b) gb[q.index] -= flow;
    if (!hessian) return;
    if (sparse_h) {
      const Slots s = slots ? *slots : slots_of(p_node, q_node);
      if (s.pp >= 0) sparse_h[s.pp] += g;
      if (s.qq >= 0) sparse_h[s.qq] += g;
      if (s.pq >= 0) sparse_h[s.pq] -= g;
      if (s.qp >= 0) sparse_h[s.qp] -= g;
      return;
    }
    if (p.side == Side::a) hd_a[p.index] += g;
    if (p.side == Side::b) h_bb(p.index, p.index) += g;
    if (q.side == Side::a) hd_a[q.index] += g;
    if (q.side == Side::b) h_bb(q.index, q.index) += g;
    if (p.side == Side::a && q.side == Side::b) h_ab(p.index, q.index) -= g;
    if (p.side == Side::b && q.side == Side::a) h_ab(q.index, p.index) -= g;
    if (p.side == Side::b && q.side == Side::b && p_node != q_node) {
      h_bb(p.index, q.index) -= g;
      h_bb(q.index, p.index) -= g;
    }
  };
  if (!ideal) {
    for (std::size_t k = 0; k < diodes.size(); ++k) {
      const auto ends = diode_ends[k];
      if (ends.a == ends.b) continue;
      const double v = node_voltage(ends.a, va, vb) - node_voltage(ends.b, va, vb);
      double content, current, conductance;
      if (!diode_law[k].evaluate(v, content, current, conductance)) return infinity;
      energy += content;
      couple(ends.a, ends.b, current, conductance, sparse ? &diode_slots[k] : nullptr);
    }
  }
  for (const auto& nu : nudges) {
    if (nu.beta == 0.0 || nu.a == nu.b) continue;
    const double gap = node_voltage(nu.a, va, vb) - node_voltage(nu.b, va, vb) - nu.target;
    energy += 0.5 * nu.beta * gap * gap;
    couple(nu.a, nu.b, nu.beta * gap, nu.beta, nullptr);
  }
  return energy;
}

void CircuitSolver::Impl::gather(std::span<const double> voltages, Vector& va, Vector& vb) const {
  va.resize(a_nodes.size());
  vb.resize(b_nodes.size());
  for (std::size_t i = 0; i < a_nodes.size(); ++i) va[i] = voltages[a_nodes[i]];
  for (std::size_t j = 0; j < b_nodes.size(); ++j) vb[j] = voltages[b_nodes[j]];
}

void CircuitSolver::Impl::scatter(const Vector& va, const Vector& vb,
                                  std::span<double> voltages) const {
  for (std::size_t i = 0; i < voltages.size(); ++i) voltages[i] = volts[i];
  for (std::size_t i = 0; i < a_nodes.size(); ++i) voltages[a_nodes[i]] = va[i];
  for (std::size_t j = 0; j < b_nodes.size(); ++j) voltages[b_nodes[j]] = vb[j];
}

}  // namespace aeqlab::sim
