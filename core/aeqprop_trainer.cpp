#include "core/aeqprop_trainer.hpp"

#include <cmath>

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"
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
  if (d.knobs.size() != d.parameters.size() || d.knob_count() != d.parameter_count())
    throw DeviceError(d.model + ": AEqprop needs one knob per parameter");
  if (settings.compliance_decay != 1.0 && !d.capabilities.adjustable_compliance)
    throw ConfigError(fmt::format(
        "trainer.compliance_decay: {} cannot adjust its compliance; set the decay to 1", d.model));
}

void AeqpropTrainer::refresh_target() {
  if (!homeostat_.needs_target()) return;
  theta_.resize(device_.describe().parameter_count());
  device_.read_parameters(theta_);
}

std::size_t count_errors(std::span<const double> outputs, std::span<const double> targets,
                         std::span<const int> labels, std::size_t classes, double& cost) {
  std::size_t errors = 0;
  for (std::size_t r = 0; r < labels.size(); ++r) {
    std::size_t best = 0;
    for (std::size_t c = 0; c < classes; ++c) {
      const double y = outputs[r * classes + c];
      if (y > outputs[r * classes + best]) best = c;
      const double d = y - targets[r * classes + c];
      cost += 0.5 * d * d;
    }
    errors += best != std::size_t(labels[r]);
  }
  return errors;
}

static void require_finite(const SettleReport& s, const char* phase, const std::string& model) {
  if (!std::isfinite(s.residual))
    throw DeviceError(
        fmt::format("{}: the {} settle ended with a non-finite residual", model, phase));
}

StepReport AeqpropTrainer::step(std::span<const double> inputs, std::span<const double> targets,
                                std::span<const int> labels, std::size_t replicas) {
  const auto& d = device_.describe();
  StepReport r;
  r.replicas = replicas;
  device_.set_inputs(inputs, replicas);

  auto observe = [&](const char* phase, double beta, const HomeostatReport& h) {
    if (observer_) observer_({phase, beta, h.settle, h.rounds, h.converged});
  };
  if (settings_.score_batches && !labels.empty()) {
    throw_if_urgent_stop();
    device_.set_nudge(0.0, targets);
    r.scoring = homeostat_.hold(device_, theta_);
    require_finite(r.scoring.settle, "scoring", d.model);
    observe("scoring", 0.0, r.scoring);
    outputs_.resize(replicas * d.outputs.count);
    device_.read_outputs(outputs_);
    r.errors = count_errors(outputs_, targets, labels, d.outputs.count, r.cost);
    r.scored = true;
  }

  throw_if_urgent_stop();
  device_.set_nudge(nudgings_.first, targets);
  r.homeostatic = homeostat_.hold(device_, theta_);
  require_finite(r.homeostatic.settle, "homeostatic", d.model);
  observe("homeostatic", nudgings_.first, r.homeostatic);

  throw_if_urgent_stop();
  device_.set_nudge(nudgings_.second, targets);
  r.free_knob = device_.settle();
  require_finite(r.free_knob, "free-knob", d.model);
  if (observer_) observer_({"free_knob", nudgings_.second, r.free_knob, 1, r.free_knob.converged});

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

}  // namespace aeqlab
