#pragma once
// Agnostic Equilibrium Propagation (docs/algorithm.md): per mini-batch, a homeostatic phase at the
// first nudging (parameters held, knobs adjusted), then a free-knob phase at the second nudging
// (knobs held, everything relaxes). The parameters' move in the free-knob phase is the SGD step.
// The trainer only talks to the device contract: no energy, no gradient, no simulator.

#include <cstddef>
#include <span>
#include <vector>

#include "core/device.hpp"
#include "core/homeostat.hpp"
#include "core/nudging.hpp"
#include "core/trainer.hpp"

namespace aeqlab {

struct AeqpropSettings {
  NudgingMode mode = NudgingMode::centered;
  double beta = 0.5;
  // Per-epoch multiplier of every compliance ("learning-rate decay").
  double compliance_decay = 1.0;
  // Relax once at zero nudging before the step, to score the batch (training error and cost).
  bool score_batches = true;
};

class AeqpropTrainer final : public Trainer {
 public:
  AeqpropTrainer(Device& device, Homeostat& homeostat, AeqpropSettings settings);

  // What the constructor refuses, checkable before anything touches the device.
  static void require_supported(const AeqpropSettings& settings, const DeviceDescription& device);

  const char* algorithm() const override { return "aeqprop"; }

  // One AEqprop step on `replicas` samples: `inputs` and `targets` row-major, `labels` may be
  // empty when the batch is not scored.
  StepReport step(std::span<const double> inputs, std::span<const double> targets,
                  std::span<const int> labels, std::size_t replicas) override;

  // Multiply every compliance by the decay (call at the end of an epoch).
  void end_epoch() override;

  // Where the homeostat must hold the parameters, after a resume on a device that could not
  // restore its exact state (hardware): the checkpoint's values, not whatever it reads now.
  void resume_target(std::vector<double> theta) override;

  // Where the homeostat holds the parameters: their values after the last free-knob phase.
  const std::vector<double>& parameter_target() const override { return theta_; }
  // The physics moves the parameters; the trainer only holds them.
  bool sets_parameters() const override { return false; }
  Homeostat& homeostat() override { return homeostat_; }
  const AeqpropSettings& settings() const { return settings_; }

 private:
  void refresh_target();

  Device& device_;
  Homeostat& homeostat_;
  AeqpropSettings settings_;
  Nudgings nudgings_;
  std::vector<double> theta_;
  std::vector<double> outputs_;
};

struct LearningRule;
// trainer.algorithm "aeqprop": its entry in the list of learning rules (core/learning_rules.cpp).
LearningRule aeqprop_learning_rule();

}  // namespace aeqlab
