// The linear algebra of one Newton step (and of the adjoint solve), with nodes on an active
// bound pinned.

#include "sim/circuit/circuit_solver_impl.hpp"

#include <cmath>

#include "core/error.hpp"

namespace aeqlab::sim {

using namespace solver_detail;

// Newton step from the present gradient and Hessian: the A block is diagonal, so it is
// eliminated exactly and only the Schur complement on B is factored.
void CircuitSolver::Impl::factor_and_solve(const std::vector<char>* pinned) {
  if (sparse) {
    factor_and_solve_sparse(pinned);
    return;
  }
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
    if (!(diagonal(j) > 0.0)) fail(b_nodes[j], diagonal(j));
}

}  // namespace aeqlab::sim
