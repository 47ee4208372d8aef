#pragma once
// Coupled learning (Stern, Hexner, Rocks, Liu, "Supervised learning in physical networks: from
// machine learning to learning machines", PRX 2021) on a device whose parameters are set and which
// has local probes. Per mini-batch: a free phase (nudging 0) gives the outputs y_F and the probes;
// a clamped phase pulls the outputs toward c = y_F + eta (t - y_F) and the probes are read again;
// the parameters descend the contrast of dE/dtheta between the clamped and the free equilibria.
//
// The contract has no way to clamp an output to a value: its only handle on the outputs is the
// nudge, an added cost beta/2 |y - c|^2. The clamped phase is therefore a strong nudge toward c
// (trainer.coupled.clamp_strength); the stronger it is, the closer the outputs sit to c.

#include <cstddef>
#include <span>
#include <vector>

#include "core/device.hpp"
#include "core/homeostat.hpp"
#include "core/setting_trainer.hpp"
#include "core/shadow_parameters.hpp"
#include "core/trainer.hpp"

namespace aeqlab {

// trainer.coupled: the keys only coupled learning reads.
struct CoupledLearningSection {
  double amplitude = 0.5;       // eta in (0, 1]: how far toward the target the outputs are pulled
  double clamp_strength = 5.0;  // the nudging that stands in for clamping
};

struct CoupledLearningSettings : CoupledLearningSection {
  std::vector<double> learning_rates{0.05};  // alpha, one per parameter group or one for all
  double learning_rate_decay = 1.0;
  // Count the batch's errors and cost (from the free phase, which costs no extra settle).
  bool score_batches = true;
};

class CoupledLearningTrainer final : public SettingTrainer {
 public:
  CoupledLearningTrainer(Device& device, Homeostat& homeostat, CoupledLearningSettings settings);

  // What the constructor refuses, checkable before anything touches the device.
  static void require_supported(const CoupledLearningSettings& settings,
                                const DeviceDescription& device);

  const char* algorithm() const override { return "coupled"; }
  StepReport step(std::span<const double> inputs, std::span<const double> targets,
                  std::span<const int> labels, std::size_t replicas) override;
  const CoupledLearningSettings& settings() const { return settings_; }

 private:
  CoupledLearningSettings settings_;
  std::vector<double> outputs_, clamp_targets_, free_, clamped_, contrast_;
};

struct LearningRule;
// trainer.algorithm "coupled" and its section trainer.coupled: its entry in the list of learning
// rules (core/learning_rules.cpp).
LearningRule coupled_learning_rule();

}  // namespace aeqlab
