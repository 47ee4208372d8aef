#pragma once
// Classic Equilibrium Propagation (Scellier & Bengio 2017) on a device whose parameters are set
// (digital potentiometers) and which can measure the local quantity each parameter's energy term
// depends on (capability local_probes). Per mini-batch: settle at the first nudging and read the
// probes, settle at the second nudging and read them again; the contrast of dE/dtheta between the
// two equilibria, divided by the nudging difference, estimates the loss gradient, and the trainer
// writes the descended parameters. Two settles per step (three with scoring), whatever the size of
// the network: a first-order step, like AEqprop's, but computed by the trainer from the probes.

#include <cstddef>
#include <span>
#include <vector>

#include "core/device.hpp"
#include "core/homeostat.hpp"
#include "core/nudging.hpp"
#include "core/setting_trainer.hpp"
#include "core/shadow_parameters.hpp"
#include "core/trainer.hpp"

namespace aeqlab {

struct EqpropSettings {
  NudgingMode mode = NudgingMode::centered;
  double beta = 0.5;
  std::vector<double> learning_rates{0.05};  // one per parameter group, or one for all
  double learning_rate_decay = 1.0;          // every rate times this at each epoch's end
  // Relax once at zero nudging before the step, to score the batch (training error and cost).
  bool score_batches = true;
};

class EqpropTrainer final : public SettingTrainer {
 public:
  // `homeostat` holds the parameters in every relaxation: on a device whose parameters do not
  // relax (no knobs) that is a plain settle.
  EqpropTrainer(Device& device, Homeostat& homeostat, EqpropSettings settings);

  // What the constructor refuses, checkable before anything touches the device.
  static void require_supported(const EqpropSettings& settings, const DeviceDescription& device);

  const char* algorithm() const override { return "eqprop"; }
  StepReport step(std::span<const double> inputs, std::span<const double> targets,
                  std::span<const int> labels, std::size_t replicas) override;
  const EqpropSettings& settings() const { return settings_; }

  // The last step's estimate of dL/dtheta (mean loss over the batch), in the device's order.
  const std::vector<double>& last_gradient() const { return gradient_; }

 private:
  EqpropSettings settings_;
  Nudgings nudgings_;
  std::vector<double> outputs_, first_, second_, gradient_;
};

struct LearningRule;
// trainer.algorithm "eqprop": its entry in the list of learning rules (core/learning_rules.cpp).
LearningRule eqprop_learning_rule();

}  // namespace aeqlab
