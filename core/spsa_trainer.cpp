#include "core/spsa_trainer.hpp"

#include <spdlog/spdlog.h>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/learning_rule.hpp"
#include "core/stop_request.hpp"

namespace aeqlab {

namespace {

// SplitMix64's finaliser: a bijection that scrambles every bit of its input.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The description, once the settings are known to suit it: checked before anything is built.
const DeviceDescription& supported(const SpsaSettings& settings, const Device& device) {
  SpsaTrainer::require_supported(settings, device.describe());
  return device.describe();
}

}  // namespace

double SpsaTrainer::sign(std::uint64_t seed, std::uint64_t step, std::size_t k) {
  const std::uint64_t bits = mix(mix(mix(seed) ^ step) ^ (std::uint64_t(k) >> 6));
  return (bits >> (k & 63)) & 1 ? 1.0 : -1.0;
}

SpsaTrainer::SpsaTrainer(Device& device, Homeostat& homeostat, SpsaSettings settings)
    : SettingTrainer(device, homeostat, supported(settings, device), settings.learning_rates,
                     settings.learning_rate_decay),
      settings_(std::move(settings)) {}

void SpsaTrainer::require_supported(const SpsaSettings& settings, const DeviceDescription& d) {
  if (!(settings.perturbation > 0 && settings.perturbation <= 0.5))
    throw ConfigError(fmt::format("trainer.spsa.perturbation: must lie in (0, 0.5], got {}",
                                  settings.perturbation));
  require_settable_device("spsa", d, false);
  ShadowParameters::require_rates(settings.learning_rates, d);
}

double SpsaTrainer::cost_at(const std::vector<double>& theta, const char* phase,
                            std::span<const double> targets, std::size_t replicas, StepReport& r) {
  const auto& d = device_.describe();
  throw_if_urgent_stop();
  device_.write_parameters(theta);
  const HomeostatReport h = homeostat_.hold(device_, theta);
  require_finite(h.settle, phase, d.model);
  record_hold(r, phase, 0.0, h);
  outputs_.resize(replicas * d.outputs.count);
  device_.read_outputs(outputs_);
  double cost = 0.0;
  for (std::size_t i = 0; i < outputs_.size(); ++i) {
    const double e = outputs_[i] - targets[i];
    cost += 0.5 * e * e;
  }
  return cost / double(replicas);
}

StepReport SpsaTrainer::step(std::span<const double> inputs, std::span<const double> targets,
                             std::span<const int> labels, std::size_t replicas) {
  StepReport r;
  r.replicas = replicas;
  device_.set_inputs(inputs, replicas);
  device_.set_nudge(0.0, targets);

  if (settings_.score_batches && !labels.empty()) {
    score(device_, homeostat_, shadow_.values(), targets, labels, replicas, outputs_, r);
  }

  const std::size_t n = shadow_.values().size();
  delta_.resize(n);
  step_.resize(n);
  for (std::size_t k = 0; k < n; ++k) {
    delta_[k] = sign(settings_.seed, steps_, k);
    step_[k] = settings_.perturbation * shadow_.width(k) * delta_[k];
  }
  shadow_.offset(step_, plus_);
  const double cost_plus = cost_at(plus_, "plus", targets, replicas, r);
  for (auto& s : step_) s = -s;
  shadow_.offset(step_, minus_);
  const double cost_minus = cost_at(minus_, "minus", targets, replicas, r);

  // g_k = (L+ - L-) / (2 c_k) Delta_k: the derivative along Delta, spread back over it.
  gradient_.resize(n);
  const double difference = cost_plus - cost_minus;
  if (difference == 0.0 && !warned_flat_) {
    // On a quantised device a perturbation below half a step of its resolution writes the same
    // values at theta + c Delta and theta - c Delta: the rule then never moves, silently.
    warned_flat_ = true;
    spdlog::warn(
        "spsa: step {}: the costs at theta + c Delta and theta - c Delta are equal; if this "
        "persists, trainer.spsa.perturbation ({}) may lie below the device's resolution (a "
        "potentiometer's tap), so that both writes set the same values",
        steps_ + 1, settings_.perturbation);
  }
  for (std::size_t k = 0; k < n; ++k) {
    const double c = settings_.perturbation * shadow_.width(k);
    gradient_[k] = c > 0 ? difference / (2 * c) * delta_[k] : 0.0;  // a fixed parameter stays
  }
  shadow_.descend(gradient_, 1.0);
  shadow_.write_to(device_);
  ++steps_;
  return r;
}

static SpsaSettings spsa_settings(const TrainerSettings& s) {
  SpsaSettings p;
  static_cast<SpsaSection&>(p) = s.sections.get<SpsaSection>();
  p.learning_rates = s.learning_rates;
  p.learning_rate_decay = s.learning_rate_decay;
  p.seed = s.seed;
  p.score_batches = s.score_batches;
  return p;
}

static void read_spsa_section(const nlohmann::json& trainer, TrainerSettings& s) {
  if (!trainer.contains("spsa")) throw ConfigError("trainer.spsa: missing key");
  ConfigReader p(trainer.at("spsa"), "trainer.spsa");
  auto& section = s.sections.get<SpsaSection>();
  section.perturbation = p.get<double>("perturbation");
  if (!(section.perturbation > 0 && section.perturbation <= 0.5))
    throw ConfigError(fmt::format("trainer.spsa.perturbation: must lie in (0, 0.5], got {}",
                                  section.perturbation));
}

LearningRule spsa_learning_rule() {
  return {
      .name = "spsa",
      .sets_parameters = true,
      .read_section = read_spsa_section,
      .require_supported = require_supported_by<SpsaTrainer, spsa_settings>,
      .make = make_trainer<SpsaTrainer, spsa_settings>,
      .describe =
          [](const TrainerSettings& s) {
            return fmt::format("SPSA perturbation={}", s.sections.get<SpsaSection>().perturbation);
          },
  };
}

}  // namespace aeqlab
