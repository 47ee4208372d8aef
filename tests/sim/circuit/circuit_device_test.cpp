// The circuit device's promises beyond the gradient: potentiometers land on taps and keep their
// own tolerance, values outside a safe range are refused by name, a relaxing conductance follows
// its knob, and a snapshot restores the device exactly.

#include <cmath>
#include <sstream>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "sim/circuit/circuit_device.hpp"

namespace aeqlab::sim {
namespace {

CircuitSpec pots() {
  CircuitSpec s;
  s.layers = {2, 4, 2};
  s.settable = true;
  s.taps = 11;  // steps of (g_max - g_min) / 10
  s.tolerance = 0.2;
  return s;
}

TEST(CircuitDevice, PotentiometersLandOnTapsAndKeepTheirOwnTolerance) {
  CircuitDevice device(pots());
  const auto& d = device.describe();
  EXPECT_TRUE(d.knobs.empty());
  EXPECT_TRUE(d.capabilities.settable_parameters);
  EXPECT_TRUE(d.capabilities.local_probes);
  EXPECT_FALSE(d.capabilities.native_homeostasis);
  const std::size_t p = d.parameter_count();
  const double step = (1e-3 - 1e-7) / 10.0;
  std::vector<double> wanted(p), got(p);
  for (std::size_t k = 0; k < p; ++k) wanted[k] = 1e-7 + (double(k % 7) + 0.3) * step;
  device.write_parameters(wanted);
  device.read_parameters(got);
  for (std::size_t k = 0; k < p; ++k)
    EXPECT_NEAR(got[k], 1e-7 + double(k % 7) * step, 1e-15) << "parameter " << k;
  // The built circuit carries each element's own factor, within +-20%, not all the same.
  const auto circuit = device.circuit(0);
  double low = 2.0, high = 0.0;
  for (std::size_t k = 0; k < p; ++k) {
    if (got[k] <= 1e-7) continue;
    const double factor = circuit.elements[device.layout().parameters[k]].value / got[k];
    low = std::min(low, factor);
    high = std::max(high, factor);
  }
  EXPECT_GE(low, 0.8);
  EXPECT_LE(high, 1.2);
  EXPECT_GT(high - low, 0.05);
  // The same seed builds the same parts.
  CircuitDevice again(pots());
  again.write_parameters(wanted);
  const auto circuit2 = again.circuit(0);
  for (std::size_t k = 0; k < p; ++k)
    EXPECT_EQ(circuit.elements[device.layout().parameters[k]].value,
              circuit2.elements[device.layout().parameters[k]].value);
  EXPECT_THROW(device.set_knobs(wanted), DeviceError);
}

TEST(CircuitDevice, ValuesOutsideTheirSafeRangeAreRefusedByName) {
  CircuitDevice device(pots());
  try {
    device.set_inputs(std::vector<double>{0.5, 1.5}, 1);
    FAIL() << "an input of 1.5 V was accepted";
  } catch (const SafeRangeError& e) {
    EXPECT_NE(std::string(e.what()).find("1.5"), std::string::npos) << e.what();
  }
  device.set_inputs(std::vector<double>{0.5, 1.0}, 1);
  EXPECT_THROW(device.set_nudge(1.0, std::vector<double>{0.0, 1.0}), SafeRangeError);
  EXPECT_THROW(device.set_nudge(1e-4, std::vector<double>{0.0, 9.0}), SafeRangeError);
  std::vector<double> theta(device.describe().parameter_count(), 5e-3);  // above g_max
  EXPECT_THROW(device.write_parameters(theta), SafeRangeError);
}

TEST(CircuitDevice, ARelaxingConductanceFollowsItsKnob) {
  CircuitSpec s;
  s.layers = {2, 4, 2};
  s.weight_compliance = {1e-4, 1e-4};
  s.bias_compliance = {1e-4, 1e-4};
  CircuitDevice device(s);
  const std::size_t p = device.describe().parameter_count();
  device.set_inputs(std::vector<double>{1.0, 0.0}, 1);
  device.set_nudge(0.0, std::vector<double>{0.0, 0.0});
  std::vector<double> knobs(p, 5e-4);
  device.set_knobs(knobs);
  device.settle();
  std::vector<double> theta(p), probes(p);
  device.read_parameters(theta);
  device.read_probes(probes);  // the voltages the conductances relaxed under
  for (std::size_t k = 0; k < p; ++k)
    EXPECT_NEAR(theta[k], std::clamp(5e-4 - 1e-4 * probes[k] * probes[k] / 2, 1e-7, 1e-3), 1e-18)
        << "parameter " << k;
}

TEST(CircuitDevice, ASnapshotRestoresTheDeviceExactly) {
  CircuitSpec s;
  s.layers = {3, 5, 2};
  s.output_noise = 1e-3;  // the noise generator is part of the state
  CircuitDevice device(s);
  device.set_inputs(std::vector<double>{0.2, 0.9, 0.4}, 1);
  device.set_nudge(1e-5, std::vector<double>{1.0, 0.0});
  device.settle();
  std::stringstream snapshot;
  device.save_snapshot(snapshot);
  auto run = [](CircuitDevice& dev) {
    dev.settle();
    std::vector<double> y(2), theta(dev.describe().parameter_count());
    dev.read_outputs(y);
    dev.read_parameters(theta);
    y.insert(y.end(), theta.begin(), theta.end());
    return y;
  };
  const auto first = run(device);
  CircuitDevice other(s);
  other.restore_snapshot(snapshot);
  EXPECT_EQ(run(other), first);
  std::stringstream damaged("not a snapshot");
  EXPECT_THROW(other.restore_snapshot(damaged), DeviceError);
  EXPECT_EQ(run(other).size(), first.size());  // still usable after the refusal
}

}  // namespace
}  // namespace aeqlab::sim
