// Each rule declares what it needs of a device; a device that lacks it is refused with an error
// naming the algorithm and the missing capability, before anything is done to the device.
#include <functional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/aeqprop_trainer.hpp"
#include "core/coupled_learning_trainer.hpp"
#include "core/eqprop_trainer.hpp"
#include "core/error.hpp"
#include "core/homeostat.hpp"
#include "core/session.hpp"
#include "core/spsa_trainer.hpp"
#include "core/toy_tasks.hpp"
#include "core/trainer_factory.hpp"
#include "core/training_run.hpp"
#include "temp_dir.hpp"
#include "test_devices.hpp"
#include "test_support.hpp"

using namespace aeqlab;
using namespace aeqlab::test_devices;
using ::testing::Each;
using ::testing::Eq;
using ::testing::HasSubstr;

namespace {

std::string config_error(const std::function<void()>& f) {
  return test_support::error_text<ConfigError>(f);
}

TinyHopfieldSpec pots() {
  TinyHopfieldSpec spec;
  spec.settable = true;
  spec.local_probes = true;
  return spec;
}

// The device as another one describes it, with some capabilities taken away.
class Without final : public ForwardingDevice {
 public:
  Without(Device& inner, std::function<void(Capabilities&)> take) : ForwardingDevice(inner) {
    take(description_.capabilities);
  }
};

// Only descriptions were asked for.
void expect_untouched(const RecordingDevice& recorder) {
  EXPECT_THAT(recorder.calls(), Each(Eq(std::string("describe"))));
}

TrainerSettings settings_for(const std::string& algorithm) {
  TrainerSettings s;
  s.algorithm = algorithm;
  s.batch_size = 4;
  s.epochs = 1;
  return s;
}

}  // namespace

TEST(TrainerCapabilities, EqpropAndCoupledLearningNeedLocalProbes) {
  TinyHopfieldSpec spec = pots();
  spec.local_probes = false;
  TinyHopfield device(spec);
  RecordingDevice recorder(device);
  SettleOnlyHomeostat homeostat;
  EXPECT_EQ(config_error([&] { EqpropTrainer(recorder, homeostat, {}); }),
            "trainer.algorithm \"eqprop\" needs a device with settable parameters, local probes "
            "and parameter readback; tiny-hopfield 2-16-2 has no local probes");
  EXPECT_EQ(config_error([&] { CoupledLearningTrainer(recorder, homeostat, {}); }),
            "trainer.algorithm \"coupled\" needs a device with settable parameters, local probes "
            "and parameter readback; tiny-hopfield 2-16-2 has no local probes");
  expect_untouched(recorder);
}

TEST(TrainerCapabilities, SpsaNeedsSettableParametersOnly) {
  TinyHopfield device(pots());
  Without fixed(device, [](Capabilities& c) {
    c.settable_parameters = false;
    c.local_probes = false;
  });
  RecordingDevice recorder(fixed);
  SettleOnlyHomeostat homeostat;
  EXPECT_EQ(config_error([&] { SpsaTrainer(recorder, homeostat, {}); }),
            "trainer.algorithm \"spsa\" needs a device with settable parameters and parameter "
            "readback; tiny-hopfield 2-16-2 has no settable parameters");
  expect_untouched(recorder);

  // Probes are not its business: a device without them is fine.
  TinyHopfieldSpec no_probes = pots();
  no_probes.local_probes = false;
  TinyHopfield plain(no_probes);
  EXPECT_NO_THROW(SpsaTrainer(plain, homeostat, {}));
}

TEST(TrainerCapabilities, EveryMissingCapabilityIsNamed) {
  TinyHopfield device(pots());
  Without bare(device, [](Capabilities& c) {
    c.settable_parameters = false;
    c.local_probes = false;
    c.parameter_readback = false;
  });
  SettleOnlyHomeostat homeostat;
  EXPECT_THAT(config_error([&] { EqpropTrainer(bare, homeostat, {}); }),
              HasSubstr("has no settable parameters, no local probes and no parameter readback"));
}

