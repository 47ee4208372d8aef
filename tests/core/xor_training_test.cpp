// AEqprop learns XOR on a small analytic device that the trainer sees only through the device
// contract, with native homeostasis and with the generic feedback homeostat.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/aeqprop_trainer.hpp"
#include "core/evaluation.hpp"
#include "core/homeostat.hpp"
#include "core/toy_tasks.hpp"
#include "test_devices.hpp"
#include "test_support.hpp"

using namespace aeqlab;
using namespace aeqlab::test_devices;
using ::testing::AnyOfArray;
using ::testing::Contains;
using ::testing::Each;
using ::testing::Not;

namespace {

// Full-batch steps on the four patterns: every seed tried learns within 140 epochs, so 300 leaves
// room without letting a broken trainer pass by luck.
constexpr std::size_t kMaxEpochs = 300;

struct XorRun {
  std::size_t epochs = 0;  // epochs until every test pattern was right; 0 if never
  Evaluation last;
  std::size_t unconverged_holds = 0;
};

XorRun train_xor(Device& device, Homeostat& homeostat, std::size_t max_epochs,
                 AeqpropSettings settings = {}) {
  const Split xor_data = xor_task();
  Dataset train = xor_data.train, test = xor_data.test;
  train.classes = test.classes = device.describe().outputs.count;
  AeqpropTrainer trainer(device, homeostat, settings);
  std::vector<std::size_t> rows(train.size());
  std::iota(rows.begin(), rows.end(), std::size_t{0});
  std::vector<double> x, t;
  gather_batch(train, rows, x, t);
  XorRun run;
  for (std::size_t epoch = 1; epoch <= max_epochs; ++epoch) {
    const StepReport step = trainer.step(x, t, train.labels, train.size());
    run.unconverged_holds += !step.scoring.converged + !step.homeostatic.converged;
    trainer.end_epoch();
    run.last = evaluate(device, trainer.homeostat(), trainer.parameter_target(), test);
    if (run.last.errors == 0) {
      run.epochs = epoch;
      break;
    }
  }
  return run;
}

using test_support::parameters_of;

}  // namespace

TEST(XorTraining, NativeHomeostasisLearnsXorThroughTheContract) {
  TinyHopfield device(TinyHopfieldSpec{});
  RecordingDevice recorder(device);
  NativeHomeostat homeostat;
  const XorRun run = train_xor(recorder, homeostat, kMaxEpochs);

  ASSERT_GT(run.epochs, 0u) << "XOR not learned in " << kMaxEpochs << " epochs; last error rate "
                            << run.last.error_rate();
  EXPECT_EQ(run.last.samples, 4u);
  EXPECT_LT(run.last.cost, 0.5) << "all right, but barely";

  const auto& calls = recorder.calls();
  EXPECT_THAT(calls, Each(AnyOfArray(contract_methods())))
      << "the trainer went around the contract";
  for (const char* used :
       {"describe", "set_inputs", "set_nudge", "settle", "settle_homeostatic", "read_outputs"})
    EXPECT_THAT(calls, Contains(std::string(used)));
  // Native homeostasis holds the parameters by itself: the trainer needs neither parameter
  // readback nor the knobs, so a device without readback can still be trained.
  EXPECT_THAT(calls, Not(Contains(std::string("read_parameters"))));
  EXPECT_THAT(calls, Not(Contains(std::string("set_knobs"))));
  EXPECT_THAT(calls, Not(Contains(std::string("write_parameters"))));
  // One free-knob settle per step, and a homeostatic phase plus a scoring and an evaluation
  // relaxation, each by native homeostasis.
  EXPECT_EQ(recorder.count("settle"), run.epochs);
  EXPECT_EQ(recorder.count("settle_homeostatic"), 3 * run.epochs);
  EXPECT_EQ(run.unconverged_holds, 0u);
}

TEST(XorTraining, FeedbackHomeostatLearnsXorWithKnobsAndReadbackOnly) {
  TinyHopfield device(TinyHopfieldSpec{});
  RecordingDevice recorder(device);
  FeedbackHomeostat homeostat({1.0, 1e-6, 200});
  const XorRun run = train_xor(recorder, homeostat, kMaxEpochs);

  ASSERT_GT(run.epochs, 0u) << "XOR not learned in " << kMaxEpochs << " epochs; last error rate "
                            << run.last.error_rate();
  const auto& calls = recorder.calls();
  EXPECT_THAT(calls, Each(AnyOfArray(contract_methods())));
  for (const char* used : {"describe", "set_inputs", "set_nudge", "settle", "set_knobs",
                           "read_knobs", "read_parameters", "read_outputs"})
    EXPECT_THAT(calls, Contains(std::string(used)));
  // The generic homeostat must not lean on the device's own homeostasis.
  EXPECT_THAT(calls, Not(Contains(std::string("settle_homeostatic"))));
  // It reads the knobs once, on first use, and keeps what it set afterwards.
  EXPECT_EQ(recorder.count("read_knobs"), 1u);
  EXPECT_EQ(run.unconverged_holds, 0u) << "holds that missed the tolerance";
}

TEST(XorTraining, FeedbackAndNativeHomeostasisTakeTheSameSteps) {
  // With the holds converged, the homeostatic phase leaves the same knobs either way, so the two
  // runs follow the same parameter trajectory: the feedback loop finds what the physics knew.
  TinyHopfield native_device(TinyHopfieldSpec{}), feedback_device(TinyHopfieldSpec{});
  NativeHomeostat native;
  FeedbackHomeostat feedback({1.0, 1e-9, 500});
  const XorRun a = train_xor(native_device, native, 20);
  const XorRun b = train_xor(feedback_device, feedback, 20);
  ASSERT_EQ(a.epochs, b.epochs);
  const auto theta_native = parameters_of(native_device);
  const auto theta_feedback = parameters_of(feedback_device);
  double moved = 0.0, apart = 0.0;
  TinyHopfield untrained(TinyHopfieldSpec{});
  const auto initial = parameters_of(untrained);
  for (std::size_t i = 0; i < theta_native.size(); ++i) {
    moved = std::max(moved, std::abs(theta_native[i] - initial[i]));
    apart = std::max(apart, std::abs(theta_native[i] - theta_feedback[i]));
  }
  EXPECT_GT(moved, 1e-2) << "training did not move the parameters";
  EXPECT_LT(apart, 1e-5) << "the feedback homeostat's steps differ from native homeostasis";
}

TEST(XorTraining, ComplianceDecayIsAppliedThroughTheContractEveryEpoch) {
  TinyHopfield device(TinyHopfieldSpec{});
  RecordingDevice recorder(device);
  NativeHomeostat homeostat;
  AeqpropSettings settings;
  settings.compliance_decay = 0.5;
  train_xor(recorder, homeostat, 3, settings);
  const auto& groups = device.describe().parameters;
  const TinyHopfieldSpec spec;
  ASSERT_EQ(groups.size(), 4u);
  EXPECT_EQ(recorder.count("set_compliance"), 3 * groups.size());
  EXPECT_DOUBLE_EQ(groups[0].compliance, spec.weight_compliance[0] * 0.125);
  EXPECT_DOUBLE_EQ(groups[3].compliance, spec.bias_compliance[1] * 0.125);
}

TEST(XorTraining, ARunIsReproducibleForAFixedSeed) {
  TinyHopfield first(TinyHopfieldSpec{}), second(TinyHopfieldSpec{});
  NativeHomeostat h1, h2;
  train_xor(first, h1, 10);
  train_xor(second, h2, 10);
  EXPECT_EQ(parameters_of(first), parameters_of(second));
}
