#pragma once
// The circuit solver's inner parts, shared by its source files and by nothing else: how the
// free nodes are split (an independent set A with a diagonal Hessian block, the rest B, the
// fixed nodes F), the diode law, and the state one CircuitSolver keeps between solves.
//
//   circuit_solver_topology.cpp    analyse: which nodes sources fix, the A/B split
//   circuit_solver_system.cpp      the co-content: conductance blocks, drives, bounds, and its
//                                  energy, gradient and Hessian at a point
//   circuit_solver_schur.cpp       the Newton step: A eliminated, the Schur complement on B
//                                  factored, nodes on an active bound pinned
//   circuit_solver_sparse.cpp      the other factorisation: every free node in one sparse
//                                  LDL^T (AMD ordering, symbolic analysis once per topology),
//                                  and the choice between the two
//   circuit_solver_iterations.cpp  Newton with line search (Shockley), projected coordinate
//                                  descent with an active-set finish (ideal diodes)
//   circuit_solver_adjoint.cpp     the exact loss gradient (implicit differentiation)
//   circuit_solver.cpp             the public operations, element currents
//
// Heavy header (Eigen): include it only from those files.

#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/fmt/fmt.h>
#include <Eigen/Dense>
#include <Eigen/SparseCholesky>
#include <Eigen/SparseCore>

#include "sim/circuit/circuit_solver.hpp"

namespace aeqlab::sim {

namespace solver_detail {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXd;
using SparseMatrix = Eigen::SparseMatrix<double, Eigen::ColMajor, int>;
// The Hessian of the co-content is symmetric positive definite (a weighted Laplacian tied to
// fixed nodes, plus positive diode conductances): LDL^T without pivoting, AMD fill-reducing
// ordering (docs/circuit.md, "Sparse and layered solves").
using SparseLdlt = Eigen::SimplicialLDLT<SparseMatrix, Eigen::Lower, Eigen::AMDOrdering<int>>;

// Where a coupling between nodes p and q adds into a sparse matrix's values: (p,p), (q,q),
// (p,q), (q,p); -1 where that end is not a free node.
struct Slots {
  int pp = -1, qq = -1, pq = -1, qp = -1;
};

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

inline std::string element_label(const Circuit& c, std::size_t e) {
  const auto& el = c.elements[e];
  return fmt::format("{} ({} {})", el.name, c.nodes[el.a], c.nodes[el.b]);
}

}  // namespace solver_detail

struct CircuitSolver::Impl {
  using Matrix = solver_detail::Matrix;
  using Vector = solver_detail::Vector;
  using Side = solver_detail::Side;
  using Place = solver_detail::Place;
  using DiodeLaw = solver_detail::DiodeLaw;
  using SparseMatrix = solver_detail::SparseMatrix;
  using SparseLdlt = solver_detail::SparseLdlt;
  using Slots = solver_detail::Slots;
  Circuit circuit;
  SolveSettings settings;
  bool ideal = false;
  // Sparse: every free node is in B and the Hessian is a sparse matrix, factored by sparse
  // LDL^T; otherwise the layered split with a dense Schur complement (docs/circuit.md).
  bool sparse = false;

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

  // The sparse path. `laplacian`: the resistors' weighted Laplacian on the free nodes, stored
  // whole (both triangles) on the pattern of the Hessian (resistors, diodes, nudged pairs,
  // diagonal); `sparse_hessian`: the same pattern at the present point. `g_bf_sparse`: conductances
  // from free to fixed nodes.
  SparseMatrix laplacian, sparse_hessian, sparse_masked, g_bf_sparse;
  std::vector<int> diagonal_slot;        // per free node
  std::vector<Slots> resistor_slots;     // per entry of `resistors`, into `laplacian`
  std::vector<int> resistor_fixed_slot;  // per entry of `resistors`, into `g_bf_sparse`, or -1
  std::vector<Slots> diode_slots;        // per entry of `diodes`, into `sparse_hessian`
  SparseLdlt sparse_ldlt;
  bool pattern_analysed = false;

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
  // The sparse path's parts (circuit_solver_sparse.cpp).
  void choose_factorisation(const std::vector<std::vector<std::size_t>>& adjacent);
  void build_sparse(std::span<const double> values);
  void factor_and_solve_sparse(const std::vector<char>* pinned);
  Slots slots_of(std::size_t p_node, std::size_t q_node) const;
  double diagonal(std::size_t j) const;  // the Hessian's (j, j) on B
  // gb += delta * column j of the Hessian on B (the ideal solve's coordinate step).
  void add_column(std::size_t j, double delta, Vector& gb) const;
  // The largest conductance at one free node, for the ideal solve's balance tolerance.
  double largest_self_conductance() const;
  // A node whose own conductance is not positive has no equilibrium: a negative nudge larger
  // than what ties the node to the circuit makes the co-content unbounded below.
  void require_positive_diagonal() const;
  SolveResult solve_shockley(std::span<double> voltages, std::span<const NudgeTerm> nudges);
  SolveResult solve_ideal(std::span<double> voltages, std::span<const NudgeTerm> nudges);
  void scatter(const Vector& va, const Vector& vb, std::span<double> voltages) const;
  void gather(std::span<const double> voltages, Vector& va, Vector& vb) const;
  double residual(const Vector& ga, const Vector& gb, const std::vector<char>* pinned) const;
};

// Inline: evaluate() asks it for both ends of every diode and nudge, on every Newton step.
inline double CircuitSolver::Impl::node_voltage(std::size_t node, const Vector& va,
                                                const Vector& vb) const {
  const Place p = place[node];
  if (p.side == Side::a) return va[p.index];
  if (p.side == Side::b) return vb[p.index];
  return volts[node];
}

}  // namespace aeqlab::sim
