#pragma once
// Simultaneous-perturbation stochastic approximation (Spall 1992), the order-zero baseline: it
// only writes parameters and reads outputs. Per mini-batch: draw a random sign per parameter,
// write theta + c Delta, settle at nudging 0 and measure the batch's cost; the same at theta - c
// Delta; the difference of the two costs along Delta estimates the gradient. Two settles per step
// (three with scoring), however many parameters, but the estimate is one random direction's
// derivative: it needs many more steps than a first-order rule to go as far.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/device.hpp"
#include "core/homeostat.hpp"
#include "core/setting_trainer.hpp"
#include "core/shadow_parameters.hpp"
#include "core/trainer.hpp"

namespace aeqlab {

// trainer.spsa: the keys only SPSA reads.
struct SpsaSection {
  // c_g = perturbation * (width of group g's safe range).
  double perturbation = 1e-3;
};

struct SpsaSettings : SpsaSection {
  std::vector<double> learning_rates{0.05};  // a, one per parameter group or one for all
  double learning_rate_decay = 1.0;
  std::uint64_t seed = 1;  // with the step index, decides every perturbation
  bool score_batches = true;
};

class SpsaTrainer final : public SettingTrainer {
 public:
  SpsaTrainer(Device& device, Homeostat& homeostat, SpsaSettings settings);

  // What the constructor refuses, checkable before anything touches the device.
  static void require_supported(const SpsaSettings& settings, const DeviceDescription& device);

  // Delta_k in {-1, +1} of step `step`: a counter-based draw from (seed, step, k), so a resumed
  // run perturbs exactly as the uninterrupted one with nothing but the step count to restore.
  static double sign(std::uint64_t seed, std::uint64_t step, std::size_t k);

  const char* algorithm() const override { return "spsa"; }
  StepReport step(std::span<const double> inputs, std::span<const double> targets,
                  std::span<const int> labels, std::size_t replicas) override;
  void resume_progress(std::size_t steps_done, std::size_t epochs_done) override {
    steps_ = steps_done;
    SettingTrainer::resume_progress(steps_done, epochs_done);
  }
  const SpsaSettings& settings() const { return settings_; }

 private:
  // Writes `theta`, settles at nudging 0 and returns the batch's mean cost.
  double cost_at(const std::vector<double>& theta, const char* phase,
                 std::span<const double> targets, std::size_t replicas, StepReport& r);

  SpsaSettings settings_;
  std::uint64_t steps_ = 0;
  bool warned_flat_ = false;
  std::vector<double> delta_, step_, plus_, minus_, outputs_, gradient_;
};

struct LearningRule;
// trainer.algorithm "spsa" and its section trainer.spsa: its entry in the list of learning rules
// (core/learning_rules.cpp).
LearningRule spsa_learning_rule();

}  // namespace aeqlab
