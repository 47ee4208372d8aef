#include "core/coupled_learning_trainer.hpp"

#include <algorithm>

#include <spdlog/fmt/fmt.h>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/learning_rule.hpp"
#include "core/local_probes.hpp"
#include "core/stop_request.hpp"

namespace aeqlab {

// The description, once the settings are known to suit it: checked before anything is built.
static const DeviceDescription& supported(const CoupledLearningSettings& settings,
                                          const Device& device) {
  CoupledLearningTrainer::require_supported(settings, device.describe());
  return device.describe();
}

CoupledLearningTrainer::CoupledLearningTrainer(Device& device, Homeostat& homeostat,
                                               CoupledLearningSettings settings)
    : SettingTrainer(device, homeostat, supported(settings, device), settings.learning_rates,
                     settings.learning_rate_decay),
      settings_(std::move(settings)) {}

void CoupledLearningTrainer::require_supported(const CoupledLearningSettings& settings,
                                               const DeviceDescription& d) {
  if (!(settings.amplitude > 0 && settings.amplitude <= 1))
    throw ConfigError(
        fmt::format("trainer.coupled.amplitude: must lie in (0, 1], got {}", settings.amplitude));
  if (!(settings.clamp_strength > 0))
    throw ConfigError(fmt::format("trainer.coupled.clamp_strength: must be > 0, got {}",
                                  settings.clamp_strength));
  require_settable_device("coupled", d, true);
  if (!d.nudge.contains(settings.clamp_strength))
    throw ConfigError(fmt::format(
        "trainer.coupled.clamp_strength: {} lies outside the nudging range [{}, {}] of {}",
        settings.clamp_strength, d.nudge.low, d.nudge.high, d.model));
  ShadowParameters::require_rates(settings.learning_rates, d);
}

StepReport CoupledLearningTrainer::step(std::span<const double> inputs,
                                        std::span<const double> targets,
                                        std::span<const int> labels, std::size_t replicas) {
  const auto& d = device_.describe();
  StepReport r;
  r.replicas = replicas;
  device_.set_inputs(inputs, replicas);

  // Free phase: the equilibrium the outputs are compared with. It is also the batch's score.
  throw_if_urgent_stop();
  device_.set_nudge(0.0, targets);
  const HomeostatReport free = homeostat_.hold(device_, shadow_.values());
  require_finite(free.settle, "free", d.model);
  record_hold(r, "free", 0.0, free);
  outputs_.resize(replicas * d.outputs.count);
  device_.read_outputs(outputs_);
  read_energy_gradients(device_, replicas, free_);
  if (settings_.score_batches && !labels.empty()) {
    r.scoring = free;
    r.errors = count_errors(outputs_, targets, labels, d.outputs.count, r.cost);
    r.scored = true;
  }

  // Clamped phase, toward a point between the free outputs and the target. Between two values in
  // the outputs' safe range, so the clamp to it only absorbs rounding.
  const double eta = settings_.amplitude;
  clamp_targets_.resize(outputs_.size());
  for (std::size_t i = 0; i < outputs_.size(); ++i)
    clamp_targets_[i] = std::clamp(outputs_[i] + eta * (targets[i] - outputs_[i]),
                                   d.outputs.safe.low, d.outputs.safe.high);
  throw_if_urgent_stop();
  device_.set_nudge(settings_.clamp_strength, clamp_targets_);
  const HomeostatReport clamped = homeostat_.hold(device_, shadow_.values());
  require_finite(clamped.settle, "clamped", d.model);
  record_hold(r, "clamped", settings_.clamp_strength, clamped);
  read_energy_gradients(device_, replicas, clamped_);

  // theta <- theta - (alpha / eta) mean [dE/dtheta(clamped) - dE/dtheta(free)].
  mean_contrast(clamped_, free_, replicas, contrast_);
  shadow_.descend(contrast_, 1.0 / eta);
  shadow_.write_to(device_);
  return r;
}

static CoupledLearningSettings coupled_settings(const TrainerSettings& s) {
  CoupledLearningSettings c;
  static_cast<CoupledLearningSection&>(c) = s.sections.get<CoupledLearningSection>();
  c.learning_rates = s.learning_rates;
  c.learning_rate_decay = s.learning_rate_decay;
  c.score_batches = s.score_batches;
  return c;
}

static void read_coupled_section(const nlohmann::json& trainer, TrainerSettings& s) {
  if (!trainer.contains("coupled")) throw ConfigError("trainer.coupled: missing key");
  ConfigReader c(trainer.at("coupled"), "trainer.coupled");
  auto& section = s.sections.get<CoupledLearningSection>();
  section.amplitude = c.get<double>("amplitude");
  if (!(section.amplitude > 0 && section.amplitude <= 1))
    throw ConfigError(
        fmt::format("trainer.coupled.amplitude: must lie in (0, 1], got {}", section.amplitude));
  section.clamp_strength = c.positive("clamp_strength");
}

LearningRule coupled_learning_rule() {
  return {
      .name = "coupled",
      .sets_parameters = true,
      .read_section = read_coupled_section,
      .require_supported = require_supported_by<CoupledLearningTrainer, coupled_settings>,
      .make = make_trainer<CoupledLearningTrainer, coupled_settings>,
      .describe =
          [](const TrainerSettings& s) {
            const auto& c = s.sections.get<CoupledLearningSection>();
            return fmt::format("coupled learning eta={} clamp_strength={}", c.amplitude,
                               c.clamp_strength);
          },
  };
}

}  // namespace aeqlab
