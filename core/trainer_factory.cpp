#include "core/trainer_factory.hpp"

#include "core/learning_rule.hpp"

namespace aeqlab {

void require_trainer_supported(const TrainerSettings& s, const DeviceDescription& d) {
  learning_rule(s.algorithm).require_supported(s, d);
}

std::unique_ptr<Homeostat> make_trainer_homeostat(const TrainerSettings& s, const Device& device) {
  return make_homeostat(s.homeostat, device,
                        {s.feedback_gain, s.feedback_tolerance, s.feedback_max_rounds},
                        learning_rule(s.algorithm).sets_parameters);
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
