#include "core/training_run.hpp"

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"
#include "core/run.hpp"
#include "core/trainer_factory.hpp"

namespace aeqlab {

void check_run(const TrainerSettings& settings, const Device& device, const Split& data) {
  const auto& d = device.describe();
  if (data.train.features != d.inputs.count)
    throw ConfigError(fmt::format("data: {} has {} features but {} has {} inputs", data.train.name,
                                  data.train.features, d.model, d.inputs.count));
  if (data.train.classes > d.outputs.count)
    throw ConfigError(fmt::format("data: {} has {} classes but {} has {} outputs", data.train.name,
                                  data.train.classes, d.model, d.outputs.count));
  if (settings.batch_size > d.replicas)
    throw ConfigError(fmt::format("trainer.batch_size: {} exceeds the {} replicas of {}",
                                  settings.batch_size, d.replicas, d.model));
  require_trainer_supported(settings, d);
  (void)make_trainer_homeostat(settings, device);
}

RunResult run_training(const TrainerSettings& settings, const SessionSettings& session_settings,
                       Device& device, const Split& data, Session& session, bool resume) {
  check_run(settings, device, data);
  Run run(settings, session_settings, device, data, session);
  return run.go(resume);
}

RunResult run_training(const TrainerSettings& settings, Device& device, const Split& data,
                       Session& session) {
  return run_training(settings, SessionSettings{}, device, data, session, false);
}

}  // namespace aeqlab
