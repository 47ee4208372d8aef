#include "core/eqprop_trainer.hpp"

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"
#include "core/learning_rule.hpp"
#include "core/local_probes.hpp"
#include "core/stop_request.hpp"

namespace aeqlab {

// The description, once the settings are known to suit it: checked before anything is built.
static const DeviceDescription& supported(const EqpropSettings& settings, const Device& device) {
  EqpropTrainer::require_supported(settings, device.describe());
  return device.describe();
}

EqpropTrainer::EqpropTrainer(Device& device, Homeostat& homeostat, EqpropSettings settings)
    : SettingTrainer(device, homeostat, supported(settings, device), settings.learning_rates,
                     settings.learning_rate_decay),
      settings_(std::move(settings)),
      nudgings_(nudgings_for(settings_.mode, settings_.beta)) {}

void EqpropTrainer::require_supported(const EqpropSettings& settings, const DeviceDescription& d) {
  if (!(settings.beta > 0)) throw ConfigError("trainer.nudging: beta must be > 0");
  require_settable_device("eqprop", d, true);
  ShadowParameters::require_rates(settings.learning_rates, d);
}

StepReport EqpropTrainer::step(std::span<const double> inputs, std::span<const double> targets,
                               std::span<const int> labels, std::size_t replicas) {
  const auto& d = device_.describe();
  StepReport r;
  r.replicas = replicas;
  device_.set_inputs(inputs, replicas);

  if (settings_.score_batches && !labels.empty()) {
    device_.set_nudge(0.0, targets);
    score(device_, homeostat_, shadow_.values(), targets, labels, replicas, outputs_, r);
  }

  // Both equilibria under the same parameters; only the nudging differs between them.
  const auto phase = [&](const char* name, double beta, std::vector<double>& grads) {
    throw_if_urgent_stop();
    device_.set_nudge(beta, targets);
    const HomeostatReport h = homeostat_.hold(device_, shadow_.values());
    require_finite(h.settle, name, d.model);
    record_hold(r, name, beta, h);
    read_energy_gradients(device_, replicas, grads);
  };
  phase("first_nudge", nudgings_.first, first_);
  phase("second_nudge", nudgings_.second, second_);

  // dL/dtheta ~ [dE/dtheta(s2) - dE/dtheta(s1)] / (beta2 - beta1), the EqProp theorem.
  mean_contrast(second_, first_, replicas, gradient_);
  const double inv_beta = 1.0 / (nudgings_.second - nudgings_.first);
  for (auto& g : gradient_) g *= inv_beta;
  shadow_.descend(gradient_, 1.0);
  shadow_.write_to(device_);
  return r;
}

static EqpropSettings eqprop_settings(const TrainerSettings& s) {
  EqpropSettings e;
  e.mode = nudging_mode_from(s.mode);
  e.beta = s.nudging;
  e.learning_rates = s.learning_rates;
  e.learning_rate_decay = s.learning_rate_decay;
  e.score_batches = s.score_batches;
  return e;
}

LearningRule eqprop_learning_rule() {
  return {
      .name = "eqprop",
      .sets_parameters = true,
      .read_section = nullptr,  // it reads the shared keys only
      .require_supported = require_supported_by<EqpropTrainer, eqprop_settings>,
      .make = make_trainer<EqpropTrainer, eqprop_settings>,
      .describe =
          [](const TrainerSettings& s) {
            return fmt::format("EqProp {} beta={}", s.mode, s.nudging);
          },
  };
}

}  // namespace aeqlab
