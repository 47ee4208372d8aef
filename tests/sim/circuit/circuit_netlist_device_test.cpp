// device.type "netlist": a lab's own netlist as the circuit device. Its mapping mistakes are
// refused naming the key, the element or node and the netlist's line; its learning signals
// follow the exact gradient (AEqprop on relaxing resistors, EqProp on potentiometers), as the
// layered device's do (circuit_gradient_test.cpp).

#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../../core/temp_dir.hpp"
#include "core/error.hpp"
#include "learning_signals.hpp"
#include "netlist_deck.hpp"
#include "sim/circuit/circuit_device.hpp"

namespace aeqlab::sim {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// The message the device refuses `section` with ("" and a failure if it is accepted).
std::string refusal(const nlohmann::json& section) {
  try {
    CircuitDevice device(netlist_spec_from_json(section));
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << section.dump();
  return {};
}

class NetlistDeviceMapping : public ::testing::Test {
 protected:
  test_support::TempDir dir;
  std::filesystem::path deck = dir / "deck.cir";
  nlohmann::json section = test_support::netlist_device_section(deck);
  std::string at(int line) const { return deck.string() + ":" + std::to_string(line); }
};

TEST_F(NetlistDeviceMapping, AGoodMappingBuildsTheDevice) {
  CircuitDevice device(netlist_spec_from_json(section));
  const auto& d = device.describe();
  EXPECT_EQ(d.inputs.count, 2u);
  EXPECT_EQ(d.outputs.count, 2u);
  EXPECT_EQ(d.parameter_count(), 12u);  // Rin1-4, Rm1-4, Rout1-4; not the loads
  EXPECT_EQ(device.layout().input_minus.size(), 2u);
  EXPECT_THAT(d.model, HasSubstr("deck.cir"));
}

TEST_F(NetlistDeviceMapping, AnInputThatIsNoElementIsNamed) {
  section["inputs"][1][0] = "Vx9";
  EXPECT_THAT(refusal(section), AllOf(HasSubstr("device.inputs[1]"), HasSubstr("Vx9")));
}

TEST_F(NetlistDeviceMapping, AnInputThatIsAResistorIsNamedWithItsLine) {
  section["inputs"][0][1] = "Rin1";
  EXPECT_THAT(refusal(section), AllOf(HasSubstr("device.inputs[0]"), HasSubstr(at(9)),
                                      HasSubstr("Rin1"), HasSubstr("resistor")));
}

TEST_F(NetlistDeviceMapping, AnUnknownOutputNodeIsNamed) {
  section["outputs"][1] = "o9";
  EXPECT_THAT(refusal(section), AllOf(HasSubstr("device.outputs[1]"), HasSubstr("'o9'")));
}

TEST_F(NetlistDeviceMapping, AnOutputASourceHoldsIsNamedWithTheSourcesLine) {
  section["outputs"][0] = "hi";
  EXPECT_THAT(refusal(section),
              AllOf(HasSubstr("device.outputs[0]"), HasSubstr("Vhi"), HasSubstr(at(7))));
}

TEST_F(NetlistDeviceMapping, APatternMatchingNoResistorIsNamed) {
  section["trainable"][1] = "Q*";
  EXPECT_THAT(refusal(section), AllOf(HasSubstr("device.trainable[1]"), HasSubstr("'Q*'")));
}

TEST_F(NetlistDeviceMapping, ATrainableNameThatIsADiodeIsNamedWithItsLine) {
  section["trainable"].push_back("Dh2");
  EXPECT_THAT(refusal(section),
              AllOf(HasSubstr("device.trainable[3]"), HasSubstr(at(25)), HasSubstr("diode")));
}

TEST_F(NetlistDeviceMapping, AResistorOutsideTheConductanceRangeIsNamedWithItsLine) {
  section["conductance"] = {{"min", 4e-5}, {"max", 1e-3}};  // Rin2 is 30k, 3.3e-5 S
  EXPECT_THAT(refusal(section),
              AllOf(HasSubstr("Rin2"), HasSubstr(at(10)), HasSubstr("device.conductance")));
}

TEST_F(NetlistDeviceMapping, ACurrentSourceIsRefusedWithItsLine) {
  std::string with_current = test_support::kNetlistDeck;
  with_current.insert(with_current.find(".model"), "Ibad m11 0 DC 1u\n");  // line 27
  section = test_support::netlist_device_section(deck, with_current);
  EXPECT_THAT(refusal(section), AllOf(HasSubstr("Ibad"), HasSubstr(at(27))));
}

TEST_F(NetlistDeviceMapping, LayeredKeysAreRefused) {
  section["layers"] = {2, 4, 2};
  EXPECT_THAT(refusal(section), HasSubstr("layers"));
}

TEST_F(NetlistDeviceMapping, MixedInputShapesAreRefused) {
  section["inputs"][1] = "Vx2p";
  EXPECT_THAT(refusal(section), HasSubstr("device.inputs[1]"));
}

TEST_F(NetlistDeviceMapping, ANetlistErrorNamesTheFileAndLine) {
  std::string bad = test_support::kNetlistDeck;
  bad.insert(bad.find("Rin1"), "C1 m11 0 1n\n");  // line 9: no capacitors
  section = test_support::netlist_device_section(deck, bad);
  EXPECT_THAT(refusal(section), AllOf(HasSubstr("deck.cir:9"), HasSubstr("C1")));
}

// A deck with subcircuits and an include: the mapping names flattened elements and nodes
// (ngspice's names, docs/circuit-device.md), and refusals point into the subcircuit's definition
// in the included file.
class NetlistDeviceHierarchy : public ::testing::Test {
 protected:
  NetlistDeviceHierarchy() {
    dir.write("cells.inc",
              "* one cell: a weight, and a diode clamp on its far end\n"  // 1
              ".subckt cell in out hi lo params: r=20k\n"                 // 2
              "Rw in mid {r}\n"                                           // 3
              "Racc mid out 100\n"                                        // 4
              "Dh out hi dc\n"                                            // 5
              "Dl lo out dc\n"                                            // 6
              ".ends\n");                                                 // 7
    section = test_support::netlist_device_section(deck,
                                                   "two cells per input into two outputs\n"  // 1
                                                   ".include cells.inc\n"                    // 2
                                                   ".global hi lo\n"                         // 3
                                                   "Vx1p x1p 0 0\n"                          // 4
                                                   "Vx1n x1n 0 0\n"                          // 5
                                                   "Vx2p x2p 0 0\n"                          // 6
                                                   "Vx2n x2n 0 0\n"                          // 7
                                                   "Vhi hi 0 0.1\n"                          // 8
                                                   "Vlo lo 0 -0.1\n"                         // 9
                                                   "X1 x1p o1 hi lo cell r=10k\n"            // 10
                                                   "X2 x1n o2 hi lo cell\n"                  // 11
                                                   "X3 x2p o1 hi lo cell r={30k}\n"          // 12
                                                   "X4 x2n o2 hi lo cell\n"                  // 13
                                                   "Rl1 o1 0 50k\n"                          // 14
                                                   "Rl2 o2 0 50k\n"                          // 15
                                                   ".model dc D(IS=1e-9)\n");                // 16
    section["trainable"] = {"r.x*.rw"};
  }
  test_support::TempDir dir;
  std::filesystem::path deck = dir / "deck.cir";
  nlohmann::json section;
};

TEST_F(NetlistDeviceHierarchy, TrainsTheFlattenedResistors) {
  CircuitDevice device(netlist_spec_from_json(section));
  const auto& layout = device.layout();
  ASSERT_EQ(layout.parameters.size(), 4u);
  std::vector<std::string> names;
  for (const auto e : layout.parameters) names.push_back(layout.circuit.elements[e].name);
  EXPECT_EQ(names, (std::vector<std::string>{"r.x1.rw", "r.x2.rw", "r.x3.rw", "r.x4.rw"}));
  EXPECT_DOUBLE_EQ(1.0 / layout.circuit.elements[layout.parameters[2]].value, 30e3);
  // An output inside an instance, by its flattened name.
  section["outputs"] = {"x1.mid", "o2"};
  CircuitDevice inner(netlist_spec_from_json(section));
  EXPECT_EQ(inner.layout().circuit.nodes[inner.layout().output_plus[0]], "x1.mid");
}

TEST_F(NetlistDeviceHierarchy, RefusalsPointIntoTheSubcircuitsFile) {
  section["trainable"] = {"r.x*.rw", "d.x1.dh"};
  EXPECT_THAT(refusal(section),
              AllOf(HasSubstr("device.trainable[1]"), HasSubstr("d.x1.dh"), HasSubstr("diode"),
                    HasSubstr((dir / "cells.inc").string() + ":5 (included from " + deck.string() +
                              ":2)")));
  section["trainable"] = {"Rw"};  // the name inside the definition is not the element's name
  EXPECT_THAT(refusal(section), AllOf(HasSubstr("device.trainable[0]"), HasSubstr("'Rw'"),
                                      HasSubstr("matches no resistor")));
  section["trainable"] = {"r.x*.rw"};
  section["conductance"] = {{"min", 1e-7}, {"max", 5e-5}};  // X1's 10k is 1e-4 S
  EXPECT_THAT(refusal(section), AllOf(HasSubstr("r.x1.rw"), HasSubstr("cells.inc:3"),
                                      HasSubstr("device.conductance")));
}

// --- learning signals against the exact gradient ------------------------------------------------

using test_support::cosine;

constexpr double eps = 1e-6;
constexpr double beta = 1e-7;  // about 1e-3 of an output's conductance
const std::vector<double> inputs{1.8, -0.7};
const std::vector<double> targets{0.2, -0.1};

CircuitSpec gradient_spec(const std::filesystem::path& deck, bool settable) {
  auto section = test_support::netlist_device_section(deck);
  section["compliance"] = eps;
  section["parameters"] = settable ? "settable" : "relaxing";
  section["pots"] = {{"taps", 1024u}, {"tolerance", 0.2}};
  section["seed"] = 3u;

  return netlist_spec_from_json(section);
}

std::vector<double> exact_gradient(CircuitDevice& device) {
  device.set_inputs(inputs, 1);
  device.set_nudge(0.0, targets);
  if (device.describe().capabilities.native_homeostasis)
    device.settle_homeostatic();
  else
    device.settle();
  // The check means something only if a diode bends the response.
  const auto& c = device.layout().circuit;
  std::size_t conducting = 0;
  for (const auto& e : c.elements)
    conducting +=
        e.kind == ElementKind::diode && device.voltages(0)[e.a] - device.voltages(0)[e.b] > 0.2;
  EXPECT_GT(conducting, 0u);
  return device.loss_gradient(0, targets);
}

TEST(NetlistDeviceGradient, AeqpropFeedbackStepFollowsTheExactGradient) {
  test_support::TempDir dir;
  CircuitDevice device(gradient_spec(dir / "deck.cir", false));
  std::vector<double> theta(device.describe().parameter_count());
  const auto gradient = exact_gradient(device);
  device.read_parameters(theta);
  const auto step = test_support::aeqprop_feedback_step(device, theta, targets, beta);
  ASSERT_EQ(step.size(), theta.size());
  std::vector<double> descent(theta.size());
  for (std::size_t k = 0; k < theta.size(); ++k) descent[k] = -gradient[k];
  const double c = cosine(step, descent);
  EXPECT_GE(c, 0.999);
  std::printf("netlist device, AEqprop (feedback homeostat): cosine %.9f\n", c);
}

TEST(NetlistDeviceGradient, EqpropProbeContrastFollowsTheExactGradient) {
  test_support::TempDir dir;
  CircuitDevice device(gradient_spec(dir / "deck.cir", true));
  const auto gradient = exact_gradient(device);
  const auto estimate = test_support::eqprop_probe_contrast(device, targets, beta);
  const double c = cosine(estimate, gradient);
  EXPECT_GE(c, 0.999);
  std::printf("netlist device, EqProp (probe contrast, digital pots): cosine %.9f\n", c);
}

}  // namespace
}  // namespace aeqlab::sim
