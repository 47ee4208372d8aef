// The sparse factorisation of the Newton and active-set systems, and the choice between it and
// the layered split (docs/circuit.md, "Sparse and layered solves").
//
// Every free node goes in B and the Hessian of the co-content is one sparse symmetric matrix on
// a pattern fixed per topology (resistors, diodes, nudged pairs, the diagonal). Eigen's
// SimplicialLDLT factors it: AMD fill-reducing ordering and the symbolic analysis once
// (analyzePattern), a numeric factorisation per Newton step (factorize), so memory is
// O(elements + fill) rather than the dense block's O(nodes^2).

#include "sim/circuit/circuit_solver_impl.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace aeqlab::sim {

using namespace solver_detail;

namespace {

// Where (row, col) sits in a compressed column-major matrix's values, or -1.
int slot(const SparseMatrix& m, std::size_t row, std::size_t col) {
  const int* inner = m.innerIndexPtr();
  const int* begin = inner + m.outerIndexPtr()[col];
  const int* end = inner + m.outerIndexPtr()[col + 1];
  const int r = static_cast<int>(row);
  const int* found = std::lower_bound(begin, end, r);
  return found != end && *found == r ? static_cast<int>(found - inner) : -1;
}

// Multiply-adds of one LDL^T factorisation: a column with c entries below the diagonal costs
// about c^2 of them (its outer product into the columns right of it).
double factorisation_work(const SparseLdlt& ldlt) {
  const SparseMatrix& l = ldlt.matrixL().nestedExpression();
  double work = 0.0;
  for (Eigen::Index j = 0; j < l.outerSize(); ++j) {
    const double c = l.outerIndexPtr()[j + 1] - l.outerIndexPtr()[j];
    work += c * c + 2.0 * c;  // the factorisation, and the two triangular solves
  }
  return work;
}

}  // namespace

Slots CircuitSolver::Impl::slots_of(std::size_t p_node, std::size_t q_node) const {
  Slots s;
  const Place p = place[p_node], q = place[q_node];
  const bool p_free = p.side == Side::b, q_free = q.side == Side::b;
  if (p_free) s.pp = diagonal_slot[p.index];
  if (q_free) s.qq = diagonal_slot[q.index];
  if (p_free && q_free && p_node != q_node) {
    s.pq = slot(sparse_hessian, p.index, q.index);
    s.qp = slot(sparse_hessian, q.index, p.index);
  }
  return s;
}

void CircuitSolver::Impl::choose_factorisation(
    const std::vector<std::vector<std::size_t>>& adjacent) {
  const double na = double(a_nodes.size()), nb = double(b_nodes.size());
  const double dense_entries = na * nb + nb * nb;
  // A Newton step on the layered split: W = D_A^-1/2 H_AB, S = H_BB - W^T W, LDL^T of S, and the
  // evaluation's products with the conductance blocks.
  const double dense_work = na * nb * nb + nb * nb * nb / 3.0 + 5.0 * na * nb + 3.0 * nb * nb;
  const Factorisation asked = settings.factorisation;
  if (asked == Factorisation::layered || (asked == Factorisation::automatic && nb == 0)) {
    if (dense_entries > 64e6)
      throw DataError(fmt::format(
          "circuit: {} free nodes couple too densely for the layered solve ({} need the dense "
          "block); the sparse factorisation takes this circuit",
          free_count(), b_nodes.size()));
    return;
  }

  // The pattern on every free node, numbered in node order.
  std::vector<std::size_t> free_nodes = a_nodes;
  free_nodes.insert(free_nodes.end(), b_nodes.begin(), b_nodes.end());
  std::sort(free_nodes.begin(), free_nodes.end());
  std::vector<std::size_t> index(place.size(), 0);
  for (std::size_t k = 0; k < free_nodes.size(); ++k) index[free_nodes[k]] = k;
  std::vector<Eigen::Triplet<double, int>> entries;
  std::size_t couplings = 0;
  for (std::size_t node : free_nodes) couplings += adjacent[node].size();
  entries.reserve(free_nodes.size() + couplings);
  for (std::size_t node : free_nodes) {
    const int k = static_cast<int>(index[node]);
    entries.emplace_back(k, k, double(adjacent[node].size()) + 1.0);
    for (std::size_t other : adjacent[node])
      entries.emplace_back(k, static_cast<int>(index[other]), -1.0);
  }
  const auto n = static_cast<Eigen::Index>(free_nodes.size());
  SparseMatrix pattern(n, n);
  // Duplicates (parallel elements) are summed: a diagonally dominant stand-in with the
  // Hessian's pattern, enough to count the factorisation's work.
  pattern.setFromTriplets(entries.begin(), entries.end());
  entries = {};

  if (asked == Factorisation::automatic && dense_entries <= 64e6) {
    SparseLdlt trial;
    trial.compute(pattern);
    // Sparse code does about a quarter of the work per second of the dense kernels (measured
    // by scripts/bench-circuit on the layered family): the layered split keeps the networks it
    // was made for.
    const double sparse_work = factorisation_work(trial) + 3.0 * double(pattern.nonZeros());
    if (trial.info() == Eigen::Success && dense_work <= 4.0 * sparse_work) return;
  }

  // Sparse: every free node in B.
  sparse = true;
  a_nodes.clear();
  b_nodes = free_nodes;
  for (std::size_t k = 0; k < free_nodes.size(); ++k) place[free_nodes[k]] = {Side::b, k};
  laplacian = pattern;
  sparse_hessian = std::move(pattern);
  diagonal_slot.resize(free_nodes.size());
  for (std::size_t k = 0; k < free_nodes.size(); ++k) diagonal_slot[k] = slot(sparse_hessian, k, k);

  std::vector<Eigen::Triplet<double, int>> fixed_entries;
  for (std::size_t e : resistors) {
    const auto& el = circuit.elements[e];
    Place p = place[el.a], q = place[el.b];
    if (p.side == Side::fixed && q.side != Side::fixed) std::swap(p, q);
    if (p.side != Side::fixed && q.side == Side::fixed && el.a != el.b)
      fixed_entries.emplace_back(static_cast<int>(p.index), static_cast<int>(q.index), 0.0);
  }
  g_bf_sparse.resize(n, static_cast<Eigen::Index>(f_nodes.size()));
  g_bf_sparse.setFromTriplets(fixed_entries.begin(), fixed_entries.end());
  for (std::size_t e : resistors) {
    const auto& el = circuit.elements[e];
    resistor_slots.push_back(el.a == el.b ? Slots{} : slots_of(el.a, el.b));
    Place p = place[el.a], q = place[el.b];
    if (p.side == Side::fixed) std::swap(p, q);
    resistor_fixed_slot.push_back(p.side != Side::fixed && q.side == Side::fixed && el.a != el.b
                                      ? slot(g_bf_sparse, p.index, q.index)
                                      : -1);
  }
  for (std::size_t d : diodes) {
    const auto& el = circuit.elements[d];
    diode_slots.push_back(el.a == el.b ? Slots{} : slots_of(el.a, el.b));
  }
}

