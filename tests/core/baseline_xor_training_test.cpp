// The rules labs compare AEqprop with (classic EqProp, coupled learning, SPSA) learn XOR through
// the contract on a network of digital potentiometers, and what each costs in device queries
// (settles) is measured: to the first step after which every pattern is right, and further, to a
// mean cost of 0.05 (the outputs near their targets, not merely on the right side). The counts
// are printed; the assertions bound them loosely, so that a rule that stopped learning, or a
// trainer that started asking the device for more than it should, fails.
#include <cstdio>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/aeqprop_trainer.hpp"
#include "core/coupled_learning_trainer.hpp"
#include "core/eqprop_trainer.hpp"
#include "core/evaluation.hpp"
#include "core/homeostat.hpp"
#include "core/spsa_trainer.hpp"
#include "core/toy_tasks.hpp"
#include "test_devices.hpp"

using namespace aeqlab;
using namespace aeqlab::test_devices;
using ::testing::AnyOfArray;
using ::testing::Contains;
using ::testing::Each;
using ::testing::Not;

namespace {

constexpr double kGoodCost = 0.05;

TinyHopfieldSpec pots() {
  TinyHopfieldSpec spec;
  spec.settable = true;
  spec.local_probes = true;
  return spec;
}

struct Progress {
  std::size_t steps_to_solved = 0;    // 0: never
  std::size_t settles_to_solved = 0;  // device queries of the training steps until then
  std::size_t steps_to_good = 0;      // to a mean cost <= kGoodCost as well; 0: never
  std::size_t settles_to_good = 0;
  Evaluation last;
};

// Full-batch steps on the four patterns; after each, an evaluation (not counted: it is the same
// for every rule) decides whether XOR is solved.
Progress train_xor(Trainer& trainer, Device& device, std::size_t max_steps) {
  const Split xor_data = xor_task();
  Dataset train = xor_data.train;
  train.classes = device.describe().outputs.count;
  std::vector<std::size_t> rows(train.size());
  std::iota(rows.begin(), rows.end(), std::size_t{0});
  std::vector<double> x, t;
  gather_batch(train, rows, x, t);
  Progress p;
  std::size_t settles = 0;
  for (std::size_t step = 1; step <= max_steps; ++step) {
    settles += trainer.step(x, t, {}, train.size()).settles;
    p.last = evaluate(device, trainer.homeostat(), trainer.parameter_target(), train);
    if (p.last.errors == 0 && !p.steps_to_solved) {
      p.steps_to_solved = step;
      p.settles_to_solved = settles;
    }
    if (p.last.errors == 0 && p.last.cost <= kGoodCost) {
      p.steps_to_good = step;
      p.settles_to_good = settles;
      break;
    }
  }
  return p;
}

void report(const char* rule, const Progress& p) {
  std::printf(
      "[ %-8s ] XOR solved after %zu steps, %zu settles; mean cost <= %.2f after %zu steps, %zu "
      "settles\n",
      rule, p.steps_to_solved, p.settles_to_solved, kGoodCost, p.steps_to_good, p.settles_to_good);
}

// The three rules' settings, tuned once on this device (seed 1) and left alone.
EqpropSettings eqprop_settings() {
  EqpropSettings s;
  s.beta = 0.5;
  s.learning_rates = {0.3};
  s.score_batches = false;
  return s;
}

CoupledLearningSettings coupled_settings() {
  CoupledLearningSettings s;
  s.amplitude = 0.5;
  s.clamp_strength = 5.0;
  s.learning_rates = {0.3};
  s.score_batches = false;
  return s;
}

SpsaSettings spsa_settings() {
  SpsaSettings s;
  s.perturbation = 1e-4;  // 0.02 on the [-100, 100] range of the test device
  s.learning_rates = {0.01};
  s.score_batches = false;
  return s;
}

}  // namespace

TEST(BaselineXor, EqpropLearnsXorOnDigitalPotsWithTwoSettlesPerStep) {
  TinyHopfield device(pots());
  RecordingDevice recorder(device);
  SettleOnlyHomeostat homeostat;
  EqpropTrainer trainer(recorder, homeostat, eqprop_settings());
  const Progress p = train_xor(trainer, recorder, 500);
  report("eqprop", p);
  ASSERT_GT(p.steps_to_solved, 0u) << "XOR not learned; last error rate " << p.last.error_rate();
  EXPECT_EQ(p.settles_to_solved, 2 * p.steps_to_solved);
  EXPECT_LE(p.settles_to_solved, 200u);
  EXPECT_GT(p.steps_to_good, 0u) << "last cost " << p.last.cost;

  const auto& calls = recorder.calls();
  EXPECT_THAT(calls, Each(AnyOfArray(contract_methods())));
  for (const char* used : {"set_inputs", "set_nudge", "settle", "read_probes", "write_parameters"})
    EXPECT_THAT(calls, Contains(std::string(used)));
  // Parameters that are set are not held: no knobs, no homeostasis of any kind.
  for (const char* unused : {"set_knobs", "read_knobs", "settle_homeostatic"})
    EXPECT_THAT(calls, Not(Contains(std::string(unused))));
}

