// The learning rules `train` knows: the one list a new rule is added to (one include, one entry).
// Listed here rather than registered by static initialisers, which a static library drops.

#include <spdlog/fmt/fmt.h>

#include "core/aeqprop_trainer.hpp"
#include "core/coupled_learning_trainer.hpp"
#include "core/eqprop_trainer.hpp"
#include "core/error.hpp"
#include "core/learning_rule.hpp"
#include "core/spsa_trainer.hpp"

namespace aeqlab {

std::span<const LearningRule> learning_rules() {
  static const LearningRule rules[] = {
      aeqprop_learning_rule(),
      eqprop_learning_rule(),
      coupled_learning_rule(),
      spsa_learning_rule(),
  };
  return rules;
}

const LearningRule& learning_rule(std::string_view name) {
  std::string known;
  for (const auto& rule : learning_rules()) {
    if (rule.name == name) return rule;
    known += (known.empty() ? "" : ", ") + std::string(rule.name);
  }
  throw ConfigError(fmt::format("trainer.algorithm: \"{}\" is not one of: {}", name, known));
}

}  // namespace aeqlab
