#include "core/trainer.hpp"

#include <cmath>

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"
#include "core/stop_request.hpp"

namespace aeqlab {

void Trainer::record_phase(StepReport& report, const PhaseRecord& phase) const {
  report.settles += phase.rounds;
  report.phases.push_back(phase);
  if (observer_) observer_(phase);
}

void Trainer::record_hold(StepReport& report, const char* phase, double beta,
                          const HomeostatReport& hold) const {
  record_phase(report, {phase, beta, hold.settle, hold.rounds, hold.converged, true, hold.max_error,
                        hold.loop_gain});
}

void Trainer::score(Device& device, Homeostat& homeostat, const std::vector<double>& theta,
                    std::span<const double> targets, std::span<const int> labels,
                    std::size_t replicas, std::vector<double>& outputs, StepReport& report) const {
  const auto& d = device.describe();
  throw_if_urgent_stop();
  report.scoring = homeostat.hold_to_read(device, theta);
  require_finite(report.scoring.settle, "scoring", d.model);
  record_hold(report, "scoring", 0.0, report.scoring);
  outputs.resize(replicas * d.outputs.count);
  device.read_outputs(outputs);
  report.errors = count_errors(outputs, targets, labels, d.outputs.count, report.cost);
  report.scored = true;
}

std::size_t count_errors(std::span<const double> outputs, std::span<const double> targets,
                         std::span<const int> labels, std::size_t classes, double& cost) {
  std::size_t errors = 0;
  for (std::size_t r = 0; r < labels.size(); ++r) {
    std::size_t best = 0;
    for (std::size_t c = 0; c < classes; ++c) {
      const double y = outputs[r * classes + c];
      if (y > outputs[r * classes + best]) best = c;
      const double d = y - targets[r * classes + c];
      cost += 0.5 * d * d;
    }
    errors += best != std::size_t(labels[r]);
  }
  return errors;
}

void require_finite(const SettleReport& s, const char* phase, const std::string& model) {
  if (!std::isfinite(s.residual))
    throw DeviceError(
        fmt::format("{}: the {} settle ended with a non-finite residual", model, phase));
}

}  // namespace aeqlab