TEST(BaselineXor, CoupledLearningLearnsXorOnDigitalPots) {
  TinyHopfield device(pots());
  RecordingDevice recorder(device);
  SettleOnlyHomeostat homeostat;
  CoupledLearningTrainer trainer(recorder, homeostat, coupled_settings());
  const Progress p = train_xor(trainer, recorder, 500);
  report("coupled", p);
  ASSERT_GT(p.steps_to_solved, 0u) << "XOR not learned; last error rate " << p.last.error_rate();
  EXPECT_EQ(p.settles_to_solved, 2 * p.steps_to_solved);
  EXPECT_LE(p.settles_to_solved, 200u);
  EXPECT_GT(p.steps_to_good, 0u) << "last cost " << p.last.cost;
  EXPECT_THAT(recorder.calls(), Contains(std::string("read_probes")));
}

TEST(BaselineXor, SpsaLearnsXorFromOutputsAloneButNeedsMoreSettles) {
  TinyHopfield device(pots());
  RecordingDevice recorder(device);
  SettleOnlyHomeostat homeostat;
  SpsaTrainer trainer(recorder, homeostat, spsa_settings());
  const Progress p = train_xor(trainer, recorder, 5000);
  report("spsa", p);
  ASSERT_GT(p.steps_to_solved, 0u) << "XOR not learned; last error rate " << p.last.error_rate();
  EXPECT_EQ(p.settles_to_solved, 2 * p.steps_to_solved);
  EXPECT_LE(p.settles_to_solved, 4000u);
  ASSERT_GT(p.steps_to_good, 0u) << "last cost " << p.last.cost;
  // Order zero: it sets parameters and reads outputs, nothing else.
  EXPECT_THAT(recorder.calls(), Not(Contains(std::string("read_probes"))));
  EXPECT_THAT(recorder.calls(), Not(Contains(std::string("read_knobs"))));

  // The comparison the rules exist for: a first-order step against trial and error, measured in
  // device queries to the same mean cost on the same device from the same start.
  TinyHopfield other(pots());
  SettleOnlyHomeostat h2;
  EqpropTrainer eqprop(other, h2, eqprop_settings());
  const Progress e = train_xor(eqprop, other, 500);
  ASSERT_GT(e.steps_to_good, 0u);
  std::printf("[ spsa     ] %.1f times the settles of EqProp to a mean cost <= %.2f\n",
              double(p.settles_to_good) / double(e.settles_to_good), kGoodCost);
  EXPECT_GT(p.settles_to_good, 3 * e.settles_to_good);
}

TEST(BaselineXor, AeqpropOnTheSameNetworkWithKnobsForComparison) {
  // The same network and start, with its parameters coupled to knobs instead: AEqprop's count,
  // printed beside the others' (two settles per step with native homeostasis).
  TinyHopfield device(TinyHopfieldSpec{});
  NativeHomeostat homeostat;
  AeqpropSettings s;
  s.score_batches = false;
  AeqpropTrainer trainer(device, homeostat, s);
  const Progress p = train_xor(trainer, device, 300);
  report("aeqprop", p);
  ASSERT_GT(p.steps_to_solved, 0u);
  EXPECT_EQ(p.settles_to_solved, 2 * p.steps_to_solved);
}

TEST(BaselineXor, SpsaPerturbationsDependOnlyOnSeedStepAndParameter) {
  // What makes a resumed SPSA run bit-identical without any state of its own.
  std::size_t plus = 0, agree = 0;
  for (std::size_t k = 0; k < 1000; ++k) {
    const double a = SpsaTrainer::sign(7, 3, k);
    EXPECT_TRUE(a == 1.0 || a == -1.0);
    EXPECT_EQ(a, SpsaTrainer::sign(7, 3, k));
    plus += a > 0;
    agree += a == SpsaTrainer::sign(7, 4, k);
  }
  EXPECT_GT(plus, 430u);  // a fair coin: 500 +- 3.5 sigma
  EXPECT_LT(plus, 570u);
  EXPECT_GT(agree, 430u) << "the next step's signs must be independent of this step's";
  EXPECT_LT(agree, 570u);
}

TEST(BaselineXor, AQuantisedDeviceDoesNotSwallowStepsSmallerThanATap) {
  // Digital pots round what they are sent. The rule keeps its own unrounded values, so updates
  // much smaller than a tap accumulate instead of vanishing.
  TinyHopfieldSpec spec = pots();
  spec.parameter_quantum = 0.02;
  TinyHopfield device(spec);
  SettleOnlyHomeostat homeostat;
  EqpropSettings s = eqprop_settings();
  s.learning_rates = {0.01};
  EqpropTrainer trainer(device, homeostat, s);
  const Progress p = train_xor(trainer, device, 2000);
  report("eqprop/q", p);
  ASSERT_GT(p.steps_to_solved, 0u) << "last error rate " << p.last.error_rate();
  std::vector<double> on_device(device.describe().parameter_count());
  device.read_parameters(on_device);
  std::size_t off_grid = 0;
  for (std::size_t k = 0; k < on_device.size(); ++k) {
    EXPECT_NEAR(on_device[k], trainer.parameter_target()[k], 0.0100001);
    off_grid += on_device[k] != trainer.parameter_target()[k];
  }
  EXPECT_GT(off_grid, 0u) << "the trainer's values are the device's rounded ones";
}
