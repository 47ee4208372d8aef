// The two iterations to the operating point: damped Newton for Shockley diodes, projected
// coordinate descent finished on the active set for ideal ones.

#include "sim/circuit/circuit_solver_impl.hpp"

#include <algorithm>
#include <cmath>

namespace aeqlab::sim {

using namespace solver_detail;

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
      if (na > 0) grad_b.noalias() += h_ab.transpose() * sweep_a;
      for (std::size_t j = 0; j < nb; ++j) {
        const double diag = diagonal(j);
        const double v = std::clamp(vb[j] - grad_b[j] / diag, low[na + j], high[na + j]);
        const double delta = v - vb[j];
        moved = std::max(moved, std::abs(delta));
        vb[j] = v;
        if (delta != 0.0) add_column(j, delta, grad_b);
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
    const double balance = 1e-12 * (1.0 + largest_self_conductance());
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

}  // namespace aeqlab::sim
