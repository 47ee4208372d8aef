#include "core/secant_homeostat.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>
#include <Eigen/Dense>

#include "core/error.hpp"
#include "core/stop_request.hpp"

namespace aeqlab {

namespace {

// A round whose largest error exceeds this multiple of the smallest one seen in the hold has
// diverged: the secant memory is dropped and the loop takes a proportional step.
constexpr double restart_growth = 4.0;
// Pairs whose theta moved less than this many tolerances in a group say nothing reliable about
// that group's gain (at convergence the difference is read-out noise).
constexpr double gain_floor_tolerances = 10.0;
// Scaling a group's compliance down: to this fraction of the estimated limit.
constexpr double scale_margin = 0.8;
void accumulate(SettleReport& total, const SettleReport& s) {
  total.seconds += s.seconds;
  total.iterations += s.iterations;
  total.residual = s.residual;
  total.converged = s.converged;
}

Eigen::Map<const Eigen::VectorXd> view(const std::vector<double>& v) {
  return {v.data(), Eigen::Index(v.size())};
}

}  // namespace

std::vector<double> SecantHomeostat::memory() const {
  if (knobs_.empty()) return {};
  if (restored_) return knobs_;  // as restored: split at the next hold
  std::vector<double> m = knobs_;
  m.insert(m.end(), reported_.begin(), reported_.end());
  m.insert(m.end(), {ratio_, floor_, plant_gain_, holdable_});
  return m;
}

void SecantHomeostat::restore_memory(std::vector<double> memory) {
  knobs_ = std::move(memory);
  reported_.clear();  // split off at the next hold, when the group count is known
  restored_ = true;
}

void SecantHomeostat::predict_offset(std::size_t kept, const std::vector<double>& step,
                                     std::vector<double>& offset) const {
  // offset(theta + step) ~ offset(theta) + dO gamma, gamma = argmin |step - dTheta gamma|: the
  // measured response along the directions already explored; nothing along the others.
  const std::size_t j = kept;
  if (j == 0) return;
  Eigen::MatrixXd gram(j, j);
  Eigen::VectorXd rhs(j);
  for (std::size_t a = 0; a < j; ++a) {
    const auto da = view(pairs_[a].dtheta);
    rhs(Eigen::Index(a)) = da.dot(view(step));
    for (std::size_t b = 0; b <= a; ++b)
      gram(Eigen::Index(a), Eigen::Index(b)) = gram(Eigen::Index(b), Eigen::Index(a)) =
          da.dot(view(pairs_[b].dtheta));
  }
  const double ridge = 1e-12 * gram.diagonal().maxCoeff();
  if (!(ridge > 0)) return;
  gram.diagonal().array() += ridge;
  const Eigen::VectorXd gamma = gram.ldlt().solve(rhs);
  if (!gamma.allFinite()) return;
  Eigen::Map<Eigen::VectorXd> out(offset.data(), Eigen::Index(offset.size()));
  for (std::size_t a = 0; a < j; ++a) out += gamma(Eigen::Index(a)) * view(pairs_[a].doffset);
}

void SecantHomeostat::measure_gain(const DeviceDescription& d, const SecantPair& pair) {
  // The plant's Jacobian is A = -E H (E: the compliances, H: the Hessian of the held energy,
  // symmetric), so its eigenvalues are those of the Rayleigh quotient <x, E^-1 A x> /
  // <x, E^-1 x>, measured along each move x = dtheta with A x = -doffset. It is a lower bound of
  // the loop gain; the moves of a hold that does not converge align with the mode that grows, so
  // there it is close. A group's share of the mode, |x_g|^2 / eps_g over the sum, says where the
  // mode lives: scaling that group's compliance is what lowers the gain (docs/algorithm.md §4).
  double across = 0.0, along = 0.0;
  std::size_t start = 0;
  for (std::size_t g = 0; g < d.parameters.size(); ++g) {
    const auto n = Eigen::Index(d.parameters[g].channels.count);
    const double inv_eps = 1.0 / d.parameters[g].compliance;
    const auto dt = view(pair.dtheta).segment(Eigen::Index(start), n);
    const auto doff = view(pair.doffset).segment(Eigen::Index(start), n);
    start += std::size_t(n);
    shares_[g] = inv_eps * dt.squaredNorm();
    along += shares_[g];
    across += inv_eps * doff.dot(dt);
  }
  // Moves lost in read-out noise say nothing (at convergence the difference is noise).
  if (view(pair.dtheta).lpNorm<Eigen::Infinity>() < gain_floor_tolerances * settings_.tolerance)
    return;
  const double gain = std::abs(across) / along;
  if (!std::isfinite(gain) || gain <= hold_gain_) return;
  hold_gain_ = gain;
  for (std::size_t g = 0; g < shares_.size(); ++g) gains_[g] = gain * shares_[g] / along;
}

void SecantHomeostat::clip_to_safe_range(const DeviceDescription& d,
                                         const std::vector<double>& target) {
  // The search may ask for a knob beyond what the device accepts: the knob stops at its edge (the
  // contract would refuse it, stopping the run). A non-finite request falls back to the target.
  std::size_t k = 0;
  for (std::size_t g = 0; g < d.knobs.size(); ++g) {
    const auto& group = d.knobs[g];
    clipped_[g] = 0;
    for (std::size_t i = 0; i < group.count; ++i, ++k) {
      double& u = knobs_[k];
      if (!std::isfinite(u)) u = target[k];
      const double wanted = u;
      u = std::clamp(u, group.safe.low, group.safe.high);
      clipped_[g] += u != wanted;
    }
  }
}

void SecantHomeostat::mark_pinned(const DeviceDescription& d) {
  // Where the physics clamps a parameter (a conductance at its floor), the offset read is only a
  // bound: those channels take the proportional step, which always moves their knob the right
  // way.
  std::size_t k = 0;
  for (const auto& group : d.parameters)
    for (std::size_t i = 0; i < group.channels.count; ++i, ++k)
      at_edge_[k] =
          measured_[k] <= group.channels.safe.low || measured_[k] >= group.channels.safe.high;
}

void SecantHomeostat::report_limit(Device& device, const HomeostatReport& r) {
  // The offending group is the one with the largest measured gain: the unstable mode lives
  // mostly in it (docs/algorithm.md §4). One group at a time, so `scale` lowers no more
  // compliances than it must.
  const auto& d = device.describe();
  if (!(hold_gain_ >= 1.0)) return;
  const std::size_t g =
      std::size_t(std::max_element(gains_.begin(), gains_.end()) - gains_.begin());
  const auto& group = d.parameters[g];
  // All compliances divided by the gain bring it to 1 exactly (the plant is linear in them);
  // the offending group's share of the mode says how much of that it alone must give.
  const double holdable = group.compliance / hold_gain_;
  std::string what = fmt::format(
      "feedback homeostat: {} group {} cannot be held at compliance {:.4g}: measured loop gain "
      "{:.3g} (the parameters hold still under their knobs only below 1), {:.0f}% of the "
      "unstable mode in {}; largest error {:.3g} after {} rounds; the largest compliance it can "
      "hold is about {:.4g}",
      d.model, group.channels.name, group.compliance, hold_gain_, 100 * gains_[g] / hold_gain_,
      group.channels.name, r.max_error, r.rounds, holdable);
  if (probed_)
    what += fmt::format(
        "; the stiff probe (trainer.feedback.probe, ratio {:.3g}) did not hold it either: its "
        "cycles stopped gaining on the plant (a cycle gains about gain^2 / ratio), so {} "
        "(docs/algorithm.md §4.2)",
        ratio_,
        settings_.probe_auto ? "the ratio is at its largest" : "raise the ratio, or set \"auto\"");
  if (clipped_[g] > 0)
    what += fmt::format(
        "; {} of its knobs stand at the edge of their safe range [{:.4g}, {:.4g}] {} (the range "
        "limits the hold)",
        clipped_[g], d.knobs[g].safe.low, d.knobs[g].safe.high, d.knobs[g].unit);
  switch (settings_.limit) {
    case HoldLimitPolicy::refuse:
      throw DeviceError(what + fmt::format("; lower device.compliance for {}, or set "
                                           "trainer.feedback.limit to \"scale\" "
                                           "(docs/algorithm.md §4)",
                                           group.channels.name));
    case HoldLimitPolicy::scale:
      if (d.capabilities.adjustable_compliance) {
        const double scaled = scale_margin * holdable;
        spdlog::warn("{}; compliance of {} scaled from {:.4g} to {:.4g} (trainer.feedback.limit)",
                     what, group.channels.name, group.compliance, scaled);
        device.set_compliance(g, scaled);
        ++scalings_;
        break;
      }
      [[fallthrough]];
    case HoldLimitPolicy::warn:
      if (reported_[g] == 0.0)
        spdlog::warn("{}; training goes on with unheld parameters (trainer.feedback.limit)", what);
      break;
  }
  reported_[g] = 1.0;
}

HomeostatReport SecantHomeostat::hold_to_read(Device& device, const std::vector<double>& target) {
  to_read_ = true;
  try {
    HomeostatReport r = hold(device, target);
    to_read_ = false;
    return r;
  } catch (...) {
    to_read_ = false;
    throw;
  }
}

HomeostatReport SecantHomeostat::hold(Device& device, const std::vector<double>& target) {
  const auto& d = device.describe();
  const std::size_t n = d.parameter_count(), groups = d.parameters.size();
  restored_ = false;
  if (knobs_.size() == n + groups + 4) {  // restored: knobs, the flags, the probe's tuning
    ratio_ = knobs_[n + groups];
    floor_ = knobs_[n + groups + 1];
    plant_gain_ = knobs_[n + groups + 2];
    holdable_ = knobs_[n + groups + 3];
    knobs_.resize(n + groups);
  }
  if (knobs_.size() == n + groups) {  // restored from a checkpoint: knobs, then the flags
    reported_.assign(knobs_.begin() + std::ptrdiff_t(n), knobs_.end());
    knobs_.resize(n);
  }
  if (knobs_.size() != d.knob_count()) {
    // First use: the knobs at the target, as if no force acted on the parameters (whatever the
    // knobs read at power-up may drive them anywhere: a relaxing circuit's conductances to their
    // floor). Afterwards each hold starts from the knobs the previous phase left (a warm start,
    // with no knob readback).
    knobs_ = target;
  }
  if (reported_.size() != groups) reported_.assign(groups, 0.0);
  gains_.assign(groups, 0.0);
  shares_.assign(groups, 0.0);
  hold_gain_ = 0.0;
  theta_.resize(n);
  measured_.resize(n);
  offset_.resize(n);
  const bool probing =
      (settings_.probe_auto || settings_.probe > 1.0) && d.capabilities.adjustable_compliance;
  choose_ratio();
  if (probing && to_read_)
    theta_ = target;  // the probe anchors on the target: where they start from is not needed
  else
    device.read_parameters(theta_);  // where the first settle starts from
  std::size_t kept = 0;
  oldest_ = 0;
  pairs_.resize(settings_.memory);

  clipped_.assign(d.knobs.size(), 0);
  at_edge_.assign(n, 0);
  edge_before_.assign(n, 0);
  HomeostatReport r;
  // Whether measured_ holds a reading of the last settle that the loop has not looked at yet.
  bool fresh = false;
  probed_ = probing;
  probe_stalled_ = false;
  floor_landing_ = 0.0;
  floor_seen_at_ = 0.0;
  if (probing) fresh = probe_cycles(device, target, r);
  // With the probe, a hold within its measured read-out floor is held where the loop at the real
  // compliance was found not to hold (4.2).
  double held = probing ? held_error() : settings_.tolerance;
  double best = std::numeric_limits<double>::infinity();
  bool paired = false;  // previous_theta_ and previous_offset_ hold the round before
  while (!r.converged && !probe_stalled_) {
    if (!fresh) {
      if (r.rounds >= settings_.max_rounds) break;
      throw_if_urgent_stop();
      accumulate(r.settle, device.settle());
      ++r.rounds;
      device.read_parameters(measured_);
    }
    fresh = false;
    double worst = 0.0;
    for (std::size_t i = 0; i < n; ++i) worst = std::max(worst, std::abs(target[i] - measured_[i]));
    r.max_error = worst;
    spdlog::debug("feedback homeostat: round {}, largest error {:.3g}", r.rounds, worst);
    if (!std::isfinite(worst)) break;
    if (worst <= held) {
      if (floor_landing_ > 0 && worst <= settings_.tolerance) holdable_ = 1.0;
      r.converged = true;
      break;
    }
    if (floor_landing_ > 0 && !(holdable_ > 0) && worst > restart_growth * floor_landing_) {
      // From the probe's landing at the read-out floor the rounds at the real compliance ran
      // away: past gain 1 they cannot hold. Said once; this and every later hold end at the
      // floor, reached by one more probe cycle from here.
      holdable_ = -1.0;
      spdlog::debug("feedback homeostat: the secant rounds ran away from the probe's floor");
      theta_ = measured_;
      fresh = probe_cycles(device, target, r);
      held = held_error();
      floor_landing_ = 0.0;
      paired = false;
      kept = 0;
      oldest_ = 0;
      continue;
    }
    if (worst < best) best_knobs_ = knobs_;  // the knobs this settle ran under
    // The physics' offset o(theta_k) = u_k - theta_{k+1}, measured.
    for (std::size_t i = 0; i < n; ++i) offset_[i] = knobs_[i] - measured_[i];
    edge_before_.swap(at_edge_);
    mark_pinned(d);
    if (paired && settings_.memory > 0) {
      SecantPair& pair = pairs_[oldest_];
      pair.dtheta.resize(n);
      pair.doffset.resize(n);
      for (std::size_t i = 0; i < n; ++i) {
        // A parameter pinned at its range's edge shows the knob, not the physics: no secant.
        const bool pinned = at_edge_[i] || edge_before_[i];
        pair.dtheta[i] = pinned ? 0.0 : theta_[i] - previous_theta_[i];
        pair.doffset[i] = pinned ? 0.0 : offset_[i] - previous_offset_[i];
      }
      measure_gain(d, pair);
      oldest_ = (oldest_ + 1) % settings_.memory;
      kept = std::min(kept + 1, settings_.memory);
    }
    if (worst > restart_growth * best) {
      // Diverging: forget the secant model and take a damped proportional step.
      kept = 0;
      oldest_ = 0;
      for (std::size_t i = 0; i < n; ++i) knobs_[i] += settings_.gain * (target[i] - measured_[i]);
    } else {
      // Predict the offset at the parameters the next settle starts from, and set the knobs so
      // that settle ends on the target.
      step_.resize(n);
      for (std::size_t i = 0; i < n; ++i) step_[i] = measured_[i] - theta_[i];
      predicted_ = offset_;
      predict_offset(kept, step_, predicted_);
      // gain < 1 damps the step; with no memory and gain g this is the proportional loop.
      for (std::size_t i = 0; i < n; ++i)
        knobs_[i] += settings_.gain * (at_edge_[i] ? target[i] - measured_[i]
                                                   : target[i] + predicted_[i] - knobs_[i]);
    }
    best = std::min(best, worst);
    clip_to_safe_range(d, target);
    device.set_knobs(knobs_);
    previous_theta_ = theta_;
    theta_ = measured_;
    previous_offset_ = offset_;
    paired = true;
  }
  r.loop_gain = hold_gain_;
  if (!r.converged && std::isfinite(r.max_error) && r.max_error > best) {
    // A hold that failed ends where it came closest, not wherever the search had wandered: one
    // more settle under the knobs that gave the smallest error.
    knobs_ = best_knobs_;
    device.set_knobs(knobs_);
    accumulate(r.settle, device.settle());
    device.read_parameters(measured_);
    r.max_error = 0.0;
    for (std::size_t i = 0; i < n; ++i)
      r.max_error = std::max(r.max_error, std::abs(target[i] - measured_[i]));
    ++r.rounds;
    r.converged = r.max_error <= held;
  }
  if (!r.converged && !probe_stalled_ && std::isfinite(r.max_error)) report_limit(device, r);
  if (probing && r.converged && r.max_error > settings_.tolerance) report_floor(d);
  return r;
}

}  // namespace aeqlab
