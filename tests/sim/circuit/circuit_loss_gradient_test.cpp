// CircuitSolver::loss_gradient (implicit differentiation through Kirchhoff's laws) against
// central differences of the equilibrium loss, on a small Shockley network and a small ideal one:
// the exact gradient is the oracle the EqProp tests lean on, so it is checked itself.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include <gtest/gtest.h>

#include "circuit_networks.hpp"
#include "sim/circuit/circuit_solver.hpp"

using namespace aeqlab;
using aeqlab::sim::ElementKind;

namespace {

void gradient_matches_finite_differences(const sim::Circuit& c,
                                         const std::vector<std::size_t>& output_nodes, bool ideal,
                                         sim::Factorisation factorisation) {
  struct {
    std::vector<std::size_t> outputs;
  } net{{output_nodes.begin(), output_nodes.begin() + 2}};
  std::vector<sim::NudgeTerm> outputs;
  const double targets[] = {0.1, -0.05};
  for (std::size_t k = 0; k < net.outputs.size(); ++k)
    outputs.push_back({net.outputs[k], 0, 0.0, targets[k]});
  sim::SolveSettings settings;
  settings.tolerance = 1e-14;
  settings.max_iterations = 2000;
  settings.factorisation = factorisation;
  sim::CircuitSolver solver(c, settings);
  ASSERT_EQ(solver.ideal(), ideal);
  ASSERT_EQ(solver.factorisation(), factorisation);

  std::vector<double> values;
  for (const auto& e : c.elements) values.push_back(e.value);
  std::vector<double> base(c.nodes.size(), 0.0);
  solver.solve(values, base);
  if (ideal) {
    // Some diode must hold its node, or the pinned part of the gradient goes untested.
    std::size_t conducting = 0;
    for (const auto& e : c.elements)
      conducting += e.kind == ElementKind::diode && std::abs(base[e.a] - base[e.b]) <= 1e-12;
    ASSERT_GT(conducting, 0u);
  }
  std::vector<double> exact(c.elements.size(), 0.0);
  solver.loss_gradient(values, base, outputs, exact);

  auto loss = [&](const std::vector<double>& vals) {
    std::vector<double> v = base;  // warm start: the same branch of the solution
    solver.solve(vals, v);
    double l = 0.0;
    for (const auto& o : outputs) l += 0.5 * std::pow(v[o.a] - v[o.b] - o.target, 2);
    return l;
  };
  double largest = 0.0, worst = 0.0;
  std::size_t resistors = 0;
  for (std::size_t e = 0; e < c.elements.size(); ++e) {
    if (c.elements[e].kind != ElementKind::resistor) {
      EXPECT_EQ(exact[e], 0.0) << c.elements[e].name;
      continue;
    }
    ++resistors;
    const double h = 1e-4 * values[e];
    std::vector<double> up = values, down = values;
    up[e] += h;
    down[e] -= h;
    const double fd = (loss(up) - loss(down)) / (2 * h);
    largest = std::max(largest, std::abs(fd));
    worst = std::max(worst, std::abs(fd - exact[e]));
  }
  ASSERT_GT(resistors, 0u);
  ASSERT_GT(largest, 0.0);
  char ratio[32];
  std::snprintf(ratio, sizeof ratio, "%.3g", worst / largest);
  ::testing::Test::RecordProperty("relative_difference", ratio);
  EXPECT_LE(worst, 1e-5 * largest)
      << "largest |dL/dg| " << largest << ", worst difference " << worst;
}

void layered_gradient_matches_finite_differences(bool ideal, std::uint64_t seed) {
  const auto net = test_support::layered_network({3, 5, 2}, ideal, seed, ideal ? 1.0 : 10.0);
  gradient_matches_finite_differences(net.circuit, net.outputs, ideal, sim::Factorisation::layered);
}

}  // namespace

TEST(CircuitLossGradient, ShockleyNetworkMatchesFiniteDifferences) {
  layered_gradient_matches_finite_differences(false, 31);
}

TEST(CircuitLossGradient, IdealNetworkMatchesFiniteDifferences) {
  layered_gradient_matches_finite_differences(true, 32);
}

// The sparse factorisation's adjoint, on a small mesh (Shockley) and a ladder (ideal).
TEST(CircuitLossGradient, SparseShockleyMeshMatchesFiniteDifferences) {
  const auto net = test_support::mesh_network(4, 3, false, 33, 10.0);
  gradient_matches_finite_differences(net.circuit, net.outputs, false, sim::Factorisation::sparse);
}

TEST(CircuitLossGradient, SparseIdealLadderMatchesFiniteDifferences) {
  auto net = test_support::ladder_network(12, true, 34, 10.0);
  gradient_matches_finite_differences(net.circuit, net.outputs, true, sim::Factorisation::sparse);
}
