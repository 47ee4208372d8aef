#include "sim/circuit/circuit_solver.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <limits>
#include <numeric>

#include <spdlog/fmt/fmt.h>
#include <Eigen/Dense>

#include "core/error.hpp"

namespace aeqlab::sim {

namespace {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXd;

constexpr double euler = 2.718281828459045;
constexpr double infinity = std::numeric_limits<double>::infinity();

// Where a node sits in the solve: one of the independent set A (its Hessian block is diagonal),
// the rest B (a dense block), or fixed by sources (F, ground included).
enum class Side : unsigned char { a, b, fixed };

struct Place {
  Side side = Side::fixed;
  std::size_t index = 0;
};

// SPICE's junction diode (dioload.c): exponential forward and down to -3 vte, then the cubic
// reverse branch; GMIN in parallel. Value, current, conductance of the co-content term.
struct DiodeLaw {
  double csat = 1e-14;
  double vte = 0.025;
  double gmin = 1e-12;
  bool ideal = false;

  // Returns false when the exponential would overflow: the step that led here is too long.
  bool evaluate(double v, double& content, double& current, double& conductance) const {
    const double v0 = -3.0 * vte;
    if (v >= v0) {
      const double x = v / vte;
      if (x > 700.0) return false;
      const double e = std::exp(x);
      current = csat * (e - 1.0);
      conductance = csat * e / vte;
      content = csat * vte * (e - 1.0) - csat * v;
    } else {
      const double c = 3.0 * vte / euler;
      const double arg = c / v;
      const double a3 = arg * arg * arg;
      current = -csat * (1.0 + a3);
      conductance = csat * 3.0 * a3 / v;
      const double content0 = csat * vte * (std::exp(-3.0) - 1.0) - csat * v0;
      content = content0 - csat * (v - v0) -
                csat * c * c * c * (1.0 / (2.0 * v0 * v0) - 1.0 / (2.0 * v * v));
    }
    current += gmin * v;
    conductance += gmin;
    content += 0.5 * gmin * v * v;
    return true;
  }
};

}  // namespace

struct CircuitSolver::Impl {
  Circuit circuit;
  SolveSettings settings;
  bool ideal = false;

  std::vector<Place> place;                            // per node
  std::vector<std::size_t> a_nodes, b_nodes, f_nodes;  // node ids per side
  // Fixed nodes in the order their voltages follow from ground: node = from + sign * source.
  struct FixedStep {
    std::size_t node, from, element;
    double sign;
  };
  std::vector<FixedStep> fixed_order;

  std::vector<std::size_t> resistors, diodes, current_sources, voltage_sources;
  std::vector<DiodeLaw> diode_law;  // per entry of `diodes`
  // The diodes' ends, gathered so the Newton loop does not walk the element list.
  struct DiodeEnds {
    std::size_t a = 0, b = 0;
  };
  std::vector<DiodeEnds> diode_ends;  // per entry of `diodes`

  // Conductance blocks, rebuilt when a resistor's value changes.
  Matrix g_ab, g_af, g_bb, g_bf;  // summed conductances between the sides (g_bb off-diagonal)
  Vector d_a0, d_b0;              // summed resistor conductance at each free node
  std::vector<double> cached_values;
  bool built = false;

  // Per solve.
  Vector v_fixed, drive_a, drive_b;
  std::vector<double> volts;  // per node, all of them
  // Ideal diodes: bounds per free node (A then B).
  Vector low, high;

  // Newton workspace.
  Vector grad_a, grad_b, hd_a, step_a, step_b, rhs_b, trial_a, trial_b;
  Matrix h_ab, w, s, h_bb;
  Eigen::LDLT<Eigen::MatrixXd> ldlt;

  std::size_t free_count() const { return a_nodes.size() + b_nodes.size(); }

