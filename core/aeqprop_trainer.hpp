#pragma once
// Agnostic Equilibrium Propagation (DESIGN §2): per mini-batch, a homeostatic phase at the first
// nudging (parameters held, knobs adjusted), then a free-knob phase at the second nudging (knobs
// held, everything relaxes). The parameters' move in the free-knob phase is the SGD step. The
// trainer only talks to the device contract: no energy, no gradient, no simulator.

#include <cstddef>
#include <functional>
#include <span>
#include <vector>

#include "core/device.hpp"
#include "core/homeostat.hpp"
#include "core/nudging.hpp"

namespace aeqlab {

struct AeqpropSettings {
  NudgingMode mode = NudgingMode::centered;
  double beta = 0.5;
  // Per-epoch multiplier of every compliance ("learning-rate decay").
  double compliance_decay = 1.0;
  // Relax once at zero nudging before the step, to score the batch (training error and cost).
  bool score_batches = true;
};

struct StepReport {
  std::size_t replicas = 0;
  bool scored = false;
  std::size_t errors = 0;  // misclassified in the scoring relaxation
  double cost = 0.0;       // summed 1/2 |y - t|^2 over the batch in the scoring relaxation
  HomeostatReport scoring;
  HomeostatReport homeostatic;
  SettleReport free_knob;
};

// One phase of a step as it ended, for the session's most detailed log level.
struct PhaseRecord {
  const char* phase = "";  // "scoring", "homeostatic" or "free_knob"
  double beta = 0.0;
  SettleReport settle;
  std::size_t rounds = 1;  // homeostat rounds (1 for a plain settle)
  bool converged = false;
};

class AeqpropTrainer {
 public:
  AeqpropTrainer(Device& device, Homeostat& homeostat, AeqpropSettings settings);

  // What the constructor refuses, checkable before anything touches the device.
  static void require_supported(const AeqpropSettings& settings, const DeviceDescription& device);

  // One AEqprop step on `replicas` samples: `inputs` and `targets` row-major, `labels` may be
  // empty when the batch is not scored.
  StepReport step(std::span<const double> inputs, std::span<const double> targets,
                  std::span<const int> labels, std::size_t replicas);

  // Multiply every compliance by the decay (call at the end of an epoch).
  void end_epoch();

  // Called at the end of every phase, while the device still shows that phase's equilibrium.
  void observe_phases(std::function<void(const PhaseRecord&)> observer) {
    observer_ = std::move(observer);
  }
  // Where the homeostat must hold the parameters, after a resume on a device that could not
  // restore its exact state (hardware): the checkpoint's values, not whatever it reads now.
  void resume_target(std::vector<double> theta);

  // Where the homeostat holds the parameters: their values after the last free-knob phase.
  const std::vector<double>& parameter_target() const { return theta_; }
  Homeostat& homeostat() { return homeostat_; }
  const AeqpropSettings& settings() const { return settings_; }

 private:
  void refresh_target();

  Device& device_;
  Homeostat& homeostat_;
  AeqpropSettings settings_;
  Nudgings nudgings_;
  std::vector<double> theta_;
  std::vector<double> outputs_;
  std::function<void(const PhaseRecord&)> observer_;
};

// Argmax of each row of `outputs` against `labels`; adds 1/2 |y - t|^2 to `cost`.
std::size_t count_errors(std::span<const double> outputs, std::span<const double> targets,
                         std::span<const int> labels, std::size_t classes, double& cost);

}  // namespace aeqlab
