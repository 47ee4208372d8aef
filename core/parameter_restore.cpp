#include "core/parameter_restore.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include "core/error.hpp"
#include "core/stop_request.hpp"

namespace aeqlab {

namespace {

// The channel of flat parameter index `i`, as the logs name it.
std::string channel_name(const DeviceDescription& d, std::size_t i) {
  for (const auto& g : d.parameters) {
    if (i < g.channels.count) return fmt::format("{}[{}]", g.channels.name, i);
    i -= g.channels.count;
  }
  return fmt::format("parameter {}", i);
}

void measure(const DeviceDescription& d, std::span<const double> target,
             const std::vector<double>& measured, RestoreReport& r) {
  double worst = 0.0, sum = 0.0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < target.size(); ++i) {
    const double e = std::abs(target[i] - measured[i]);
    sum += e * e;
    if (!(e <= worst)) {  // a NaN reading is the worst there is
      worst = e;
      at = i;
    }
  }
  r.max_distance = worst;
  r.rms_distance = target.empty() ? 0.0 : std::sqrt(sum / double(target.size()));
  r.worst = channel_name(d, at);
}

}  // namespace

RestoreReport restore_parameters(Device& device, std::span<const double> target,
                                 const RestoreSettings& s) {
  const DeviceDescription& d = device.describe();
  if (target.size() != d.parameter_count())
    throw DataError(fmt::format("{}: {} parameters recorded, but the device has {}", d.model,
                                target.size(), d.parameter_count()));
  RestoreReport r;
  if (d.capabilities.settable_parameters) {
    device.write_parameters(target);
    r.written = true;
  }
  if (!d.capabilities.parameter_readback) return r;
  r.verified = true;

  std::vector<double> measured(d.parameter_count());
  std::vector<double> knobs(d.knob_count());
  const bool native = d.capabilities.native_homeostasis;
  const std::size_t rounds = std::max<std::size_t>(s.max_rounds, 1);
  double gain = s.gain, previous = std::numeric_limits<double>::infinity();
  std::size_t stalled = 0;
  auto check = [&](std::size_t round) {
    device.read_parameters(measured);
    r.rounds = round;
    measure(d, target, measured, r);
    r.within = r.max_distance <= s.tolerance;
    return r.within || !std::isfinite(r.max_distance) || knobs.empty();
  };
  // Each knob moves by the distance still to go, kept inside its group's safe range: a parameter
  // the knobs cannot reach stays out of tolerance and is named, never forced.
  auto step_knobs = [&](double g_) {
    std::size_t i = 0;
    for (const auto& g : d.knobs)
      for (std::size_t k = 0; k < g.count; ++k, ++i)
        knobs[i] = std::clamp(knobs[i] + g_ * (target[i] - measured[i]), g.safe.low, g.safe.high);
    device.set_knobs(knobs);
  };
  // Written parameters are read back as they are: no settle, which would move them (and change
  // the state a simulator warm-starts from).
  if (r.written && check(0) && r.within) return r;
  for (std::size_t round = 1; round <= rounds; ++round) {
    throw_if_urgent_stop();
    if (native) {
      // A free settle moves the parameters to where the knobs and the system's state put them,
      // and the state moves with the parameters (the Hopfield physics can jump between
      // equilibria), so plain feedback can cycle. A native hold first lets the state settle with
      // the parameters fixed and leaves the knobs where they hold them; moving the knobs by the
      // distance to go then moves the parameters by that distance in one free settle, from that
      // state. The loop ends on a hold, so the device keeps what it reached.
      device.settle_homeostatic();
      if (check(round)) break;
      // Three rounds without getting closer: the knobs cannot take it further (a range, a fault).
      stalled = r.max_distance < previous ? 0 : stalled + 1;
      previous = std::min(previous, r.max_distance);
      if (stalled >= 3) break;
      if (!knobs.empty()) device.read_knobs(knobs);
      step_knobs(1.0);
      device.settle();
      continue;
    }
    // The feedback homeostat's rule. A round that does not get closer halves the gain: a full
    // step can overshoot when the state moves with the parameters.
    if (round == 1 && !knobs.empty()) device.read_knobs(knobs);
    device.settle();
    if (check(round)) break;
    if (r.max_distance >= previous) gain = std::max(gain * 0.5, s.gain / 1024.0);
    previous = r.max_distance;
    step_knobs(gain);
  }
  return r;
}

std::string describe(const RestoreReport& r) {
  if (!r.verified) return r.written ? "written (no readback to verify)" : "not verified";
  return fmt::format("largest distance {:.3g} at {}, RMS {:.3g}, after {} round{}", r.max_distance,
                     r.worst, r.rms_distance, r.rounds, r.rounds == 1 ? "" : "s");
}

}  // namespace aeqlab
