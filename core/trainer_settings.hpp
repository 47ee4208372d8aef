#pragma once
// The `trainer` section of a config: which learning rule, the run's settings, and the keys the
// rules share at the top of the section. A rule's own section (trainer.coupled, trainer.spsa, ...)
// is read by the rule itself (core/learning_rule.hpp) into `sections`.

#include <any>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <typeindex>
#include <vector>

#include <nlohmann/json.hpp>

namespace aeqlab {

// The settings of the rules' own config sections, kept by type: each rule reads and uses its own,
// so adding a rule adds no field to TrainerSettings.
class RuleSections {
 public:
  // The section of type S, made with its defaults on first use.
  template <class S>
  S& get() {
    std::any& slot = sections_[std::type_index(typeid(S))];
    if (!slot.has_value()) slot = S{};
    return std::any_cast<S&>(slot);
  }
  // The section of type S, or its defaults when none was read or set.
  template <class S>
  const S& get() const {
    const auto it = sections_.find(std::type_index(typeid(S)));
    if (it != sections_.end()) return std::any_cast<const S&>(it->second);
    static const S defaults{};
    return defaults;
  }

 private:
  std::map<std::type_index, std::any> sections_;
};

struct TrainerSettings {
  std::string algorithm = "aeqprop";  // a rule's name in core/learning_rules.cpp
  std::string mode = "centered";      // aeqprop, eqprop
  double nudging = 0.5;               // aeqprop, eqprop
  std::size_t epochs = 1;
  std::size_t batch_size = 32;
  double compliance_decay = 1.0;  // aeqprop
  std::string homeostat = "auto";
  double feedback_gain = 1.0;
  double feedback_tolerance = 1e-6;
  std::size_t feedback_max_rounds = 100;
  std::size_t feedback_memory = 5;
  double feedback_probe = 0.0;      // trainer.feedback.probe: stiffness ratio, 0 = no probe
  bool feedback_probe_auto = true;  // trainer.feedback.probe "auto" (docs/algorithm.md §4.2)
  std::string feedback_limit = "warn";
  std::uint64_t seed = 1;
  bool shuffle = true;
  bool score_batches = true;
  // The rules that set the parameters (eqprop, coupled, spsa): one rate per parameter group, or
  // one for all, and their per-epoch decay.
  std::vector<double> learning_rates{0.05};
  double learning_rate_decay = 1.0;
  // Each rule's own section (e.g. sections.get<SpsaSection>()), read by the rule.
  RuleSections sections;
};

// Reads and checks the `trainer` section, every rule's own section included; errors name the key.
TrainerSettings trainer_settings_from(const nlohmann::json& trainer);

}  // namespace aeqlab