TEST(TrainerCapabilities, AeqpropNeedsKnobs) {
  TinyHopfield device(pots());
  RecordingDevice recorder(device);
  NativeHomeostat homeostat;
  EXPECT_EQ(config_error([&] { AeqpropTrainer(recorder, homeostat, {}); }),
            "trainer.algorithm \"aeqprop\" needs a device with one knob per parameter; "
            "tiny-hopfield 2-16-2 has no knobs (its parameters are set directly: train it with "
            "eqprop, coupled or spsa)");
  expect_untouched(recorder);
}

TEST(TrainerCapabilities, ARunIsRefusedBeforeTheDeviceIsTouched) {
  test_support::TempDir tmp;
  TinyHopfieldSpec spec;  // knobs, no probes: AEqprop's device
  TinyHopfield device(spec);
  for (const char* algorithm : {"eqprop", "coupled"}) {
    RecordingDevice recorder(device);
    Session session(tmp / algorithm);
    EXPECT_THAT(
        config_error([&] { run_training(settings_for(algorithm), recorder, xor_task(), session); }),
        HasSubstr(std::string("trainer.algorithm \"") + algorithm + "\" needs"))
        << algorithm;
    expect_untouched(recorder);
  }
  TinyHopfield set_device(pots());
  RecordingDevice recorder(set_device);
  Session session(tmp / "aeqprop");
  EXPECT_THAT(
      config_error([&] { run_training(settings_for("aeqprop"), recorder, xor_task(), session); }),
      HasSubstr("has no knobs"));
  expect_untouched(recorder);
}

TEST(TrainerCapabilities, SettingsTheRuleCannotUseAreNamed) {
  TinyHopfield device(pots());
  const auto& d = device.describe();
  TrainerSettings s = settings_for("eqprop");
  s.learning_rates = {0.1, 0.2, 0.3};
  EXPECT_THAT(config_error([&] { require_trainer_supported(s, d); }),
              HasSubstr("trainer.learning_rates: needs one rate per parameter group of "
                        "tiny-hopfield 2-16-2 (4: W0, W1, b1, b2) or one number for all, got 3"));
  s.learning_rates = {0.1, 0.2, 0.3, 0.4};
  EXPECT_NO_THROW(require_trainer_supported(s, d));

  TrainerSettings c = settings_for("coupled");
  c.sections.get<CoupledLearningSection>().clamp_strength = 20.0;
  EXPECT_THAT(config_error([&] { require_trainer_supported(c, d); }),
              HasSubstr("trainer.coupled.clamp_strength: 20 lies outside the nudging range"));
  c.sections.get<CoupledLearningSection>().clamp_strength = 5.0;
  c.sections.get<CoupledLearningSection>().amplitude = 1.5;
  EXPECT_THAT(config_error([&] { require_trainer_supported(c, d); }),
              HasSubstr("trainer.coupled.amplitude"));
}

TEST(TrainerCapabilities, TheHomeostatThatHoldsNothingIsForSetParametersOnly) {
  TinyHopfield pots_device(pots());
  TinyHopfield knob_device(TinyHopfieldSpec{});
  // "auto": a plain settle for a rule that sets the parameters of a device without knobs ...
  EXPECT_NE(dynamic_cast<SettleOnlyHomeostat*>(make_homeostat("auto", pots_device, {}, true).get()),
            nullptr);
  // ... but where knobs pull the parameters, they must be held, whoever sets them.
  EXPECT_NE(dynamic_cast<NativeHomeostat*>(make_homeostat("auto", knob_device, {}, true).get()),
            nullptr);
  EXPECT_THAT(config_error([&] { make_homeostat("none", knob_device, {}, true); }),
              HasSubstr("couples them to knobs"));
  EXPECT_THAT(config_error([&] { make_homeostat("none", pots_device, {}, false); }),
              HasSubstr("AEqprop's homeostatic phase"));
}
