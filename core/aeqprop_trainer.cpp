#include "core/aeqprop_trainer.hpp"

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"
#include "core/learning_rule.hpp"
#include "core/stop_request.hpp"

namespace aeqlab {

AeqpropTrainer::AeqpropTrainer(Device& device, Homeostat& homeostat, AeqpropSettings settings)
    : device_(device), homeostat_(homeostat), settings_(settings) {
  require_supported(settings_, device_.describe());
  nudgings_ = nudgings_for(settings_.mode, settings_.beta);
  refresh_target();
}

void AeqpropTrainer::require_supported(const AeqpropSettings& settings,
                                       const DeviceDescription& d) {
  if (!(settings.beta > 0)) throw ConfigError("trainer.nudging: beta must be > 0");
  if (d.knobs.empty() && !d.parameters.empty())
    throw ConfigError(fmt::format(
        "trainer.algorithm \"aeqprop\" needs a device with one knob per parameter; {} has no "
        "knobs (its parameters are set directly: train it with eqprop, coupled or spsa)",
        d.model));
  if (d.knobs.size() != d.parameters.size() || d.knob_count() != d.parameter_count())
    throw ConfigError(fmt::format(
        "trainer.algorithm \"aeqprop\" needs a device with one knob per parameter; {} has {} "
        "knobs for {} parameters",
        d.model, d.knob_count(), d.parameter_count()));
  if (settings.compliance_decay != 1.0 && !d.capabilities.adjustable_compliance)
    throw ConfigError(fmt::format(
        "trainer.compliance_decay: {} cannot adjust its compliance; set the decay to 1", d.model));
}

void AeqpropTrainer::refresh_target() {
  if (!homeostat_.needs_target()) return;
  theta_.resize(device_.describe().parameter_count());
  device_.read_parameters(theta_);
}

StepReport AeqpropTrainer::step(std::span<const double> inputs, std::span<const double> targets,
                                std::span<const int> labels, std::size_t replicas) {
  const auto& d = device_.describe();
  StepReport r;
  r.replicas = replicas;
  device_.set_inputs(inputs, replicas);

  if (settings_.score_batches && !labels.empty()) {
    device_.set_nudge(0.0, targets);
    score(device_, homeostat_, theta_, targets, labels, replicas, outputs_, r);
  }

  throw_if_urgent_stop();
  device_.set_nudge(nudgings_.first, targets);
  r.homeostatic = homeostat_.hold(device_, theta_);
  require_finite(r.homeostatic.settle, "homeostatic", d.model);
  record_hold(r, "homeostatic", nudgings_.first, r.homeostatic);

  throw_if_urgent_stop();
  device_.set_nudge(nudgings_.second, targets);
  r.free_knob = device_.settle();
  require_finite(r.free_knob, "free-knob", d.model);
  record_phase(r, {"free_knob", nudgings_.second, r.free_knob, 1, r.free_knob.converged, false});

  refresh_target();
  return r;
}

void AeqpropTrainer::resume_target(std::vector<double> theta) {
  if (homeostat_.needs_target()) theta_ = std::move(theta);
}

void AeqpropTrainer::end_epoch() {
  if (settings_.compliance_decay == 1.0) return;
  const auto& groups = device_.describe().parameters;
  for (std::size_t g = 0; g < groups.size(); ++g)
    device_.set_compliance(g, groups[g].compliance * settings_.compliance_decay);
}

static AeqpropSettings aeqprop_settings(const TrainerSettings& s) {
  AeqpropSettings a;
  a.mode = nudging_mode_from(s.mode);
  a.beta = s.nudging;
  a.compliance_decay = s.compliance_decay;
  a.score_batches = s.score_batches;
  return a;
}

LearningRule aeqprop_learning_rule() {
  return {
      .name = "aeqprop",
      .sets_parameters = false,
      .read_section = nullptr,  // it reads the shared keys only
      .require_supported = require_supported_by<AeqpropTrainer, aeqprop_settings>,
      .make = make_trainer<AeqpropTrainer, aeqprop_settings>,
      .describe =
          [](const TrainerSettings& s) {
            return fmt::format("AEqprop {} beta={}", s.mode, s.nudging);
          },
  };
}

}  // namespace aeqlab
