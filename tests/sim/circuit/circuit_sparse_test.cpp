// The two factorisations of the circuit solver (docs/circuit.md, "Sparse and layered solves"):
// on layered networks, where both apply, the sparse LDL^T and the layered split must give the
// same operating point to 1e-12 V, free and nudged, Shockley and ideal, and the same exact loss
// gradient; the automatic choice keeps the layered split for layered networks and takes the
// sparse path for ladders, meshes and crossbars. (Agreement with ngspice on those topologies is
// circuit_ngspice_test.cpp's; the KKT conditions on them circuit_ideal_test.cpp's.)

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "circuit_networks.hpp"
#include "core/error.hpp"
#include "sim/circuit/circuit_solver.hpp"

using namespace aeqlab;
using aeqlab::sim::Circuit;
using aeqlab::sim::Factorisation;

namespace {

std::vector<double> values_of(const Circuit& c) {
  std::vector<double> v;
  for (const auto& e : c.elements) v.push_back(e.value);
  return v;
}

sim::SolveSettings forced(Factorisation f) {
  sim::SolveSettings s;
  s.factorisation = f;
  return s;
}

double largest_difference(const std::vector<double>& x, const std::vector<double>& y) {
  double worst = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(x[i] - y[i]));
  return worst;
}

struct Case {
  std::vector<std::size_t> layers;
  bool ideal;
  std::uint64_t seed;
};

class CircuitSparseAgreesWithLayered : public ::testing::TestWithParam<Case> {};

}  // namespace

TEST_P(CircuitSparseAgreesWithLayered, FreeNudgedAndGradient) {
  const auto& p = GetParam();
  const auto net = test_support::layered_network(p.layers, p.ideal, p.seed, p.ideal ? 1.0 : 10.0);
  const Circuit& c = net.circuit;
  // Outputs nudged towards targets, as the circuit device does (node pairs announced).
  std::vector<std::pair<std::size_t, std::size_t>> pairs;
  std::vector<sim::NudgeTerm> nudges, outputs;
  for (std::size_t k = 0; k < net.outputs.size(); ++k) {
    pairs.emplace_back(net.outputs[k], 0);
    const double target = 0.05 * double(k % 3) - 0.05;
    nudges.push_back({net.outputs[k], 0, 1e-3, target});
    outputs.push_back({net.outputs[k], 0, 0.0, target});
  }
  sim::CircuitSolver layered(c, forced(Factorisation::layered), pairs);
  sim::CircuitSolver sparse(c, forced(Factorisation::sparse), pairs);
  ASSERT_EQ(layered.factorisation(), Factorisation::layered);
  ASSERT_EQ(sparse.factorisation(), Factorisation::sparse);
  const auto values = values_of(c);

  for (bool nudged : {false, true}) {
    std::vector<double> a(c.nodes.size(), 0.0), b(c.nodes.size(), 0.0);
    const std::span<const sim::NudgeTerm> terms =
        nudged ? std::span<const sim::NudgeTerm>(nudges) : std::span<const sim::NudgeTerm>();
    const auto ra = layered.solve(values, a, terms);
    const auto rb = sparse.solve(values, b, terms);
    EXPECT_TRUE(ra.converged && rb.converged);
    EXPECT_LE(largest_difference(a, b), 1e-12) << (nudged ? "nudged" : "free");
  }

  std::vector<double> v(c.nodes.size(), 0.0);
  layered.solve(values, v);
  std::vector<double> ga(c.elements.size()), gb(c.elements.size());
  layered.loss_gradient(values, v, outputs, ga);
  sparse.loss_gradient(values, v, outputs, gb);
  double largest = 0.0;
  for (double g : ga) largest = std::max(largest, std::abs(g));
  ASSERT_GT(largest, 0.0);
  EXPECT_LE(largest_difference(ga, gb), 1e-9 * largest);
}

INSTANTIATE_TEST_SUITE_P(
    Layered, CircuitSparseAgreesWithLayered,
    ::testing::Values(Case{{2, 4, 2}, false, 41}, Case{{4, 10, 10, 3}, false, 42},
                      Case{{8, 40, 5}, false, 43}, Case{{32, 200, 10}, false, 44},
                      Case{{4, 10, 10, 3}, true, 45}, Case{{32, 200, 10}, true, 46}),
    [](const ::testing::TestParamInfo<Case>& info) {
      std::string name = info.param.ideal ? "ideal" : "shockley";
      for (auto n : info.param.layers) {
        name += '_';
        name += std::to_string(n);
      }
      return name;
    });

TEST(CircuitFactorisationChoice, LayeredNetworksKeepTheLayeredSplit) {
  for (const auto& layers : std::vector<std::vector<std::size_t>>{{8, 40, 5}, {64, 256, 10}}) {
    const auto net = test_support::layered_network(layers, false, 7, 10.0);
    sim::CircuitSolver solver(net.circuit, sim::SolveSettings{});
    EXPECT_EQ(solver.factorisation(), Factorisation::layered) << net.circuit.title;
  }
}

TEST(CircuitFactorisationChoice, OtherTopologiesGoSparse) {
  const Circuit nets[] = {test_support::ladder_network(2000, false, 1).circuit,
                          test_support::mesh_network(30, 30, false, 2).circuit,
                          test_support::crossbar_network(16, 16, 3).circuit,
                          test_support::random_network(2000, 4)};
  for (const auto& c : nets) {
    sim::CircuitSolver solver(c, sim::SolveSettings{});
    EXPECT_EQ(solver.factorisation(), Factorisation::sparse) << c.title;
    // And it solves them.
    std::vector<double> v(c.nodes.size(), 0.0);
    EXPECT_TRUE(solver.solve(values_of(c), v).converged) << c.title;
  }
}

TEST(CircuitFactorisationChoice, TheLayeredSplitRefusesWhatOnlyTheSparsePathTakes) {
  // A 100x100 mesh's independent set leaves half the nodes to the dense block: 5,000^2 entries
  // and more would be needed, which the layered solve refuses, naming the way out.
  const Circuit c = test_support::mesh_network(120, 120, false, 5).circuit;
  try {
    sim::CircuitSolver solver(c, forced(Factorisation::layered));
    ADD_FAILURE() << "the layered split took a 120x120 mesh";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("sparse"), std::string::npos) << e.what();
  }
}
