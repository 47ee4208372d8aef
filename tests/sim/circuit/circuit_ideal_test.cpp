// Ideal diodes have no SPICE to compare with, so the solution is checked against what defines
// it, the KKT conditions of the co-content minimum: Kirchhoff's current law at every free node,
// and every diode either off (no current, not forward-biased) or on (no voltage across it,
// current forward). Plus the circuits the ideal solve refuses.

#include <cmath>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "circuit_networks.hpp"
#include "core/error.hpp"
#include "sim/circuit/circuit_solver.hpp"

using namespace aeqlab;
using aeqlab::sim::Circuit;
using aeqlab::sim::ElementKind;
using ::testing::HasSubstr;

namespace {

constexpr double kBalance = 1e-9;       // amperes, net current at a free node
constexpr double kOffCurrent = 1e-12;   // amperes through a diode that is off
constexpr double kOnVoltage = 1e-9;     // volts across a diode that conducts
constexpr double kBackCurrent = 1e-12;  // amperes a conducting diode may carry backwards

std::vector<double> values_of(const Circuit& c) {
  std::vector<double> v;
  for (const auto& e : c.elements) v.push_back(e.value);
  return v;
}

// The text of the DataError the solver refuses `c` with; a failure naming `what` if it accepts it.
std::string refusal(const Circuit& c, const char* what) {
  try {
    sim::CircuitSolver solver(c, sim::SolveSettings{});
  } catch (const DataError& e) {
    return e.what();
  }
  ADD_FAILURE() << what << " was accepted";
  return {};
}

struct Case {
  std::vector<std::size_t> layers;
  std::uint64_t seed;
};

class CircuitIdeal : public ::testing::TestWithParam<Case> {};

}  // namespace

namespace {

// The KKT conditions at the solver's solution of `c` (at least one diode on and one off).
void expect_kkt(const Circuit& c, sim::SolveSettings settings = {}) {
  sim::CircuitSolver solver(c, settings);
  ASSERT_TRUE(solver.ideal());
  const auto values = values_of(c);
  std::vector<double> v(c.nodes.size(), 0.0);
  const auto result = solver.solve(values, v);
  EXPECT_TRUE(result.converged) << result.iterations << " iterations, residual " << result.residual
                                << " A";
  std::vector<double> current(c.elements.size(), 0.0);
  solver.element_currents(values, v, current);
  const auto fixed = test_support::fixed_nodes(c);
  std::vector<double> leaving(c.nodes.size(), 0.0);
  for (std::size_t e = 0; e < c.elements.size(); ++e) {
    leaving[c.elements[e].a] += current[e];
    leaving[c.elements[e].b] -= current[e];
  }
  for (std::size_t n = 1; n < c.nodes.size(); ++n)
    if (!fixed[n]) {
      EXPECT_LE(std::abs(leaving[n]), kBalance) << "KCL at node " << c.nodes[n];
    }

  std::size_t on = 0, off = 0;
  for (std::size_t e = 0; e < c.elements.size(); ++e) {
    const auto& el = c.elements[e];
    if (el.kind != ElementKind::diode) continue;
    const double across = v[el.a] - v[el.b], i = current[e];
    const bool is_off = std::abs(i) <= kOffCurrent && across <= kOnVoltage;
    const bool is_on = std::abs(across) <= kOnVoltage && i >= -kBackCurrent;
    EXPECT_TRUE(is_off || is_on) << "diode " << el.name << ": " << across << " V across, " << i
                                 << " A through";
    on += is_on && !is_off;
    off += is_off && !is_on;
  }
  // Both kinds present, or the check would prove little.
  EXPECT_GT(on, 0u);
  EXPECT_GT(off, 0u);
}

}  // namespace

TEST_P(CircuitIdeal, SolutionMeetsTheKktConditions) {
  const auto net = test_support::layered_network(GetParam().layers, true, GetParam().seed);
  expect_kkt(net.circuit);
}

// The sparse factorisation's active-set solve, on topologies only it takes (and on a layered
// network forced onto it).
TEST(CircuitIdealSparse, LadderMeetsTheKktConditions) {
  expect_kkt(test_support::ladder_network(600, true, 55, 10.0).circuit);
}

TEST(CircuitIdealSparse, MeshMeetsTheKktConditions) {
  expect_kkt(test_support::mesh_network(25, 20, true, 52, 1.0).circuit);
}

TEST(CircuitIdealSparse, LayeredNetworkOnTheSparsePathMeetsTheKktConditions) {
  sim::SolveSettings settings;
  settings.factorisation = sim::Factorisation::sparse;
  expect_kkt(test_support::layered_network({8, 40, 5}, true, 23).circuit, settings);
}

TEST(CircuitIdealRefusals, DiodeBetweenTwoFreeNodesOfAMeshIsNamed) {
  Circuit c = test_support::mesh_network(30, 30, true, 54, 1.0).circuit;
  c.add(ElementKind::diode, "Dacross", *c.find_node("m3_4"), *c.find_node("m17_20"), 0.0, 0);
  EXPECT_THAT(refusal(c, "an ideal diode between two free nodes of a mesh"), HasSubstr("Dacross"));
}

INSTANTIATE_TEST_SUITE_P(Layered, CircuitIdeal,
                         ::testing::Values(Case{{2, 4, 2}, 22}, Case{{4, 10, 10, 3}, 22},
                                           Case{{8, 40, 5}, 23}, Case{{32, 200, 10}, 24}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string name = "layers";
                           for (auto n : info.param.layers) {
                             name += '_';
                             name += std::to_string(n);
                           }
                           return name;
                         });

TEST(CircuitIdealRefusals, DiodeBetweenTwoFreeNodesIsNamed) {
  Circuit c;
  c.title = "ideal diode between free nodes";
  c.models.push_back({"dideal", true, 0.0, 1.0});
  const auto in = c.node("in"), x = c.node("x"), y = c.node("y");
  c.add(ElementKind::voltage_source, "V1", in, 0, 1.0);
  c.add(ElementKind::resistor, "R1", in, x, 1e-3);
  c.add(ElementKind::resistor, "R2", y, 0, 1e-3);
  c.add(ElementKind::diode, "Dbridge", x, y, 0.0, 0);
  EXPECT_THAT(refusal(c, "an ideal diode between two free nodes"), HasSubstr("Dbridge"));
}

TEST(CircuitIdealRefusals, IdealAndShockleyDiodesDoNotMix) {
  Circuit c;
  c.title = "mixed diodes";
  c.models.push_back({"dideal", true, 0.0, 1.0});
  c.models.push_back({"dshockley", false, 1e-14, 1.0});
  const auto in = c.node("in"), x = c.node("x"), b = c.node("b");
  c.add(ElementKind::voltage_source, "V1", in, 0, 1.0);
  c.add(ElementKind::voltage_source, "Vb", b, 0, 0.3);
  c.add(ElementKind::resistor, "R1", in, x, 1e-3);
  c.add(ElementKind::diode, "D1", x, b, 0.0, 0);
  c.add(ElementKind::diode, "D2", b, x, 0.0, 1);
  const std::string why = refusal(c, "ideal and Shockley diodes mixed");
  EXPECT_THAT(why, HasSubstr("ideal"));
  EXPECT_THAT(why, HasSubstr("Shockley"));
}
