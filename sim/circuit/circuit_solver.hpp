#pragma once
// The DC operating point of a circuit: node voltages minimising its co-content (resistors,
// diodes, sources), plus optional nudging terms beta/2 ((v_a - v_b) - target)^2, which are the
// current injection beta (target - (v_a - v_b)) into a (and out of b).
//
// Shockley diodes: Newton's method on the co-content (convex), with a backtracking line search,
// so it converges from any start; SPICE's diode equations and GMIN across each diode, as ngspice.
// Ideal diodes: each must end at a node a source fixes, so it bounds one free node; the solve is
// projected coordinate descent (Scellier 2024) finished by an exact solve on the active set.
// A circuit mixes no ideal and Shockley diodes.
//
// Voltage sources must reach ground through other voltage sources (no floating sources).
//
// Two factorisations of the Newton and active-set systems, chosen per topology (docs/circuit.md,
// "Sparse and layered solves"): the layered split (a greedy independent set eliminated exactly,
// a dense Schur complement on the rest), which wins on Scellier's layered networks, and a sparse
// LDL^T of the whole Hessian (AMD ordering), which takes every other topology in memory
// O(elements + fill).

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sim/circuit/circuit.hpp"

namespace aeqlab::sim {

enum class Factorisation {
  automatic,  // whichever the topology's operation counts favour
  layered,    // independent set + dense Schur complement
  sparse,     // sparse LDL^T of the whole Hessian
};

struct SolveSettings {
  double tolerance = 1e-10;          // volts: stop when no node moves more than this in a step
  std::size_t max_iterations = 200;  // Newton steps, or coordinate sweeps for ideal diodes
  double gmin = 1e-12;               // siemens across every Shockley diode, as ngspice
  double temperature = 300.15;       // kelvin (ngspice's 27 degC)
  Factorisation factorisation = Factorisation::automatic;
};

struct SolveResult {
  std::size_t iterations = 0;
  double residual = 0.0;  // largest current imbalance at a free node, amperes
  bool converged = false;
};

struct NudgeTerm {
  std::size_t a = 0, b = 0;  // output = v_a - v_b (b = 0 for a node voltage)
  double beta = 0.0;         // siemens
  double target = 0.0;       // volts
};

// Physical constants as ngspice uses them.
inline constexpr double boltzmann = 1.38064852e-23;
inline constexpr double electron_charge = 1.6021766208e-19;

class CircuitSolver {
 public:
  // Analyses the topology once (which nodes sources fix, the elimination order). Throws
  // DataError naming the element for what it cannot solve. `nudged` lists the node pairs that
  // solve() may nudge.
  CircuitSolver(const Circuit& circuit, SolveSettings settings,
                std::vector<std::pair<std::size_t, std::size_t>> nudged = {});
  ~CircuitSolver();
  CircuitSolver(CircuitSolver&&) noexcept;
  CircuitSolver& operator=(CircuitSolver&&) noexcept;

  // `values`: one per element of the circuit, in its order (conductance for resistors, volts or
  // amperes for sources; ignored for diodes), so conductances and inputs change between solves
  // without a new analysis. `voltages`: one per node (ground included); holds the start on entry
  // (a warm start from the last solution is fastest) and the solution on return.
  // `conductances_unchanged`: the caller promises no resistor's value changed since the last
  // solve (only sources did), which saves comparing them all — a sweep's or a batch's case.
  SolveResult solve(std::span<const double> values, std::span<double> voltages,
                    std::span<const NudgeTerm> nudges = {}, bool conductances_unchanged = false);

  // Current through each element from a to b at `voltages` (resistors, diodes; sources: the
  // current they deliver, from KCL).
  void element_currents(std::span<const double> values, std::span<const double> voltages,
                        std::span<double> currents) const;

  // Exact gradient of L = sum over nudges of 1/2 ((v_a - v_b) - target)^2 (the nudge terms'
  // betas ignored) with respect to every resistor's conductance, at the free equilibrium
  // `voltages` of solve(values, voltages) with no nudging: implicit differentiation through the
  // Kirchhoff equations (the test oracle for EqProp; training never calls it). Entries for
  // non-resistors are 0.
  void loss_gradient(std::span<const double> values, std::span<const double> voltages,
                     std::span<const NudgeTerm> outputs, std::span<double> gradient) const;

  const Circuit& circuit() const;
  bool ideal() const;  // whether the circuit's diodes are ideal
  // The factorisation the analysis chose (never `automatic`).
  Factorisation factorisation() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aeqlab::sim
