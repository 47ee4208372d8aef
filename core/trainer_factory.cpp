#include "core/trainer_factory.hpp"

#include "core/learning_rule.hpp"

namespace aeqlab {

void require_trainer_supported(const TrainerSettings& s, const DeviceDescription& d) {
  learning_rule(s.algorithm).require_supported(s, d);
}

std::unique_ptr<Homeostat> make_trainer_homeostat(const TrainerSettings& s, const Device& device) {
  FeedbackSettings feedback;
  feedback.gain = s.feedback_gain;
  feedback.tolerance = s.feedback_tolerance;
  feedback.max_rounds = s.feedback_max_rounds;
  feedback.memory = s.feedback_memory;
  feedback.probe = s.feedback_probe;
  feedback.probe_auto = s.feedback_probe_auto;
  feedback.limit = s.feedback_limit == "refuse"  ? HoldLimitPolicy::refuse
                   : s.feedback_limit == "scale" ? HoldLimitPolicy::scale
                                                 : HoldLimitPolicy::warn;
  return make_homeostat(s.homeostat, device, feedback, learning_rule(s.algorithm).sets_parameters);
}

std::unique_ptr<Trainer> make_trainer(const TrainerSettings& s, Device& device,
                                      Homeostat& homeostat) {
  return learning_rule(s.algorithm).make(s, device, homeostat);
}

std::string describe_trainer(const TrainerSettings& s) {
  for (const auto& rule : learning_rules())
    if (rule.name == s.algorithm) return rule.describe(s);
  return s.algorithm;
}

}  // namespace aeqlab
