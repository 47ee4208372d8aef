#pragma once
// What every learning rule offers the `train` job (docs/algorithm.md): AEqprop, and the rules labs
// compare it against (classic EqProp, coupled learning, SPSA). All of them talk to the device
// through the contract alone; the run loop, checkpoints and evaluation see them only through this
// interface.

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/device.hpp"
#include "core/homeostat.hpp"

namespace aeqlab {

// One phase of a step as it ended, for the session's most detailed log level and for the step
// line. `phase` names it in the log ("scoring", "homeostatic", "free_knob", "first_nudge", ...).
struct PhaseRecord {
  const char* phase = "";
  double beta = 0.0;
  SettleReport settle;
  std::size_t rounds = 1;  // settles the phase took (homeostat rounds; 1 for a plain settle)
  bool converged = false;
  // Held by the homeostat (its rounds count as homeostat rounds), rather than a free settle.
  bool held = true;
  // For a hold: its largest |theta_target - theta| at the end, and the loop gain it measured
  // (HomeostatReport; 0 when not measured).
  double hold_error = 0.0;
  double loop_gain = 0.0;
};

struct StepReport {
  std::size_t replicas = 0;
  bool scored = false;
  std::size_t errors = 0;  // misclassified in the scoring relaxation
  double cost = 0.0;       // summed 1/2 |y - t|^2 over the batch in the scoring relaxation
  // Device queries: every settle (or native homeostatic settle) the step asked of the device. The
  // figure labs compare rules by: a first-order rule pays a few per step, trial and error more.
  std::size_t settles = 0;
  std::vector<PhaseRecord> phases;  // in the order they ran
  HomeostatReport scoring;
  // AEqprop's two phases (left empty by the other rules).
  HomeostatReport homeostatic;
  SettleReport free_knob;
};

class Trainer {
 public:
  virtual ~Trainer() = default;

  // The value of trainer.algorithm that chose it: its entry's name in core/learning_rules.cpp.
  virtual const char* algorithm() const = 0;

  // One step on `replicas` samples: `inputs` and `targets` row-major, `labels` may be empty when
  // the batch is not scored.
  virtual StepReport step(std::span<const double> inputs, std::span<const double> targets,
                          std::span<const int> labels, std::size_t replicas) = 0;

  // Learning-rate decay, at the end of every epoch.
  virtual void end_epoch() = 0;

  // Where the parameters are held between steps and in evaluations: AEqprop's homeostat target
  // (empty with native homeostasis, which holds whatever is there); for the rules that set the
  // parameters, their own continuous values (a quantised device must not swallow updates smaller
  // than one of its steps, so the rule keeps the unrounded values and writes them every step).
  virtual const std::vector<double>& parameter_target() const = 0;
  // Whether the rule sets the parameters itself: parameter_target() is then the run's state and
  // goes into checkpoints whole.
  virtual bool sets_parameters() const = 0;

  // After a resume: the checkpoint's parameters (not whatever the device reads now) ...
  virtual void resume_target(std::vector<double> theta) = 0;
  // ... and how far the run had come, for what a rule derives from it (learning-rate decay, SPSA's
  // perturbations), so the resumed run continues bit for bit with no state of its own.
  virtual void resume_progress(std::size_t steps_done, std::size_t epochs_done) {
    (void)steps_done;
    (void)epochs_done;
  }

  // What holds the parameters in a relaxation at nudging 0 (scoring, evaluation).
  virtual Homeostat& homeostat() = 0;

  // Called at the end of every phase, while the device still shows that phase's equilibrium.
  void observe_phases(std::function<void(const PhaseRecord&)> observer) {
    observer_ = std::move(observer);
  }

 protected:
  // Adds the phase to the report (and its settles) and shows it to the observer.
  void record_phase(StepReport& report, const PhaseRecord& phase) const;
  // A phase held by the homeostat at nudging `beta`.
  void record_hold(StepReport& report, const char* phase, double beta,
                   const HomeostatReport& hold) const;
  // The scoring relaxation: with the nudging already at 0, the parameters held at `theta`, the
  // batch's errors and cost from the outputs (left in `outputs`).
  void score(Device& device, Homeostat& homeostat, const std::vector<double>& theta,
             std::span<const double> targets, std::span<const int> labels, std::size_t replicas,
             std::vector<double>& outputs, StepReport& report) const;

 private:
  std::function<void(const PhaseRecord&)> observer_;
};

// Argmax of each row of `outputs` against `labels`; adds 1/2 |y - t|^2 to `cost`.
std::size_t count_errors(std::span<const double> outputs, std::span<const double> targets,
                         std::span<const int> labels, std::size_t classes, double& cost);

// A settle whose residual is not finite has diverged: the step must stop there, not learn from it.
void require_finite(const SettleReport& settle, const char* phase, const std::string& model);

}  // namespace aeqlab
