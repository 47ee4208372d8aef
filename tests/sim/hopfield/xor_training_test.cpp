// XOR on the simulated Hopfield device, through the trainer and the contract only: the small
// device must learn it to 100%, with native homeostasis and with the feedback homeostat.

#include <numeric>
#include <vector>

#include <gtest/gtest.h>

#include "core/aeqprop_trainer.hpp"
#include "core/evaluation.hpp"
#include "core/homeostat.hpp"
#include "core/toy_tasks.hpp"
#include "sim/hopfield/hopfield_device.hpp"

using namespace aeqlab;

namespace {

sim::HopfieldSpec xor_device(double first_compliance) {
  sim::HopfieldSpec s;
  s.layers = {2, 16, 2};
  s.gains = {4.0, 1.0};
  s.weight_compliance = {first_compliance, first_compliance / 10};
  s.bias_compliance = {0.2, 0.02};
  s.replicas = 4;
  s.seed = 1;
  return s;
}

// Epochs of full-batch AEqprop steps until every pattern is right; returns the epochs needed
// (or max_epochs + 1 if it never gets there).
std::size_t epochs_to_learn(Device& device, Homeostat& homeostat, std::size_t max_epochs) {
  Split xor_data = xor_task();
  AeqpropSettings settings;
  settings.score_batches = false;
  AeqpropTrainer trainer(device, homeostat, settings);
  std::vector<std::size_t> all(4);
  std::iota(all.begin(), all.end(), std::size_t{0});
  std::vector<double> x, t;
  gather_batch(xor_data.train, all, x, t);
  for (std::size_t epoch = 1; epoch <= max_epochs; ++epoch) {
    trainer.step(x, t, {}, 4);
    const Evaluation e = evaluate(device, homeostat, trainer.parameter_target(), xor_data.test);
    if (e.errors == 0) return epoch;
  }
  return max_epochs + 1;
}

}  // namespace

TEST(HopfieldXor, LearnsWithNativeHomeostasis) {
  sim::HopfieldDevice device(xor_device(0.5));
  NativeHomeostat homeostat;
  const std::size_t epochs = epochs_to_learn(device, homeostat, 400);
  EXPECT_LE(epochs, 400u) << "XOR not learned in 400 steps";
}

TEST(HopfieldXor, LearnsWithTheFeedbackHomeostat) {
  sim::HopfieldDevice device(xor_device(0.3));
  FeedbackHomeostat homeostat({1.0, 1e-6, 200});
  const std::size_t epochs = epochs_to_learn(device, homeostat, 600);
  EXPECT_LE(epochs, 600u) << "XOR not learned in 600 steps";
}