void CircuitSolver::Impl::build_sparse(std::span<const double> values) {
  double* lap = laplacian.valuePtr();
  double* to_fixed = g_bf_sparse.valuePtr();
  std::fill(lap, lap + laplacian.nonZeros(), 0.0);
  std::fill(to_fixed, to_fixed + g_bf_sparse.nonZeros(), 0.0);
  d_b0.setZero();
  for (std::size_t k = 0; k < resistors.size(); ++k) {
    const auto& el = circuit.elements[resistors[k]];
    const double g = values[resistors[k]];
    if (!(g >= 0.0) || !std::isfinite(g))
      throw DeviceError(
          fmt::format("circuit: resistor {} has conductance {} (must be >= 0)", el.name, g));
    const Slots s = resistor_slots[k];
    if (s.pp >= 0) lap[s.pp] += g;
    if (s.qq >= 0) lap[s.qq] += g;
    if (s.pq >= 0) lap[s.pq] -= g;
    if (s.qp >= 0) lap[s.qp] -= g;
    if (resistor_fixed_slot[k] >= 0) to_fixed[resistor_fixed_slot[k]] += g;
  }
  for (std::size_t j = 0; j < b_nodes.size(); ++j) d_b0[j] = lap[diagonal_slot[j]];
  built = true;
}

void CircuitSolver::Impl::factor_and_solve_sparse(const std::vector<char>* pinned) {
  require_positive_diagonal();
  const std::size_t nb = b_nodes.size();
  step_a.resize(0);
  rhs_b = -grad_b;
  const SparseMatrix* h = &sparse_hessian;
  if (pinned) {
    // A pinned node's row and column become the identity's, on the same pattern, so the
    // symbolic analysis still holds.
    if (sparse_masked.nonZeros() != sparse_hessian.nonZeros())
      sparse_masked = sparse_hessian;
    else
      std::copy(sparse_hessian.valuePtr(), sparse_hessian.valuePtr() + sparse_hessian.nonZeros(),
                sparse_masked.valuePtr());
    double* value = sparse_masked.valuePtr();
    const int* inner = sparse_masked.innerIndexPtr();
    const int* outer = sparse_masked.outerIndexPtr();
    for (std::size_t c = 0; c < nb; ++c)
      for (int k = outer[c]; k < outer[c + 1]; ++k) {
        const auto r = static_cast<std::size_t>(inner[k]);
        if ((*pinned)[r] || (*pinned)[c]) value[k] = r == c ? 1.0 : 0.0;
      }
    for (std::size_t j = 0; j < nb; ++j)
      if ((*pinned)[j]) rhs_b[j] = 0.0;
    h = &sparse_masked;
  }
  if (!pattern_analysed) {
    sparse_ldlt.analyzePattern(*h);
    pattern_analysed = true;
  }
  sparse_ldlt.factorize(*h);
  if (sparse_ldlt.info() != Eigen::Success)
    throw DeviceError(
        "circuit: the sparse factorisation of the Newton system failed (a node with no "
        "conductance to the rest of the circuit?)");
  step_b = sparse_ldlt.solve(rhs_b);
}

double CircuitSolver::Impl::diagonal(std::size_t j) const {
  return sparse ? sparse_hessian.valuePtr()[diagonal_slot[j]] : h_bb(j, j);
}

void CircuitSolver::Impl::add_column(std::size_t j, double delta, Vector& gb) const {
  if (!sparse) {
    gb.noalias() += h_bb.col(j) * delta;
    return;
  }
  for (SparseMatrix::InnerIterator it(sparse_hessian, static_cast<Eigen::Index>(j)); it; ++it)
    gb[it.row()] += it.value() * delta;
}

double CircuitSolver::Impl::largest_self_conductance() const {
  if (sparse) return d_b0.size() ? d_b0.cwiseAbs().maxCoeff() : 0.0;
  return d_a0.size() ? d_a0.cwiseAbs().maxCoeff() : 0.0;
}

}  // namespace aeqlab::sim
