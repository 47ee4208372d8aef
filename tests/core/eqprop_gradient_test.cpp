// Classic EqProp on a device of digital potentiometers with local probes: its step, computed from
// the probes alone, is the gradient of the loss. The exact gradient comes from the device too, by
// central finite differences of the free equilibrium's cost, so the test needs no physics either.
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/eqprop_trainer.hpp"
#include "core/homeostat.hpp"
#include "core/toy_tasks.hpp"
#include "test_devices.hpp"
#include "test_support.hpp"

using namespace aeqlab;
using namespace aeqlab::test_devices;

namespace {

// Settable, with probes, relaxed to round-off so that differences of costs mean something.
TinyHopfieldSpec precise_pots() {
  TinyHopfieldSpec spec;
  spec.settable = true;
  spec.local_probes = true;
  spec.threshold = 1e-14;
  spec.max_iterations = 5000;
  return spec;
}

struct Batch {
  std::vector<double> x, t;
  std::vector<int> labels;
};

Batch xor_batch() {
  const Split data = xor_task();
  std::vector<std::size_t> rows(4);
  std::iota(rows.begin(), rows.end(), std::size_t{0});
  Batch b;
  gather_batch(data.train, rows, b.x, b.t);
  b.labels = data.train.labels;
  return b;
}

// The loss EqProp descends: the mean over the batch of 1/2 |y - t|^2 at the free equilibrium.
double free_cost(Device& device, const Batch& b, const std::vector<double>& theta) {
  device.write_parameters(theta);
  device.set_inputs(b.x, 4);
  device.set_nudge(0.0, b.t);
  EXPECT_TRUE(device.settle().converged);
  std::vector<double> y(b.t.size());
  device.read_outputs(y);
  double cost = 0.0;
  for (std::size_t i = 0; i < y.size(); ++i) cost += 0.5 * (y[i] - b.t[i]) * (y[i] - b.t[i]);
  return cost / 4.0;
}

std::vector<double> exact_gradient(Device& device, const Batch& b, const std::vector<double>& theta,
                                   double h) {
  std::vector<double> g(theta.size());
  for (std::size_t k = 0; k < theta.size(); ++k) {
    auto plus = theta, minus = theta;
    plus[k] += h;
    minus[k] -= h;
    g[k] = (free_cost(device, b, plus) - free_cost(device, b, minus)) / (2 * h);
  }
  device.write_parameters(theta);
  return g;
}

double cosine(const std::vector<double>& a, const std::vector<double>& b) {
  double ab = 0.0, aa = 0.0, bb = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

using test_support::parameters_of;

// One EqProp step from the device's present parameters; returns the trainer's estimate.
std::vector<double> eqprop_estimate(Device& device, const Batch& b, NudgingMode mode, double beta,
                                    std::vector<double>* after = nullptr) {
  SettleOnlyHomeostat homeostat;
  EqpropSettings s;
  s.mode = mode;
  s.beta = beta;
  s.learning_rates = {1.0};
  s.score_batches = false;
  EqpropTrainer trainer(device, homeostat, s);
  const StepReport r = trainer.step(b.x, b.t, {}, 4);
  EXPECT_EQ(r.settles, 2u) << "two equilibria per step, nothing more";
  if (after) *after = trainer.parameter_target();
  return trainer.last_gradient();
}

}  // namespace

TEST(EqpropGradient, TheCenteredStepIsTheExactGradientAtSmallBeta) {
  TinyHopfield device(precise_pots());
  const Batch b = xor_batch();
  const auto theta = parameters_of(device);
  const auto exact = exact_gradient(device, b, theta, 1e-5);

  std::vector<double> after;
  const auto estimate = eqprop_estimate(device, b, NudgingMode::centered, 1e-3, &after);
  const double c = cosine(estimate, exact);
  std::printf("[ eqprop   ] cosine(EqProp step, exact gradient) = %.6f (centered, beta = 1e-3)\n",
              c);
  EXPECT_GE(c, 0.999);
  // And not merely aligned: the same size too.
  double worst = 0.0, largest = 0.0;
  for (std::size_t k = 0; k < exact.size(); ++k) {
    worst = std::max(worst, std::abs(estimate[k] - exact[k]));
    largest = std::max(largest, std::abs(exact[k]));
  }
  EXPECT_LT(worst, 1e-2 * largest);
  EXPECT_GT(largest, 1e-3) << "a vanishing gradient would make the comparison empty";
  // The trainer took that step (learning rate 1), and wrote it to the device.
  for (std::size_t k = 0; k < theta.size(); ++k)
    ASSERT_DOUBLE_EQ(after[k], theta[k] - estimate[k]) << "parameter " << k;
  EXPECT_EQ(parameters_of(device), after);
}

TEST(EqpropGradient, CenteredNudgingIsCloserToTheGradientThanEitherOneSidedMode) {
  // One-sided nudging is biased to first order in beta; here also where a unit rests on the
  // bound of its interval, since a one-sided nudge sees only one side of that kink, as the
  // central differences do not. The centered estimate averages both sides.
  TinyHopfield device(precise_pots());
  const Batch b = xor_batch();
  const auto theta = parameters_of(device);
  const auto exact = exact_gradient(device, b, theta, 1e-5);
  double norm = 0.0;
  for (const double g : exact) norm += g * g;
  auto relative_error = [&](NudgingMode mode, double beta) {
    device.write_parameters(theta);
    const auto e = eqprop_estimate(device, b, mode, beta);
    EXPECT_GT(cosine(e, exact), 0.97) << to_string(mode) << " beta " << beta;
    double err = 0.0;
    for (std::size_t k = 0; k < e.size(); ++k) err += (e[k] - exact[k]) * (e[k] - exact[k]);
    return std::sqrt(err / norm);
  };
  for (const double beta : {0.1, 0.01}) {
    const double centered = relative_error(NudgingMode::centered, beta);
    EXPECT_LT(centered, relative_error(NudgingMode::optimistic, beta)) << "beta " << beta;
    EXPECT_LT(centered, relative_error(NudgingMode::pessimistic, beta)) << "beta " << beta;
  }
  EXPECT_LT(relative_error(NudgingMode::centered, 0.01), 0.01);
}
