#pragma once
// A learning rule as the `train` job finds it: one entry per rule, looked up by trainer.algorithm.
// Each rule defines its entry in its own .cpp file; core/learning_rules.cpp lists them. Adding a
// rule is its own files plus one line in that list (docs/architecture.md, "Adding a learning
// rule").

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/device.hpp"
#include "core/homeostat.hpp"
#include "core/trainer.hpp"
#include "core/trainer_settings.hpp"

namespace aeqlab {

struct LearningRule {
  // The value of trainer.algorithm that chooses it.
  const char* name = "";
  // Whether the rule writes the parameters itself (EqProp, coupled learning, SPSA) rather than
  // letting the physics move them (AEqprop): trainer.homeostat "auto" depends on it.
  bool sets_parameters = false;
  // Reads and checks the rule's own section of the `trainer` config (trainer.<name>, where it
  // has one) into `settings.sections`, with errors naming the key. Null: no section of its own.
  // Every rule's section is read whichever rule is chosen, so a bad key is found in any of them.
  void (*read_section)(const nlohmann::json& trainer, TrainerSettings& settings) = nullptr;
  // What the rule refuses on this device (a missing capability, settings that do not fit it),
  // with an error naming the key; checked from the description alone, before the device is
  // touched.
  void (*require_supported)(const TrainerSettings& settings,
                            const DeviceDescription& device) = nullptr;
  // The trainer, on a device the rule supports.
  std::unique_ptr<Trainer> (*make)(const TrainerSettings& settings, Device& device,
                                   Homeostat& homeostat) = nullptr;
  // One line for the log: the rule and its main settings.
  std::string (*describe)(const TrainerSettings& settings) = nullptr;
};

// The two functions of an entry whose trainer takes its own settings, made from the trainer's
// settings by `to_settings`: refusing what the trainer refuses, and building it.
template <class TrainerT, auto to_settings>
void require_supported_by(const TrainerSettings& settings, const DeviceDescription& device) {
  TrainerT::require_supported(to_settings(settings), device);
}
template <class TrainerT, auto to_settings>
std::unique_ptr<Trainer> make_trainer(const TrainerSettings& settings, Device& device,
                                      Homeostat& homeostat) {
  return std::make_unique<TrainerT>(device, homeostat, to_settings(settings));
}

// Every rule, in the order they are listed (and named in errors).
std::span<const LearningRule> learning_rules();

// The rule trainer.algorithm names; a ConfigError listing the known ones otherwise.
const LearningRule& learning_rule(std::string_view name);

}  // namespace aeqlab
