#include "core/trainer_factory.hpp"

#include <spdlog/fmt/fmt.h>

#include "core/aeqprop_trainer.hpp"
#include "core/coupled_learning_trainer.hpp"
#include "core/eqprop_trainer.hpp"
#include "core/error.hpp"
#include "core/nudging.hpp"
#include "core/spsa_trainer.hpp"

namespace aeqlab {

namespace {

AeqpropSettings aeqprop_settings(const TrainerSettings& s) {
  AeqpropSettings a;
  a.mode = nudging_mode_from(s.mode);
  a.beta = s.nudging;
  a.compliance_decay = s.compliance_decay;
  a.score_batches = s.score_batches;
  return a;
}

EqpropSettings eqprop_settings(const TrainerSettings& s) {
  EqpropSettings e;
  e.mode = nudging_mode_from(s.mode);
  e.beta = s.nudging;
  e.learning_rates = s.learning_rates;
  e.learning_rate_decay = s.learning_rate_decay;
  e.score_batches = s.score_batches;
  return e;
}

CoupledLearningSettings coupled_settings(const TrainerSettings& s) {
  CoupledLearningSettings c;
  c.amplitude = s.coupled_amplitude;
  c.clamp_strength = s.coupled_clamp_strength;
  c.learning_rates = s.learning_rates;
  c.learning_rate_decay = s.learning_rate_decay;
  c.score_batches = s.score_batches;
  return c;
}

SpsaSettings spsa_settings(const TrainerSettings& s) {
  SpsaSettings p;
  p.perturbation = s.spsa_perturbation;
  p.learning_rates = s.learning_rates;
  p.learning_rate_decay = s.learning_rate_decay;
  p.seed = s.seed;
  p.score_batches = s.score_batches;
  return p;
}

[[noreturn]] void unknown(const TrainerSettings& s) {
  throw ConfigError(fmt::format(
      "trainer.algorithm: \"{}\" is not one of: aeqprop, eqprop, coupled, spsa", s.algorithm));
}

}  // namespace

void require_trainer_supported(const TrainerSettings& s, const DeviceDescription& d) {
  if (s.algorithm == "aeqprop") return AeqpropTrainer::require_supported(aeqprop_settings(s), d);
  if (s.algorithm == "eqprop") return EqpropTrainer::require_supported(eqprop_settings(s), d);
  if (s.algorithm == "coupled")
    return CoupledLearningTrainer::require_supported(coupled_settings(s), d);
  if (s.algorithm == "spsa") return SpsaTrainer::require_supported(spsa_settings(s), d);
  unknown(s);
}

std::unique_ptr<Homeostat> make_trainer_homeostat(const TrainerSettings& s, const Device& device) {
  return make_homeostat(s.homeostat, device,
                        {s.feedback_gain, s.feedback_tolerance, s.feedback_max_rounds},
                        s.algorithm != "aeqprop");
}

std::unique_ptr<Trainer> make_trainer(const TrainerSettings& s, Device& device,
                                      Homeostat& homeostat) {
  if (s.algorithm == "aeqprop")
    return std::make_unique<AeqpropTrainer>(device, homeostat, aeqprop_settings(s));
  if (s.algorithm == "eqprop")
    return std::make_unique<EqpropTrainer>(device, homeostat, eqprop_settings(s));
  if (s.algorithm == "coupled")
    return std::make_unique<CoupledLearningTrainer>(device, homeostat, coupled_settings(s));
  if (s.algorithm == "spsa")
    return std::make_unique<SpsaTrainer>(device, homeostat, spsa_settings(s));
  unknown(s);
}

std::string describe_trainer(const TrainerSettings& s) {
  if (s.algorithm == "aeqprop") return fmt::format("AEqprop {} beta={}", s.mode, s.nudging);
  if (s.algorithm == "eqprop") return fmt::format("EqProp {} beta={}", s.mode, s.nudging);
  if (s.algorithm == "coupled")
    return fmt::format("coupled learning eta={} clamp_strength={}", s.coupled_amplitude,
                       s.coupled_clamp_strength);
  if (s.algorithm == "spsa") return fmt::format("SPSA perturbation={}", s.spsa_perturbation);
  return s.algorithm;
}

}  // namespace aeqlab
