#pragma once
// The parameter values kept by a rule that sets the parameters itself (EqProp, coupled learning,
// SPSA on digital potentiometers): continuous values the rule updates by projected SGD, with a
// learning rate per parameter group, and writes to the device after every update. The rule keeps
// its own copy because a quantised device rounds what it is sent: updates smaller than one tap
// would vanish if the next step started from what the device reads back.

#include <cstddef>
#include <span>
#include <vector>

#include "core/device.hpp"

namespace aeqlab {

// What a rule that sets the parameters needs of the device: settable parameters, parameter
// readback (for its starting values) and, with `needs_probes`, local probes. The error names the
// algorithm and what the device lacks.
void require_settable_device(const char* algorithm, const DeviceDescription& d, bool needs_probes);

class ShadowParameters {
 public:
  // `rates`: one learning rate per parameter group, or one for all of them.
  ShadowParameters(const DeviceDescription& d, const std::vector<double>& rates, double decay);

  // trainer.learning_rates against the device's parameter groups (ConfigError naming the key).
  static void require_rates(const std::vector<double>& rates, const DeviceDescription& d);

  // The starting values: what the device holds now.
  void read_from(Device& device);
  void write_to(Device& device) const;
  const std::vector<double>& values() const { return theta_; }
  // A resumed run's values (the checkpoint's), in the device's parameter order.
  void assign(std::vector<double> theta);

  // theta_k <- clamp(theta_k - scale * rate_k * direction_k) into its group's safe range. The
  // projection is the rule's own choice, not the device's: the device refuses what lies outside.
  void descend(std::span<const double> direction, double scale);
  // out_k = clamp(theta_k + offset_k) into its group's safe range.
  void offset(std::span<const double> offset, std::vector<double>& out) const;
  // The width of parameter k's safe range.
  double width(std::size_t k) const { return high_[k] - low_[k]; }

  // Every rate times the decay (at an epoch's end).
  void end_epoch();
  // The rates after `epochs` epochs, multiplied the same way end_epoch does, so a resumed run
  // continues with the very same values.
  void resume_epochs(std::size_t epochs);

 private:
  std::vector<double> theta_, low_, high_;
  std::vector<std::size_t> group_;          // per parameter: its group
  std::vector<double> base_rates_, rates_;  // per group
  double decay_ = 1.0;
};

}  // namespace aeqlab
