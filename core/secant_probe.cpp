// The secant homeostat's stiff probe (trainer.feedback.probe; docs/algorithm.md §4.2): each hold
// first measures the physics' force on the parameters with every compliance divided by a ratio
// k, then sets the knobs from it and settles once at the real compliance. Its limit is the
// read-out's floor (k times the step with which parameters are set and read), which it measures,
// ends holds at, and, with "auto", balances against the plant's response by its choice of k.

#include <algorithm>
#include <cmath>
#include <limits>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include "core/error.hpp"
#include "core/secant_homeostat.hpp"
#include "core/stop_request.hpp"

namespace aeqlab {

namespace {

// A probe landing more than this many times the probe's own move is not the plant's response
// (loop gains are a few units; a probe cycle needs k > 10 gain^2 to gain on them) but the
// read-out's floor: k times the step with which the parameters are set and read.
constexpr double floor_response = 100.0;
// A landing within this multiple of the measured floor counts as held: at the ratio "auto"
// chooses the plant's share of a landing equals the read-out's (about twice the floor), and the
// floor scatters from hold to hold and grows with the parameters' magnitudes. A second cycle
// would gain at most that factor 2, for two more settles.
constexpr double floor_margin = 4.0;
// trainer.feedback.probe "auto": the first ratio (it holds the float64 simulators, whose
// read-out floor is far below any tolerance, in one cycle), the largest, and the loop gain
// assumed until a probe cycle has measured one.
constexpr double first_ratio = 1e6;
constexpr double largest_ratio = 1e8;
constexpr double assumed_gain = 10.0;
// The softest probe that still gains tenfold a cycle on a plant of loop gain g.
double slowest_ratio(double g) {
  return 10 * g * g;
}

void accumulate(SettleReport& total, const SettleReport& s) {
  total.seconds += s.seconds;
  total.iterations += s.iterations;
  total.residual = s.residual;
  total.converged = s.converged;
}

}  // namespace

void SecantHomeostat::choose_ratio() {
  if (!settings_.probe_auto)
    ratio_ = settings_.probe;
  else if (!(ratio_ > 1.0))
    ratio_ = first_ratio;  // first use; afterwards the ratio it found (also from a checkpoint)
}

void SecantHomeostat::report_probe_stall(const DeviceDescription& d, double worst,
                                         double response) {
  const std::string what = fmt::format(
      "feedback homeostat: {}: the stiff probe at ratio {:.3g} stopped gaining at a largest error "
      "of {:.3g} (a cycle gains about gain^2 / ratio; its landing was {:.3g} times the probe's own "
      "move, and past gain 1 no loop at the real compliance holds): the hold ends there; raise "
      "trainer.feedback.probe or set it to \"auto\" (docs/algorithm.md §4.2)",
      d.model, ratio_, worst, response);
  if (settings_.limit == HoldLimitPolicy::refuse) throw DeviceError(what);
  if (!stall_reported_) spdlog::warn("{}", what);
  stall_reported_ = true;
}

double SecantHomeostat::held_error() const {
  // The floor counts as held only where the loop at the real compliance was found not to hold
  // (it would refine a landing at the floor, as it does where the loop gain is below 1).
  if (!(holdable_ < 0)) return settings_.tolerance;
  return std::max(settings_.tolerance, floor_margin * ratio_ * floor_);
}

double SecantHomeostat::floor_error() const {
  return std::max(settings_.tolerance, floor_margin * ratio_ * floor_);
}

void SecantHomeostat::report_floor(const DeviceDescription& d) {
  // Once, and again when the floor has moved (the parameters' magnitudes grow in training).
  const double held = held_error();
  if (held <= settings_.tolerance ||
      (reported_floor_ > 0 && held < 2 * reported_floor_ && held > reported_floor_ / 2))
    return;
  reported_floor_ = held;
  spdlog::info(
      "feedback homeostat: {} reads its parameters to about {:.3g}; the stiff probe at ratio "
      "{:.3g} holds them to about {:.3g}, above trainer.feedback.tolerance {:.3g}: holds end "
      "there (the secant rounds at the real compliance ran away from it: the loop gain is past "
      "1; docs/algorithm.md §4.2)",
      d.model, floor_, ratio_, held, settings_.tolerance);
  if (!settings_.probe_auto)
    spdlog::info("feedback homeostat: a lower trainer.feedback.probe (or \"auto\") lowers that");
}

bool SecantHomeostat::probe_cycles(Device& device, const std::vector<double>& target,
                                   HomeostatReport& r) {
  // At fixed parameters the states' equilibrium does not depend on the compliance, so neither
  // does the force the physics exerts on a held parameter, o / eps. A cycle measures that force
  // with the parameters tied k times stiffer to their knobs (they barely move: the loop gain is
  // divided by k), then sets the knobs to the target plus k times the measured offset and settles
  // at the real compliance: with slow parameters that settle starts where the force was measured
  // and lands on the target, whatever the loop gain (docs/algorithm.md §4.2). The probe's knobs
  // are preloaded with the current estimate, so each cycle refines it by about gain^2 / k.
  //
  // What limits it is the read-out: the estimate carries k times the step with which the
  // parameters are set and read. A landing far larger than the plant's response to the probe's
  // own move shows that floor; measured, it sets what counts as held (a loop at the real
  // compliance past gain 1 cannot do better) and, with trainer.feedback.probe "auto", the ratio.
  const auto& d = device.describe();
  const std::size_t n = theta_.size(), groups = d.parameters.size();
  compliance_.resize(groups);
  for (std::size_t g = 0; g < groups; ++g) compliance_[g] = d.parameters[g].compliance;
  estimate_.resize(n);
  for (std::size_t i = 0; i < n; ++i) estimate_[i] = knobs_[i] - target[i];  // warm start
  probe_.resize(n);
  double previous = std::numeric_limits<double>::infinity();
  bool fresh = false, first_cycle = true;
  while (r.rounds + 2 <= settings_.max_rounds) {
    throw_if_urgent_stop();
    const double k = ratio_;
    const double held = held_error();
    for (std::size_t g = 0; g < groups; ++g) device.set_compliance(g, compliance_[g] / k);
    // Anchored where the parameters are, the probe measures the force there, which the settle
    // at the real compliance starts from. A hold to read starts anchored on the target (theta_
    // is set to it, unread): tied that stiffly, the parameters go there from wherever they
    // drifted (a bench relaxes as soon as new inputs or nudging arrive), and its own settle is
    // the hold. Later cycles anchor where the landing left them, like any hold: anchored on the
    // target, the force would be measured at the landing and used at the target, off by the
    // loop gain times the landing's error.
    for (std::size_t i = 0; i < n; ++i) knobs_[i] = theta_[i] + estimate_[i] / k;
    clip_to_safe_range(d, target);
    device.set_knobs(knobs_);
    accumulate(r.settle, device.settle());
    ++r.rounds;
    device.read_parameters(measured_);
    mark_pinned(d);
    double change = 0.0;  // how far the offset moved since the estimate: the hold's task
    for (std::size_t i = 0; i < n; ++i) {
      // A parameter read at its range's edge gives only a bound: its estimate stays.
      if (!at_edge_[i]) {
        const double e = k * (knobs_[i] - measured_[i]);
        change = std::max(change, std::abs(e - estimate_[i]));
        estimate_[i] = e;
      }
      probe_[i] = measured_[i];
    }
    for (std::size_t g = 0; g < groups; ++g) device.set_compliance(g, compliance_[g]);
    for (std::size_t i = 0; i < n; ++i) knobs_[i] = target[i] + estimate_[i];
    clip_to_safe_range(d, target);
    device.set_knobs(knobs_);
    double off = 0.0;
    for (std::size_t i = 0; i < n; ++i) off = std::max(off, std::abs(target[i] - probe_[i]));
    spdlog::debug("feedback homeostat: probe (ratio {:.3g}) at round {}, largest error {:.3g}", k,
                  r.rounds, off);
    if (to_read_ && first_cycle && off <= held) {
      // The probe's own settle held the parameters, with the states at their equilibrium
      // (which the compliance does not change): enough to read the outputs. The knobs'
      // estimate is only as good as k times the read-out's resolution, which matters only to a
      // phase that uses the knobs, and the next hold probes again.
      r.max_error = off;
      r.converged = true;
      return false;
    }
    first_cycle = false;
    accumulate(r.settle, device.settle());
    ++r.rounds;
    device.read_parameters(measured_);
    fresh = true;
    double worst = 0.0, moved = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      worst = std::max(worst, std::abs(target[i] - measured_[i]));
      moved = std::max(moved, std::abs(probe_[i] - theta_[i]));
    }
    // The landing error is the plant's response to the probe's own small move (a loop gain, a
    // few units) unless the read-out's floor, k times its step, is larger.
    const double response = worst / moved;
    const bool at_floor = !(response <= floor_response);
    spdlog::debug(
        "feedback homeostat: probe cycle ending at round {}, largest error {:.3g}, the probe "
        "moved them {:.3g} ({})",
        r.rounds, worst, moved, at_floor ? "the read-out's floor" : "the plant's response");
    SecantPair pair{std::vector<double>(n), std::vector<double>(n)};
    for (std::size_t i = 0; i < n; ++i) {
      pair.dtheta[i] = probe_[i] - theta_[i];
      pair.doffset[i] = target[i] - measured_[i];
    }
    measure_gain(d, pair);
    theta_ = probe_;  // where the settle at the real compliance started from
    if (worst <= held) {
      r.max_error = worst;
      r.converged = true;
      return false;
    }
    if (at_floor) {
      floor_ = worst / k;  // the read-out's step, as the probe amplifies it
      floor_seen_at_ = k;
      if (settings_.probe_auto) {
        // The ratio that balances the plant's response to the probe's move (gain x change / k)
        // against the read-out's (k x its step), for a hold that starts this far away.
        const double g = std::max(1.0, plant_gain_ > 0 ? plant_gain_ : assumed_gain);
        const double best = std::clamp(std::sqrt(g * change / floor_), slowest_ratio(g), k);
        if (best < k / 2) {
          ratio_ = best;
          spdlog::debug("feedback homeostat: probe ratio lowered to {:.3g} (read-out floor)", best);
        }
      }
      if (worst <= floor_error()) {
        if (holdable_ < 0) {
          // The probe cannot do better at this ratio, nor can the secant rounds: the hold ends
          // here, at the read-out's floor.
          r.max_error = worst;
          r.converged = true;
          return false;
        }
        // The secant rounds may refine it (a plant below gain 1); they find out, once.
        floor_landing_ = worst;
        break;
      }
    } else if (worst > settings_.tolerance) {
      plant_gain_ = std::max(plant_gain_, response);
      if (!(worst <= previous / 10) && settings_.probe_auto && k < largest_ratio) {
        // Too soft a probe for this plant (a cycle gains about gain^2 / k): stiffer, though not
        // past a ratio this hold already saw at the floor.
        ratio_ =
            std::min(largest_ratio, floor_seen_at_ > k ? std::min(10 * k, floor_seen_at_) : 10 * k);
        spdlog::debug("feedback homeostat: probe ratio raised to {:.3g}", ratio_);
      } else if (!(worst <= previous / 10)) {
        if (response < 1) break;  // a stable plant: the secant rounds take over from here
        // The plant amplifies the probe's move: no loop at the real compliance holds from here
        // (handed over, the secant rounds ran to errors of 0.1), so the hold ends at this landing.
        probe_stalled_ = true;
        r.max_error = worst;
        report_probe_stall(d, worst, response);
        return false;
      }
    }
    previous = worst;
    // The next probe starts here, preloaded with the offset the landing measured at the probe's
    // parameters (its read-out error is not multiplied by k).
    theta_ = measured_;
    mark_pinned(d);
    for (std::size_t i = 0; i < n; ++i)
      if (!at_edge_[i]) estimate_[i] = knobs_[i] - measured_[i];
    fresh = false;
  }
  return fresh;
}

}  // namespace aeqlab
