#pragma once
// The homeostatic phase: knobs adjusted until, at equilibrium, the parameters sit at a target.
// The feedback homeostat needs nothing but parameter readback and knobs; it never evaluates an
// energy or a gradient. A device may instead offer native homeostasis (a hardware loop, or a
// simulator's own solve).

#include <cstddef>
#include <memory>
#include <vector>

#include "core/device.hpp"

namespace aeqlab {

struct HomeostatReport {
  std::size_t rounds = 0;  // feedback rounds (1 for native homeostasis)
  double max_error = 0.0;  // largest |theta_target - theta_measured| at the end (0 if native)
  bool converged = false;
  SettleReport settle;  // accumulated: seconds and iterations summed, last residual
  // The loop gain the feedback homeostat measured in this hold: the largest, over parameter
  // groups, of |change of the physics' knob offset| / |change of theta| (docs/algorithm.md §4).
  // Below 1 the parameters are stable on their own; 0 when not measured (native, one round).
  double loop_gain = 0.0;
};

class Homeostat {
 public:
  virtual ~Homeostat() = default;
  // Hold the parameters at `target` (values in the device's parameter order) while the device
  // settles under its present inputs and nudging.
  virtual HomeostatReport hold(Device& device, const std::vector<double>& target) = 0;
  // A hold whose only use is reading the outputs (scoring, evaluation): what the knobs are left
  // at does not matter, as another hold comes before any phase that uses them. A homeostat may
  // then stop as soon as the parameters sit within tolerance (docs/algorithm.md §4.2).
  virtual HomeostatReport hold_to_read(Device& device, const std::vector<double>& target) {
    return hold(device, target);
  }
  // Whether `hold` needs the target (the native homeostat holds the present values by itself).
  virtual bool needs_target() const = 0;
  // What the homeostat carries from one hold to the next, kept in checkpoints so a resumed run
  // holds exactly as the interrupted one would have. Empty when it carries nothing.
  virtual std::vector<double> memory() const { return {}; }
  virtual void restore_memory(std::vector<double> memory) { (void)memory; }
};

// Holds the device's present parameters by its own means (capability native_homeostasis).
class NativeHomeostat final : public Homeostat {
 public:
  HomeostatReport hold(Device& device, const std::vector<double>& target) override;
  bool needs_target() const override { return false; }
};

// What the feedback homeostat does when a hold fails where its measured loop gain says the
// compliance is beyond what the parameters can stand (docs/algorithm.md §4).
enum class HoldLimitPolicy {
  warn,    // say so once per group, train on
  refuse,  // stop the run with an error naming the group
  scale,   // scale that group's compliance down to what can be held, and say so
};

struct FeedbackSettings {
  double gain = 1.0;        // u <- u + gain * (theta_target - theta_measured)
  double tolerance = 1e-6;  // max |theta_target - theta_measured| accepted, in parameter units
  std::size_t max_rounds = 100;
  // Secant pairs the feedback homeostat keeps within a hold (trainer.feedback.memory).
  std::size_t memory = 5;
  HoldLimitPolicy limit = HoldLimitPolicy::warn;
  // Stiffness ratio of the secant homeostat's probe (trainer.feedback.probe): each hold first
  // measures the physics' force with the compliances divided by this, then preloads the knobs
  // (docs/algorithm.md §4.2). 0 or 1: no probe.
  double probe = 0.0;
  // trainer.feedback.probe "auto": the probe on wherever the device can adjust its compliance,
  // its ratio chosen from the measured loop gain and read-out floor (`probe` is ignored).
  bool probe_auto = false;
};

// The plain proportional loop (trainer.homeostat "feedback-proportional"):
// u <- u + g (theta_target - theta_measured), settling after every change, until within
// tolerance. It keeps the knob values it has set: the orchestrator owns the knobs. The default
// feedback homeostat is the secant one (core/secant_homeostat.hpp).
class FeedbackHomeostat final : public Homeostat {
 public:
  explicit FeedbackHomeostat(FeedbackSettings settings) : settings_(settings) {}
  HomeostatReport hold(Device& device, const std::vector<double>& target) override;
  bool needs_target() const override { return true; }
  // The knob values it last set (empty before its first hold).
  std::vector<double> memory() const override { return knobs_; }
  void restore_memory(std::vector<double> memory) override { knobs_ = std::move(memory); }

 private:
  FeedbackSettings settings_;
  std::vector<double> knobs_, measured_;
};

// Holds nothing: a plain settle. For devices whose parameters do not relax (no knobs: they are
// set, and stay where the trainer wrote them), under a rule that sets them itself.
class SettleOnlyHomeostat final : public Homeostat {
 public:
  HomeostatReport hold(Device& device, const std::vector<double>& target) override;
  bool needs_target() const override { return false; }
};

// `kind`: "auto", "native", "feedback" (the secant homeostat), "feedback-proportional" or "none"
// (trainer.homeostat). `trainer_sets_parameters`:
// the rule writes the parameters itself (EqProp, coupled learning, SPSA) rather than letting the
// physics move them (AEqprop); "auto" then picks "none" on a device without knobs.
std::unique_ptr<Homeostat> make_homeostat(const std::string& kind, const Device& device,
                                          const FeedbackSettings& feedback,
                                          bool trainer_sets_parameters = false);

}  // namespace aeqlab
