#include "core/homeostat.hpp"

#include <algorithm>
#include <cmath>

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"
#include "core/secant_homeostat.hpp"
#include "core/stop_request.hpp"

namespace aeqlab {

static void accumulate(SettleReport& total, const SettleReport& s) {
  total.seconds += s.seconds;
  total.iterations += s.iterations;
  total.residual = s.residual;
  total.converged = s.converged;
}

// A hold made of a single settle, by whichever rule the homeostat uses.
static HomeostatReport one_settle(const SettleReport& settle) {
  HomeostatReport r;
  r.settle = settle;
  r.rounds = 1;
  r.converged = settle.converged;
  return r;
}

HomeostatReport NativeHomeostat::hold(Device& device, const std::vector<double>&) {
  return one_settle(device.settle_homeostatic());
}

HomeostatReport SettleOnlyHomeostat::hold(Device& device, const std::vector<double>&) {
  return one_settle(device.settle());
}

HomeostatReport FeedbackHomeostat::hold(Device& device, const std::vector<double>& target) {
  const auto& d = device.describe();
  if (knobs_.size() != d.knob_count()) {
    // First use: start from wherever the knobs are. Afterwards the homeostat remembers what it
    // set, so each phase starts from the previous phase's knobs (a warm start, no readback).
    knobs_.resize(d.knob_count());
    device.read_knobs(knobs_);
  }
  measured_.resize(d.parameter_count());
  HomeostatReport r;
  for (std::size_t round = 1; round <= settings_.max_rounds; ++round) {
    throw_if_urgent_stop();
    accumulate(r.settle, device.settle());
    device.read_parameters(measured_);
    double worst = 0.0;
    for (std::size_t i = 0; i < measured_.size(); ++i)
      worst = std::max(worst, std::abs(target[i] - measured_[i]));
    r.rounds = round;
    r.max_error = worst;
    if (!std::isfinite(worst)) break;
    if (worst <= settings_.tolerance) {
      r.converged = true;
      break;
    }
    for (std::size_t i = 0; i < knobs_.size(); ++i)
      knobs_[i] += settings_.gain * (target[i] - measured_[i]);
    device.set_knobs(knobs_);
  }
  return r;
}

std::unique_ptr<Homeostat> make_homeostat(const std::string& kind, const Device& device,
                                          const FeedbackSettings& feedback,
                                          bool trainer_sets_parameters) {
  const auto& d = device.describe();
  const auto& caps = d.capabilities;
  const bool parameters_stay = d.knobs.empty();  // nothing for them to relax toward
  if (kind == "none" || (kind == "auto" && trainer_sets_parameters && parameters_stay)) {
    if (!trainer_sets_parameters)
      throw ConfigError(
          "trainer.homeostat: \"none\" holds nothing, but AEqprop's homeostatic phase must hold "
          "the parameters; use auto, native or feedback");
    if (!parameters_stay)
      throw ConfigError(fmt::format(
          "trainer.homeostat: \"none\" leaves the parameters free, but {} couples them to knobs "
          "they relax toward; use auto, native or feedback",
          d.model));
    return std::make_unique<SettleOnlyHomeostat>();
  }
  if (kind == "native" || (kind == "auto" && caps.native_homeostasis)) {
    if (!caps.native_homeostasis)
      throw ConfigError(fmt::format(
          "trainer.homeostat: \"native\" asked, but {} has no native homeostasis; use \"feedback\"",
          device.describe().model));
    return std::make_unique<NativeHomeostat>();
  }
  if (kind == "feedback" || kind == "feedback-proportional" || kind == "auto") {
    if (!caps.parameter_readback)
      throw ConfigError(fmt::format(
          "trainer.homeostat: the feedback homeostat needs parameter readback, which {} lacks",
          device.describe().model));
    if (kind == "feedback-proportional") return std::make_unique<FeedbackHomeostat>(feedback);
    return std::make_unique<SecantHomeostat>(feedback);
  }
  throw ConfigError("trainer.homeostat: \"" + kind +
                    "\" is not one of: auto, native, feedback, feedback-proportional, none");
}

}  // namespace aeqlab
