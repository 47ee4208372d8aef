#include "instruments/emulated_plasticity.hpp"

#include <algorithm>
#include <cmath>

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"
#include "core/local_probes.hpp"

namespace aeqlab::instruments {

EmulatedPlasticity::EmulatedPlasticity(std::unique_ptr<Device> bench, PlasticityEmulation settings)
    : bench_(std::move(bench)), settings_(std::move(settings)) {
  const DeviceDescription& b = bench_->describe();
  const auto& c = b.capabilities;
  if (!c.settable_parameters || !c.parameter_readback || !c.local_probes)
    throw DeviceError(fmt::format(
        "{}: emulated plasticity needs settable parameters, their readback and local probes",
        b.model));
  if (settings_.compliance.size() != b.parameters.size())
    throw DeviceError(fmt::format("{}: {} compliances for {} parameter groups", b.model,
                                  settings_.compliance.size(), b.parameters.size()));
  description_ = b;
  description_.model = b.model + " (emulated plasticity)";
  description_.knobs.clear();
  // The knobs sit above their element by eps law(probe): room for that and a homeostat's swing,
  // as the relaxing circuit leaves (docs/circuit-device.md).
  const double width = b.outputs.safe.high - b.outputs.safe.low;
  for (std::size_t k = 0; k < b.parameters.size(); ++k) {
    auto& p = description_.parameters[k];
    p.compliance = settings_.compliance[k];
    const double span =
        10.0 * (p.channels.safe.high - p.channels.safe.low) + 2.0 * p.compliance * width * width;
    description_.knobs.push_back({"u_" + p.channels.name,
                                  p.channels.count,
                                  p.channels.unit,
                                  {p.channels.safe.low - span, p.channels.safe.high + span},
                                  p.channels.safe.low});
    eps_.insert(eps_.end(), p.channels.count, p.compliance);
    low_.insert(low_.end(), p.channels.count, p.channels.safe.low);
    high_.insert(high_.end(), p.channels.count, p.channels.safe.high);
  }
  description_.capabilities.native_homeostasis = true;
  description_.capabilities.adjustable_compliance = true;
  description_.capabilities.snapshot = false;
  // The knobs start where the elements are: nothing moves until a trainer says so.
  g_.resize(b.parameter_count());
  bench_->read_parameters(g_);
  knobs_ = g_;
}

PlasticityTally EmulatedPlasticity::tally() const {
  std::lock_guard<std::recursive_timed_mutex> lock(call_mutex());
  return tally_;
}

void EmulatedPlasticity::do_set_inputs(std::span<const double> values, std::size_t replicas) {
  bench_->set_inputs(values, replicas);
}

void EmulatedPlasticity::do_set_nudge(double beta, std::span<const double> targets) {
  bench_->set_nudge(beta, targets);
}

void EmulatedPlasticity::do_set_knobs(std::span<const double> values) {
  std::copy(values.begin(), values.end(), knobs_.begin());
}

void EmulatedPlasticity::do_read_knobs(std::span<double> out) {
  std::copy(knobs_.begin(), knobs_.end(), out.begin());
}

void EmulatedPlasticity::do_read_parameters(std::span<double> out) {
  bench_->read_parameters(out);
}

void EmulatedPlasticity::do_read_outputs(std::span<double> out) {
  bench_->read_outputs(out);
}

void EmulatedPlasticity::do_read_probes(std::span<double> out) {
  bench_->read_probes(out);
}

void EmulatedPlasticity::do_write_parameters(std::span<const double> values) {
  bench_->write_parameters(values);
}

void EmulatedPlasticity::do_set_compliance(std::size_t group, double compliance) {
  std::size_t at = 0;
  for (std::size_t g = 0; g < group; ++g) at += description_.parameters[g].channels.count;
  std::fill_n(eps_.begin() + static_cast<std::ptrdiff_t>(at),
              description_.parameters[group].channels.count, compliance);
}

void EmulatedPlasticity::add(SettleReport& total, const SettleReport& one) const {
  total.seconds += one.seconds;
  total.iterations += one.iterations;
  total.residual = one.residual;
  total.converged = total.converged && one.converged;
}

void EmulatedPlasticity::probe_energy(std::vector<double>& q) {
  // The bench's declared law, applied as the trainers apply it (core/local_probes.hpp).
  q.resize(g_.size());
  bench_->read_probes(q);
  for (auto& v : q) v = apply_probe_law(description_.probes.law, v);
}

SettleReport EmulatedPlasticity::do_settle() {
  SettleReport total;
  total.converged = true;
  add(total, bench_->settle());
  ++tally_.relaxations;
  bench_->read_parameters(g_);
  bool stable = false;
  std::vector<double> next(g_.size());
  for (std::size_t round = 0; round < settings_.rounds && !stable; ++round) {
    if (safe_state_pending()) break;
    probe_energy(q_);
    for (std::size_t k = 0; k < g_.size(); ++k)
      next[k] = std::clamp(knobs_[k] - eps_[k] * q_[k], low_[k], high_[k]);
    bench_->write_parameters(next);
    ++tally_.moves;
    // What the parts landed on (their taps), not what was asked.
    std::vector<double> landed(g_.size());
    bench_->read_parameters(landed);
    double moved = 0.0;
    for (std::size_t k = 0; k < g_.size(); ++k)
      moved = std::max(moved, std::abs(landed[k] - g_[k]));
    g_ = std::move(landed);
    stable = moved <= settings_.tolerance;
    // The circuit follows the move: the next probes, or the outputs read after this settle.
    add(total, bench_->settle());
  }
  if (settings_.rounds > 1) total.converged = total.converged && stable;
  return total;
}

SettleReport EmulatedPlasticity::do_settle_homeostatic() {
  // The elements stay put; the knobs end where they must be for that.
  const SettleReport r = bench_->settle();
  ++tally_.holds;
  bench_->read_parameters(g_);
  probe_energy(q_);
  for (std::size_t k = 0; k < g_.size(); ++k) knobs_[k] = g_[k] + eps_[k] * q_[k];
  return r;
}

std::vector<InstrumentIdentity> EmulatedPlasticity::do_instruments() const {
  return bench_->instruments();
}

void EmulatedPlasticity::do_safe_state(bool) {
  // The bench takes its own lock, or acts beside a call stuck on the wire.
  bench_->safe_state();
}

}  // namespace aeqlab::instruments
