// The homeostatic phase and the trainer's checks, on the analytic test device.
#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/aeqprop_trainer.hpp"
#include "core/error.hpp"
#include "core/homeostat.hpp"
#include "core/toy_tasks.hpp"
#include "test_devices.hpp"
#include "test_support.hpp"

using namespace aeqlab;
using namespace aeqlab::test_devices;
using ::testing::HasSubstr;

namespace {

// Presents the four XOR patterns at nudging beta.
void present_xor(Device& device, double beta) {
  const Split xor_data = xor_task();
  std::vector<std::size_t> rows(4);
  std::iota(rows.begin(), rows.end(), std::size_t{0});
  std::vector<double> x, t;
  gather_batch(xor_data.train, rows, x, t);
  device.set_inputs(x, 4);
  device.set_nudge(beta, t);
}

using test_support::parameters_of;

double max_distance(const std::vector<double>& a, const std::vector<double>& b) {
  double d = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

std::string config_error(const std::function<void()>& f) {
  return test_support::error_text<ConfigError>(f);
}

}  // namespace

TEST(Homeostat, FeedbackHoldsTheParametersWhereTheyAre) {
  TinyHopfield device(TinyHopfieldSpec{});
  present_xor(device, -0.25);
  const auto target = parameters_of(device);
  // Left alone, a settle moves the parameters: the knobs alone do not hold them.
  {
    TinyHopfield free_device(TinyHopfieldSpec{});
    present_xor(free_device, -0.25);
    free_device.settle();
    ASSERT_GT(max_distance(parameters_of(free_device), target), 1e-3);
  }
  FeedbackHomeostat homeostat({1.0, 1e-8, 200});
  const HomeostatReport r = homeostat.hold(device, target);
  EXPECT_TRUE(r.converged);
  EXPECT_GT(r.rounds, 1u);
  EXPECT_LE(r.max_error, 1e-8);
  EXPECT_LE(max_distance(parameters_of(device), target), 1e-8);
  EXPECT_GE(r.settle.iterations, r.rounds) << "each round settles at least once";
}

TEST(Homeostat, FeedbackCanMoveTheParametersToANewTarget) {
  TinyHopfield device(TinyHopfieldSpec{});
  present_xor(device, 0.0);
  auto target = parameters_of(device);
  for (auto& v : target) v += 0.05;
  FeedbackHomeostat homeostat({0.8, 1e-7, 300});
  const HomeostatReport r = homeostat.hold(device, target);
  EXPECT_TRUE(r.converged) << "max error " << r.max_error << " after " << r.rounds << " rounds";
  EXPECT_LE(max_distance(parameters_of(device), target), 1e-7);
}

TEST(Homeostat, FeedbackReportsAHoldThatRanOutOfRounds) {
  TinyHopfield device(TinyHopfieldSpec{});
  present_xor(device, 0.0);
  auto target = parameters_of(device);
  for (auto& v : target) v += 0.5;
  FeedbackHomeostat homeostat({1.0, 1e-9, 2});
  const HomeostatReport r = homeostat.hold(device, target);
  EXPECT_FALSE(r.converged);
  EXPECT_EQ(r.rounds, 2u);
  EXPECT_GT(r.max_error, 1e-9);
}

TEST(Homeostat, NativeHoldLeavesParametersAndSetsTheKnobs) {
  TinyHopfield device(TinyHopfieldSpec{});
  present_xor(device, -0.25);
  const auto before = parameters_of(device);
  std::vector<double> knobs_before(device.describe().knob_count()), knobs_after(knobs_before);
  device.read_knobs(knobs_before);
  NativeHomeostat homeostat;
  const HomeostatReport r = homeostat.hold(device, {});
  EXPECT_TRUE(r.converged);
  EXPECT_EQ(r.rounds, 1u);
  EXPECT_EQ(parameters_of(device), before);
  device.read_knobs(knobs_after);
  EXPECT_GT(max_distance(knobs_after, knobs_before), 1e-3);
  // The knobs are now where they hold the parameters: a free settle at the same nudging keeps
  // the parameters (the device is at equilibrium already).
  device.settle();
  EXPECT_LT(max_distance(parameters_of(device), before), 1e-8);
}

TEST(Homeostat, MakeChoosesNativeWhenTheDeviceHasIt) {
  TinyHopfield native_device(TinyHopfieldSpec{});
  const FeedbackSettings fb;
  EXPECT_FALSE(make_homeostat("auto", native_device, fb)->needs_target());
  EXPECT_TRUE(make_homeostat("feedback", native_device, fb)->needs_target());
  TinyHopfieldSpec spec;
  spec.native_homeostasis = false;
  TinyHopfield plain(spec);
  EXPECT_TRUE(make_homeostat("auto", plain, fb)->needs_target());
}

TEST(Homeostat, MakeRefusesWhatTheDeviceCannotDo) {
  TinyHopfieldSpec no_native;
  no_native.native_homeostasis = false;
  TinyHopfield a(no_native);
  EXPECT_THAT(config_error([&] { make_homeostat("native", a, {}); }),
              HasSubstr("trainer.homeostat"));

  TinyHopfieldSpec blind;
  blind.native_homeostasis = false;
  blind.parameter_readback = false;
  TinyHopfield b(blind);
  const std::string e = config_error([&] { make_homeostat("auto", b, {}); });
  EXPECT_THAT(e, HasSubstr("trainer.homeostat"));
  EXPECT_THAT(e, HasSubstr("readback"));
  EXPECT_THAT(config_error([&] { make_homeostat("feedback", b, {}); }),
              HasSubstr("trainer.homeostat"));
  EXPECT_THAT(config_error([&] { make_homeostat("magic", a, {}); }), HasSubstr("magic"));
}

TEST(Trainer, RefusesSettingsTheDeviceCannotFollow) {
  TinyHopfield device(TinyHopfieldSpec{});
  NativeHomeostat homeostat;
  AeqpropSettings zero;
  zero.beta = 0.0;
  EXPECT_THAT(config_error([&] { AeqpropTrainer(device, homeostat, zero); }),
              HasSubstr("trainer.nudging"));

  TinyHopfieldSpec fixed;
  fixed.adjustable_compliance = false;
  TinyHopfield fixed_device(fixed);
  AeqpropSettings decay;
  decay.compliance_decay = 0.99;
  EXPECT_THAT(config_error([&] { AeqpropTrainer(fixed_device, homeostat, decay); }),
              HasSubstr("trainer.compliance_decay"));
  EXPECT_NO_THROW(AeqpropTrainer(fixed_device, homeostat, AeqpropSettings{}));
}

TEST(Trainer, ANonFiniteSettleIsAFaultNotAStep) {
  // A device whose settle reports a NaN residual has diverged: the step must stop there.
  class Diverging final : public ForwardingDevice {
   public:
    using ForwardingDevice::ForwardingDevice;

   private:
    SettleReport do_settle() override {
      auto r = inner_.settle();
      r.residual = std::nan("");
      r.converged = false;
      return r;
    }
  };
  TinyHopfield inner(TinyHopfieldSpec{});
  Diverging device(inner);
  NativeHomeostat homeostat;
  AeqpropTrainer trainer(device, homeostat, {});
  const Split xor_data = xor_task();
  std::vector<std::size_t> rows{0, 1, 2, 3};
  std::vector<double> x, t;
  gather_batch(xor_data.train, rows, x, t);
  try {
    trainer.step(x, t, xor_data.train.labels, 4);
    FAIL() << "a diverged settle passed as a step";
  } catch (const DeviceError& e) {
    EXPECT_THAT(e.what(), HasSubstr("free-knob"));
    EXPECT_THAT(e.what(), HasSubstr(inner.describe().model));
  }
}

TEST(Trainer, CountErrorsTakesTheArgmaxAndSumsTheCost) {
  const std::vector<double> outputs = {0.9, 0.1, 0.2, 0.7, 0.6, 0.4};
  const std::vector<double> targets = {1, 0, 0, 1, 0, 1};
  const std::vector<int> labels = {0, 1, 1};
  double cost = 0.0;
  EXPECT_EQ(count_errors(outputs, targets, labels, 2, cost), 1u);
  const double expected = 0.5 * (0.01 + 0.01 + 0.04 + 0.09 + 0.36 + 0.36);
  EXPECT_NEAR(cost, expected, 1e-12);
}