  void analyse(const std::vector<std::pair<std::size_t, std::size_t>>& nudged);
  void build(std::span<const double> values);
  void prepare(std::span<const double> values, std::span<const NudgeTerm> nudges,
               bool conductances_unchanged = false);
  double node_voltage(std::size_t node, const Vector& va, const Vector& vb) const;
  // Energy and gradient at (va, vb); Hessian parts too when `hessian`. Returns +inf when a
  // diode's exponential overflows.
  double evaluate(const Vector& va, const Vector& vb, std::span<const NudgeTerm> nudges, Vector& ga,
                  Vector& gb, bool hessian);
  void factor_and_solve(const std::vector<char>* pinned);
  // A node whose own conductance is not positive has no equilibrium: a negative nudge larger
  // than what ties the node to the circuit makes the co-content unbounded below.
  void require_positive_diagonal() const;
  SolveResult solve_shockley(std::span<double> voltages, std::span<const NudgeTerm> nudges);
  SolveResult solve_ideal(std::span<double> voltages, std::span<const NudgeTerm> nudges);
  void scatter(const Vector& va, const Vector& vb, std::span<double> voltages) const;
  void gather(std::span<const double> voltages, Vector& va, Vector& vb) const;
  double residual(const Vector& ga, const Vector& gb, const std::vector<char>* pinned) const;
};

namespace {

std::string element_label(const Circuit& c, std::size_t e) {
  const auto& el = c.elements[e];
  return fmt::format("{} ({} {})", el.name, c.nodes[el.a], c.nodes[el.b]);
}

}  // namespace

void CircuitSolver::Impl::analyse(const std::vector<std::pair<std::size_t, std::size_t>>& nudged) {
  const auto& c = circuit;
  const std::size_t n = c.nodes.size();
  for (std::size_t e = 0; e < c.elements.size(); ++e) {
    const auto& el = c.elements[e];
    if (el.a >= n || el.b >= n)
      throw DataError(fmt::format("circuit: element {} joins a node that does not exist", el.name));
    switch (el.kind) {
      case ElementKind::resistor:
        resistors.push_back(e);
        break;
      case ElementKind::diode:
        diodes.push_back(e);
        break;
      case ElementKind::current_source:
        current_sources.push_back(e);
        break;
      case ElementKind::voltage_source:
        voltage_sources.push_back(e);
        break;
    }
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
  const double dense = double(a_nodes.size()) * double(b_nodes.size()) +
                       double(b_nodes.size()) * double(b_nodes.size());
  if (dense > 64e6)
    throw DataError(fmt::format(
        "circuit: {} free nodes couple too densely for the solver ({} need the dense block)",
        free_count(), b_nodes.size()));

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
  g_bb = Matrix::Zero(nb, nb);
  g_bf = Matrix::Zero(nb, nf);
  d_a0 = Vector::Zero(na);
  d_b0 = Vector::Zero(nb);
  v_fixed = Vector::Zero(nf);
  volts.assign(n, 0.0);
}

void CircuitSolver::Impl::build(std::span<const double> values) {
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
    if (place[nu.a].side == Side::a && place[nu.b].side == Side::a && nu.a != nu.b)
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

double CircuitSolver::Impl::node_voltage(std::size_t node, const Vector& va,
                                         const Vector& vb) const {
  const Place p = place[node];
  if (p.side == Side::a) return va[p.index];
  if (p.side == Side::b) return vb[p.index];
  return volts[node];
}

double CircuitSolver::Impl::evaluate(const Vector& va, const Vector& vb,
                                     std::span<const NudgeTerm> nudges, Vector& ga, Vector& gb,
                                     bool hessian) {
  // Resistors as a weighted Laplacian: gradient L v - drive, energy 1/2 v.L v - v.drive.
  ga.noalias() = d_a0.cwiseProduct(va) - g_ab * vb;
  gb.noalias() = d_b0.cwiseProduct(vb) - g_ab.transpose() * va - g_bb * vb;
  double energy = 0.5 * (va.dot(ga) + vb.dot(gb));
  ga -= drive_a;
  gb -= drive_b;
  energy -= va.dot(drive_a) + vb.dot(drive_b);
  if (hessian) {
    hd_a = d_a0;
    h_ab = -g_ab;
    h_bb = -g_bb;
    h_bb.diagonal() += d_b0;
  }
  auto couple = [&](std::size_t p_node, std::size_t q_node, double flow, double g) {
    const Place p = place[p_node], q = place[q_node];
    if (p.side == Side::a) ga[p.index] += flow;
    if (p.side == Side::b) gb[p.index] += flow;
    if (q.side == Side::a) ga[q.index] -= flow;
    if (q.side == Side::b) gb[q.index] -= flow;
    if (!hessian) return;
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
      couple(ends.a, ends.b, current, conductance);
    }
  }
  for (const auto& nu : nudges) {
    if (nu.beta == 0.0 || nu.a == nu.b) continue;
    const double gap = node_voltage(nu.a, va, vb) - node_voltage(nu.b, va, vb) - nu.target;
    energy += 0.5 * nu.beta * gap * gap;
    couple(nu.a, nu.b, nu.beta * gap, nu.beta);
  }
  return energy;
}

// Newton step from the present gradient and Hessian: the A block is diagonal, so it is
// eliminated exactly and only the Schur complement on B is factored.
void CircuitSolver::Impl::factor_and_solve(const std::vector<char>* pinned) {
  const std::size_t na = a_nodes.size(), nb = b_nodes.size();
  require_positive_diagonal();
  Vector inv_a(na);
  for (std::size_t i = 0; i < na; ++i) {
    const bool pin = pinned && (*pinned)[i];
    if (pin) {
      h_ab.row(i).setZero();
      inv_a[i] = 0.0;
    } else {
      inv_a[i] = 1.0 / hd_a[i];
    }
  }
  if (pinned)
    for (std::size_t j = 0; j < nb; ++j)
      if ((*pinned)[na + j]) {
        h_ab.col(j).setZero();
        h_bb.row(j).setZero();
        h_bb.col(j).setZero();
        h_bb(j, j) = 1.0;
      }
  step_a.resize(na);
  step_b.resize(nb);
  if (nb > 0) {
    w = inv_a.cwiseSqrt().asDiagonal() * h_ab;
    s = h_bb;
    s.noalias() -= w.transpose() * w;
    rhs_b = -grad_b;
    rhs_b.noalias() += h_ab.transpose() * inv_a.cwiseProduct(grad_a);
    if (pinned)
      for (std::size_t j = 0; j < nb; ++j)
        if ((*pinned)[na + j]) rhs_b[j] = 0.0;
    ldlt.compute(s);
    step_b = ldlt.solve(rhs_b);
  }
  if (nb > 0)
    step_a.noalias() = -grad_a - h_ab * step_b;
  else
    step_a = -grad_a;
  step_a = step_a.cwiseProduct(inv_a);
}

void CircuitSolver::Impl::require_positive_diagonal() const {
  auto fail = [&](std::size_t node, double g) {
    throw DeviceError(fmt::format(
        "circuit: node {} has a net conductance of {} S, so the circuit has no equilibrium (a "
        "negative nudge larger than the conductance that ties the node to the circuit?)",
        circuit.nodes[node], g));
  };
  for (std::size_t i = 0; i < a_nodes.size(); ++i)
    if (!(hd_a[i] > 0.0)) fail(a_nodes[i], hd_a[i]);
  for (std::size_t j = 0; j < b_nodes.size(); ++j)
    if (!(h_bb(j, j) > 0.0)) fail(b_nodes[j], h_bb(j, j));
}

double CircuitSolver::Impl::residual(const Vector& ga, const Vector& gb,
                                     const std::vector<char>* pinned) const {
  double r = 0.0;
  const std::size_t na = a_nodes.size();
  for (Eigen::Index i = 0; i < ga.size(); ++i)
    if (!pinned || !(*pinned)[i]) r = std::max(r, std::abs(ga[i]));
  for (Eigen::Index j = 0; j < gb.size(); ++j)
    if (!pinned || !(*pinned)[na + j]) r = std::max(r, std::abs(gb[j]));
  return r;
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

SolveResult CircuitSolver::Impl::solve_shockley(std::span<double> voltages,
                                                std::span<const NudgeTerm> nudges) {
  Vector va, vb;
  gather(voltages, va, vb);
  for (Eigen::Index i = 0; i < va.size(); ++i)
    if (!std::isfinite(va[i])) va[i] = 0.0;
  for (Eigen::Index j = 0; j < vb.size(); ++j)
    if (!std::isfinite(vb[j])) vb[j] = 0.0;
  double energy = evaluate(va, vb, nudges, grad_a, grad_b, true);
  if (!std::isfinite(energy)) {
    // The start overflows a diode; start from ground instead.
    va.setZero();
    vb.setZero();
    energy = evaluate(va, vb, nudges, grad_a, grad_b, true);
  }
  SolveResult result;
  Vector ga_trial, gb_trial;
  while (result.iterations < settings.max_iterations) {
    ++result.iterations;
    factor_and_solve(nullptr);
    const double largest = std::max(step_a.size() ? step_a.cwiseAbs().maxCoeff() : 0.0,
                                    step_b.size() ? step_b.cwiseAbs().maxCoeff() : 0.0);
    if (largest <= settings.tolerance) {
      // Newton's step is within the tolerance: the solution is closer than that. Take it whole
      // (the line search cannot judge a step this short: the energy's change is below rounding).
      va += step_a;
      vb += step_b;
      evaluate(va, vb, nudges, grad_a, grad_b, false);
      result.converged = true;
      break;
    }
    const double slope = grad_a.dot(step_a) + grad_b.dot(step_b);
    const double before = residual(grad_a, grad_b, nullptr);
    // Backtracking on the co-content (convex, so the Newton direction descends). Near the
    // solution the energy's change drowns in rounding, so a step that halves the current
    // imbalance is taken as well.
    double t = 1.0;
    bool taken = false;
    for (int halvings = 0; halvings < 60; ++halvings, t *= 0.5) {
      trial_a = va + t * step_a;
      trial_b = vb + t * step_b;
      // With the Hessian: the point taken needs it next, and most first tries are taken.
      const double e = evaluate(trial_a, trial_b, nudges, ga_trial, gb_trial, true);
      if (!std::isfinite(e)) continue;
      if (e <= energy + 1e-4 * t * slope || residual(ga_trial, gb_trial, nullptr) < 0.5 * before) {
        taken = true;
        energy = e;
        break;
      }
    }
    if (!taken) break;
    va.swap(trial_a);
    vb.swap(trial_b);
    grad_a.swap(ga_trial);
    grad_b.swap(gb_trial);
  }
  result.residual = residual(grad_a, grad_b, nullptr);
  scatter(va, vb, voltages);
  return result;
}

SolveResult CircuitSolver::Impl::solve_ideal(std::span<double> voltages,
                                             std::span<const NudgeTerm> nudges) {
  const std::size_t na = a_nodes.size(), nb = b_nodes.size();
  Vector va, vb;
  gather(voltages, va, vb);
  for (std::size_t i = 0; i < na; ++i)
    va[i] = std::clamp(std::isfinite(va[i]) ? va[i] : 0.0, low[i], high[i]);
  for (std::size_t j = 0; j < nb; ++j)
    vb[j] = std::clamp(std::isfinite(vb[j]) ? vb[j] : 0.0, low[na + j], high[na + j]);
  SolveResult result;
  std::vector<char> pinned(na + nb, 0);
  Vector sweep_a(na), sweep_b(nb);
  // Projected coordinate descent: A's nodes do not see each other, so the whole block moves at
  // once; B's nodes one by one (they may be coupled). Every few sweeps, the nodes sitting on a
  // bound are taken as the active set and the quadratic is solved exactly on the rest; if that
  // point keeps every bound and every diode's current flows forward, it is the answer.
  constexpr std::size_t polish_every = 4;
  while (result.iterations < settings.max_iterations) {
    ++result.iterations;
    evaluate(va, vb, nudges, grad_a, grad_b, true);
    require_positive_diagonal();
    double moved = 0.0;
    for (std::size_t i = 0; i < na; ++i) {
      const double v = std::clamp(va[i] - grad_a[i] / hd_a[i], low[i], high[i]);
      moved = std::max(moved, std::abs(v - va[i]));
      sweep_a[i] = v - va[i];
      va[i] = v;
    }
    // The B nodes see A's new values through the gradient: g_b += H_ba * delta_a.
    if (nb > 0) {
      grad_b.noalias() += h_ab.transpose() * sweep_a;
      for (std::size_t j = 0; j < nb; ++j) {
        const double diag = h_bb(j, j);
        const double v = std::clamp(vb[j] - grad_b[j] / diag, low[na + j], high[na + j]);
        const double delta = v - vb[j];
        moved = std::max(moved, std::abs(delta));
        vb[j] = v;
        if (delta != 0.0) grad_b.noalias() += h_bb.col(j) * delta;
      }
    }
    if (moved <= settings.tolerance) {
      result.converged = true;
      break;
    }
    if (result.iterations % polish_every != 0) continue;
    // Active set from where the nodes sit now.
    evaluate(va, vb, nudges, grad_a, grad_b, true);
    const double scale = settings.tolerance;
    for (std::size_t i = 0; i < na + nb; ++i) {
      const double v = i < na ? va[i] : vb[i - na];
      const double g = i < na ? grad_a[i] : grad_b[i - na];
      pinned[i] = (v <= low[i] + scale && g > 0.0) || (v >= high[i] - scale && g < 0.0);
    }
    factor_and_solve(&pinned);
    trial_a = va + step_a;
    trial_b = vb + step_b;
    bool inside = true;
    for (std::size_t i = 0; i < na + nb && inside; ++i) {
      const double v = i < na ? trial_a[i] : trial_b[i - na];
      inside = v >= low[i] - scale && v <= high[i] + scale;
    }
    if (!inside) continue;
    for (std::size_t i = 0; i < na; ++i) trial_a[i] = std::clamp(trial_a[i], low[i], high[i]);
    for (std::size_t j = 0; j < nb; ++j)
      trial_b[j] = std::clamp(trial_b[j], low[na + j], high[na + j]);
    Vector ga, gb;
    evaluate(trial_a, trial_b, nudges, ga, gb, false);
    // KKT: free nodes balanced; a node on its upper bound pushes current out through its diode
    // (gradient <= 0), on its lower bound takes current in (gradient >= 0).
    bool kkt = true;
    const double balance = 1e-12 * (1.0 + d_a0.cwiseAbs().maxCoeff());
    for (std::size_t i = 0; i < na + nb && kkt; ++i) {
      const double v = i < na ? trial_a[i] : trial_b[i - na];
      const double g = i < na ? ga[i] : gb[i - na];
      if (v >= high[i] - scale && high[i] > low[i])
        kkt = g <= balance;
      else if (v <= low[i] + scale && high[i] > low[i])
        kkt = g >= -balance;
      else if (high[i] > low[i])
        kkt = std::abs(g) <= balance;
    }
    if (kkt) {
      va = trial_a;
      vb = trial_b;
      result.converged = true;
      break;
    }
  }
  evaluate(va, vb, nudges, grad_a, grad_b, false);
  for (std::size_t i = 0; i < na + nb; ++i) {
    const double v = i < na ? va[i] : vb[i - na];
    pinned[i] = v <= low[i] || v >= high[i];
  }
  result.residual = residual(grad_a, grad_b, &pinned);
  scatter(va, vb, voltages);
  return result;
}

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
