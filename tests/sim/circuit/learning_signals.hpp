#pragma once
// The circuit device's learning signals at small beta, shared by the gradient checks of the
// layered device (circuit_gradient_test.cpp) and of the netlist device
// (circuit_netlist_device_test.cpp): the AEqprop step a feedback homeostat makes on relaxing
// conductances, and the EqProp contrast of the local probes.

#include <cmath>
#include <numeric>
#include <vector>

#include <gtest/gtest.h>

#include "core/homeostat.hpp"
#include "sim/circuit/circuit_device.hpp"

namespace aeqlab::test_support {

inline double cosine(const std::vector<double>& a, const std::vector<double>& b) {
  const double ab = std::inner_product(a.begin(), a.end(), b.begin(), 0.0);
  const double aa = std::inner_product(a.begin(), a.end(), a.begin(), 0.0);
  const double bb = std::inner_product(b.begin(), b.end(), b.begin(), 0.0);
  return ab / std::sqrt(aa * bb);
}

// Centered nudging: hold the parameters `theta` at -beta/2 by feedback, then release the knobs at
// +beta/2. Returns the parameters' move (empty, with a failure, if the homeostat does not hold).
inline std::vector<double> aeqprop_feedback_step(sim::CircuitDevice& device,
                                                 const std::vector<double>& theta,
                                                 const std::vector<double>& targets, double beta) {
  FeedbackHomeostat homeostat({1.0, 1e-15, 200});
  device.set_nudge(-beta / 2, targets);
  const auto held = homeostat.hold(device, theta);
  EXPECT_TRUE(held.converged) << "feedback homeostat error " << held.max_error;
  if (!held.converged) return {};
  device.set_nudge(beta / 2, targets);
  device.settle();
  std::vector<double> step(theta.size());
  device.read_parameters(step);
  for (std::size_t k = 0; k < theta.size(); ++k) step[k] -= theta[k];
  return step;
}

// (E(+beta/2) - E(-beta/2)) / beta per probe, E = (dV)^2 / 2: EqProp's gradient estimate.
inline std::vector<double> eqprop_probe_contrast(sim::CircuitDevice& device,
                                                 const std::vector<double>& targets, double beta) {
  const std::size_t p = device.describe().parameter_count();
  auto probe_energy = [&](double b) {
    device.set_nudge(b, targets);
    device.settle();
    std::vector<double> probes(p);
    device.read_probes(probes);
    for (auto& v : probes) v = 0.5 * v * v;
    return probes;
  };
  const auto low = probe_energy(-beta / 2), high = probe_energy(beta / 2);
  std::vector<double> estimate(p);
  for (std::size_t k = 0; k < p; ++k) estimate[k] = (high[k] - low[k]) / beta;
  return estimate;
}

}  // namespace aeqlab::test_support
