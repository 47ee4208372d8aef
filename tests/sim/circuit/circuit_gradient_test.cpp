// The circuit device's learning signals against the exact gradient of the loss (implicit
// differentiation through Kirchhoff's laws, sim/circuit_solver): an AEqprop step made by the
// feedback homeostat on the relaxing circuit, and the EqProp contrast of local probes on the
// digital-potentiometer circuit, both at small beta.

#include <cmath>
#include <numeric>
#include <vector>

#include <gtest/gtest.h>

#include "core/homeostat.hpp"
#include "core/secant_homeostat.hpp"
#include "sim/circuit/circuit_device.hpp"

namespace aeqlab::sim {
namespace {

double cosine(const std::vector<double>& a, const std::vector<double>& b) {
  const double ab = std::inner_product(a.begin(), a.end(), b.begin(), 0.0);
  const double aa = std::inner_product(a.begin(), a.end(), a.begin(), 0.0);
  const double bb = std::inner_product(b.begin(), b.end(), b.begin(), 0.0);
  return ab / std::sqrt(aa * bb);
}

// S/V^2: small enough that the feedback loop on a 1e-4 S conductance is stable.
constexpr double eps = 1e-6;

CircuitSpec small_circuit(bool ideal, bool settable) {
  CircuitSpec s;
  s.layers = {3, 6, 2};
  s.ideal_diodes = ideal;
  s.settable = settable;
  s.weight_compliance = {eps, eps};
  s.bias_compliance = {eps, eps};
  s.tolerance = 0.2;
  s.taps = 1024;
  s.seed = 3;
  return s;
}

const std::vector<double> inputs{0.9, 0.2, 0.6};
const std::vector<double> targets{1.0, 0.0};
constexpr double beta = 1e-6;  // siemens: about 1e-3 of an output node's conductance

// The exact gradient at the present parameters, from a free equilibrium with them held.
std::vector<double> exact_gradient(CircuitDevice& device) {
  device.set_inputs(inputs, 1);
  device.set_nudge(0.0, targets);
  if (device.describe().capabilities.native_homeostasis)
    device.settle_homeostatic();
  else
    device.settle();
  return device.loss_gradient(0, targets);
}

// Which feedback homeostat holds the parameters in aeqprop_step_follows_gradient.
enum class Loop { proportional, secant, probe, auto_probe };

void aeqprop_step_follows_gradient(bool ideal, Loop loop) {
  CircuitDevice device(small_circuit(ideal, false));
  std::vector<double> theta(device.describe().parameter_count());
  device.read_parameters(theta);
  const auto gradient = exact_gradient(device);
  device.read_parameters(theta);
  if (ideal) {
    // The check means something only if the diodes bend the response: some hidden node sits on
    // a rail.
    std::size_t on_rail = 0;
    const auto& c = device.layout().circuit;
    for (std::size_t n = 0; n < c.nodes.size(); ++n)
      if (c.nodes[n].rfind("h1_", 0) == 0 &&
          (device.voltages(0)[n] <= 0.0 || device.voltages(0)[n] >= 1.0))
        ++on_rail;
    EXPECT_GT(on_rail, 0u);
  }

  // Centered nudging: hold at -beta/2 by feedback, then release the knobs at +beta/2.
  FeedbackHomeostat proportional({1.0, 1e-15, 200});
  SecantHomeostat secant_loop({1.0, 1e-15, 200});
  FeedbackSettings stiff{1.0, 1e-15, 200};
  stiff.probe = 1e4;  // the stiff probe (docs/algorithm.md §4.2)
  SecantHomeostat probe_loop(stiff);
  FeedbackSettings automatic{1.0, 1e-15, 200};
  automatic.probe_auto = true;  // trainer.feedback.probe "auto", the default
  SecantHomeostat auto_loop(automatic);
  Homeostat& homeostat = loop == Loop::secant       ? static_cast<Homeostat&>(secant_loop)
                         : loop == Loop::probe      ? static_cast<Homeostat&>(probe_loop)
                         : loop == Loop::auto_probe ? static_cast<Homeostat&>(auto_loop)
                                                    : static_cast<Homeostat&>(proportional);
  const char* name = loop == Loop::secant       ? "secant"
                     : loop == Loop::probe      ? "secant with the stiff probe"
                     : loop == Loop::auto_probe ? "secant with the probe's ratio chosen"
                                                : "proportional";
  device.set_nudge(-beta / 2, targets);
  const auto held = homeostat.hold(device, theta);
  ASSERT_TRUE(held.converged) << "feedback homeostat error " << held.max_error;
  std::printf("%s homeostat: %zu rounds\n", name, held.rounds);
  device.set_nudge(beta / 2, targets);
  device.settle();
  std::vector<double> moved(theta.size());
  device.read_parameters(moved);

  std::vector<double> step(theta.size()), descent(theta.size());
  for (std::size_t k = 0; k < theta.size(); ++k) {
    step[k] = moved[k] - theta[k];
    descent[k] = -gradient[k];
  }
  const double c = cosine(step, descent);
  EXPECT_GE(c, 0.999) << (ideal ? "ideal" : "shockley") << " diodes";
  // The step is an SGD step with learning rate eps * beta (every group has the same eps here).
  const double norm_step =
      std::sqrt(std::inner_product(step.begin(), step.end(), step.begin(), 0.0));
  const double norm_grad =
      std::sqrt(std::inner_product(descent.begin(), descent.end(), descent.begin(), 0.0));
  EXPECT_NEAR(norm_step / (eps * beta * norm_grad), 1.0, 0.01);
  std::printf(
      "AEqprop (feedback homeostat), %s diodes: cosine %.9f, |step| / (eps beta |grad|) %.9f\n",
      ideal ? "ideal" : "Shockley", c, norm_step / (eps * beta * norm_grad));
}

TEST(CircuitGradient, AeqpropFeedbackStepFollowsTheExactGradientIdealDiodes) {
  aeqprop_step_follows_gradient(true, Loop::proportional);
}

TEST(CircuitGradient, AeqpropFeedbackStepFollowsTheExactGradientShockleyDiodes) {
  aeqprop_step_follows_gradient(false, Loop::proportional);
}

TEST(CircuitGradient, AeqpropSecantFeedbackStepFollowsTheExactGradientIdealDiodes) {
  aeqprop_step_follows_gradient(true, Loop::secant);
}

TEST(CircuitGradient, AeqpropSecantFeedbackStepFollowsTheExactGradientShockleyDiodes) {
  aeqprop_step_follows_gradient(false, Loop::secant);
}

TEST(CircuitGradient, AeqpropStiffProbeStepFollowsTheExactGradientIdealDiodes) {
  aeqprop_step_follows_gradient(true, Loop::probe);
}

TEST(CircuitGradient, AeqpropStiffProbeStepFollowsTheExactGradientShockleyDiodes) {
  aeqprop_step_follows_gradient(false, Loop::probe);
}

TEST(CircuitGradient, AeqpropAutoProbeStepFollowsTheExactGradientIdealDiodes) {
  aeqprop_step_follows_gradient(true, Loop::auto_probe);
}

TEST(CircuitGradient, AeqpropAutoProbeStepFollowsTheExactGradientShockleyDiodes) {
  aeqprop_step_follows_gradient(false, Loop::auto_probe);
}

void eqprop_contrast_follows_gradient(bool ideal) {
  CircuitDevice device(small_circuit(ideal, true));
  const auto gradient = exact_gradient(device);
  const std::size_t p = device.describe().parameter_count();
  ASSERT_EQ(device.describe().probes.law, ProbeLaw::half_square);
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
  const double c = cosine(estimate, gradient);
  EXPECT_GE(c, 0.999) << (ideal ? "ideal" : "shockley") << " diodes";
  std::printf("EqProp (probe contrast, digital pots), %s diodes: cosine %.9f\n",
              ideal ? "ideal" : "Shockley", c);
}

TEST(CircuitGradient, EqpropProbeContrastFollowsTheExactGradientIdealDiodes) {
  eqprop_contrast_follows_gradient(true);
}

TEST(CircuitGradient, EqpropProbeContrastFollowsTheExactGradientShockleyDiodes) {
  eqprop_contrast_follows_gradient(false);
}

}  // namespace
}  // namespace aeqlab::sim
