#pragma once
// The learning rule a config chooses (trainer.algorithm), built on a device and a homeostat: what
// the run asks of the rule it finds in core/learning_rules.cpp.

#include <memory>
#include <string>

#include "core/device.hpp"
#include "core/homeostat.hpp"
#include "core/trainer.hpp"
#include "core/trainer_settings.hpp"

namespace aeqlab {

// What the chosen rule refuses on this device (a missing capability, settings that do not fit
// it), with an error naming the key: checked before anything touches the device.
void require_trainer_supported(const TrainerSettings& settings, const DeviceDescription& device);

// The homeostat the rule holds the parameters with (trainer.homeostat, "auto" resolved for it).
std::unique_ptr<Homeostat> make_trainer_homeostat(const TrainerSettings& settings,
                                                  const Device& device);

std::unique_ptr<Trainer> make_trainer(const TrainerSettings& settings, Device& device,
                                      Homeostat& homeostat);

// One line for the log: the rule and its main settings.
std::string describe_trainer(const TrainerSettings& settings);

}  // namespace aeqlab
