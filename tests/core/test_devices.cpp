#include "test_devices.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <istream>
#include <ostream>
#include <random>

#include <spdlog/fmt/fmt.h>
#include <spdlog/fmt/ranges.h>

#include "core/error.hpp"

namespace aeqlab::test_devices {

TinyHopfield::TinyHopfield(TinyHopfieldSpec spec) : spec_(std::move(spec)) {
  const std::size_t e = edges();
  if (spec_.layers.size() < 2 || spec_.intervals.size() != e ||
      spec_.weight_compliance.size() != e || spec_.bias_compliance.size() != e ||
      spec_.gains.size() != e || spec_.replicas == 0)
    throw ConfigError("TinyHopfieldSpec: inconsistent sizes");

  auto& d = description_;
  d.model = fmt::format("tiny-hopfield {}", fmt::join(spec_.layers, "-"));
  d.replicas = spec_.replicas;
  d.inputs = {"x", spec_.layers.front(), "V", {0.0, 1.0}, 0.0};
  d.outputs = {"y", spec_.layers.back(), "V", spec_.intervals.back(), 0.0};
  d.nudge = {-0.9, 10.0};
  const SafeRange limits{-spec_.parameter_limit, spec_.parameter_limit};
  for (std::size_t g = 0; g < 2 * e; ++g) {
    const bool weight = g < e;
    const std::size_t count =
        weight ? spec_.layers[g] * spec_.layers[g + 1] : spec_.layers[g - e + 1];
    const std::string name = weight ? fmt::format("W{}", g) : fmt::format("b{}", g - e + 1);
    // Set parameters are coupled to nothing: no knob, no compliance.
    const double eps = spec_.settable ? 0.0
                       : weight       ? spec_.weight_compliance[g]
                                      : spec_.bias_compliance[g - e];
    d.parameters.push_back({{name, count, "S", limits, 0.0}, eps});
    if (!spec_.settable) d.knobs.push_back({"u_" + name, count, "S", limits, 0.0});
    eps_.insert(eps_.end(), count, eps);
  }
  d.capabilities.parameter_readback = spec_.parameter_readback;
  d.capabilities.native_homeostasis = spec_.native_homeostasis && !spec_.settable;
  d.capabilities.adjustable_compliance = spec_.adjustable_compliance && !spec_.settable;
  d.capabilities.settable_parameters = true;
  d.capabilities.local_probes = spec_.local_probes;
  d.capabilities.snapshot = spec_.snapshot;
  d.probes = {"a.u.", ProbeLaw::identity};

  std::mt19937_64 rng(spec_.seed);
  for (std::size_t k = 0; k < e; ++k) {
    const double pre = double(spec_.layers[k]), post = double(spec_.layers[k + 1]);
    const double scale = spec_.gains[k] * 0.5 * std::sqrt(6.0 / (pre + post));
    std::uniform_real_distribution<double> uni(-scale, scale);
    for (std::size_t i = 0; i < spec_.layers[k] * spec_.layers[k + 1]; ++i)
      theta_.push_back(uni(rng));
  }
  theta_.resize(d.parameter_count(), 0.0);  // biases start at 0
  if (!spec_.settable) knobs_ = theta_;

  active_ = spec_.replicas;
  states_.resize(spec_.layers.size());
  for (std::size_t l = 0; l < states_.size(); ++l)
    states_[l].assign(active_ * spec_.layers[l], 0.0);
  targets_.assign(active_ * spec_.layers.back(), 0.0);
}

void TinyHopfield::do_set_inputs(std::span<const double> values, std::size_t active_replicas) {
  if (active_replicas != active_) {
    active_ = active_replicas;
    for (std::size_t l = 1; l < states_.size(); ++l)
      states_[l].resize(active_ * spec_.layers[l], 0.0);
    targets_.assign(active_ * spec_.layers.back(), 0.0);
  }
  states_[0].assign(values.begin(), values.end());
}

void TinyHopfield::do_set_nudge(double beta, std::span<const double> targets) {
  beta_ = beta;
  targets_.assign(targets.begin(), targets.end());
}

void TinyHopfield::do_set_knobs(std::span<const double> values) {
  knobs_.assign(values.begin(), values.end());
}

void TinyHopfield::do_read_knobs(std::span<double> out) {
  std::copy(knobs_.begin(), knobs_.end(), out.begin());
}

void TinyHopfield::do_read_parameters(std::span<double> out) {
  std::copy(theta_.begin(), theta_.end(), out.begin());
}

void TinyHopfield::do_read_outputs(std::span<double> out) {
  std::copy(states_.back().begin(), states_.back().end(), out.begin());
}

SettleReport TinyHopfield::relax_states() {
  const auto t0 = std::chrono::steady_clock::now();
  const std::size_t out = spec_.layers.size() - 1, e = edges();
  // Offsets of each weight group and of each bias group in theta_.
  std::vector<std::size_t> w_at(e), b_at(e);
  std::size_t at = 0;
  for (std::size_t k = 0; k < e; ++k) {
    w_at[k] = at;
    at += spec_.layers[k] * spec_.layers[k + 1];
  }
  for (std::size_t k = 0; k < e; ++k) {
    b_at[k] = at;
    at += spec_.layers[k + 1];
  }

  SettleReport report;
  for (std::size_t it = 1; it <= spec_.max_iterations; ++it) {
    double worst = 0.0;
    // Output layer first, then down: each layer's energy is quadratic in its own state given its
    // neighbours, so solving it and clamping to its interval is its exact minimisation.
    for (std::size_t l = out; l >= 1; --l) {
      const std::size_t n = spec_.layers[l], n_pre = spec_.layers[l - 1];
      const std::size_t n_post = l < out ? spec_.layers[l + 1] : 0;
      const double* w_pre = &theta_[w_at[l - 1]];                   // n_pre x n
      const double* w_post = l < out ? &theta_[w_at[l]] : nullptr;  // n x n_post
      const double* b = &theta_[b_at[l - 1]];
      double change = 0.0;
      for (std::size_t r = 0; r < active_; ++r) {
        for (std::size_t j = 0; j < n; ++j) {
          double drive = b[j];
          for (std::size_t i = 0; i < n_pre; ++i)
            drive += states_[l - 1][r * n_pre + i] * w_pre[i * n + j];
          for (std::size_t k = 0; k < n_post; ++k)
            drive += w_post[j * n_post + k] * states_[l + 1][r * n_post + k];
          if (l == out && beta_ != 0.0) drive = (drive + beta_ * targets_[r * n + j]) / (1 + beta_);
          drive = std::clamp(drive, spec_.intervals[l - 1].low, spec_.intervals[l - 1].high);
          change += std::abs(drive - states_[l][r * n + j]);
          states_[l][r * n + j] = drive;
        }
      }
      worst = std::max(worst, change);
    }
    report.iterations = it;
    report.residual = worst;
    if (!std::isfinite(worst)) break;
    if (worst < spec_.threshold) {
      report.converged = true;
      break;
    }
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

std::vector<double> TinyHopfield::hebbian() const {
  std::vector<double> h;
  h.reserve(theta_.size());
  const double inv = 1.0 / double(active_);
  for (std::size_t k = 0; k < edges(); ++k) {
    const std::size_t n_pre = spec_.layers[k], n_post = spec_.layers[k + 1];
    for (std::size_t i = 0; i < n_pre; ++i)
      for (std::size_t j = 0; j < n_post; ++j) {
        double sum = 0.0;
        for (std::size_t r = 0; r < active_; ++r)
          sum += states_[k][r * n_pre + i] * states_[k + 1][r * n_post + j];
        h.push_back(sum * inv);
      }
  }
  for (std::size_t l = 1; l < spec_.layers.size(); ++l)
    for (std::size_t j = 0; j < spec_.layers[l]; ++j) {
      double sum = 0.0;
      for (std::size_t r = 0; r < active_; ++r) sum += states_[l][r * spec_.layers[l] + j];
      h.push_back(sum * inv);
    }
  return h;
}

SettleReport TinyHopfield::do_settle() {
  if (spec_.settable) return relax_states();  // set parameters stay where they were written
  // Knobs held, slow parameters: the states settle with the parameters where they are, then each
  // parameter moves to the minimum of (u - theta)^2 / (2 eps) + E, theta = u - eps dE/dtheta.
  const SettleReport r = relax_states();
  const auto h = hebbian();
  for (std::size_t i = 0; i < theta_.size(); ++i) theta_[i] = knobs_[i] + eps_[i] * h[i];
  return r;
}

SettleReport TinyHopfield::do_settle_homeostatic() {
  const SettleReport r = relax_states();
  const auto h = hebbian();
  for (std::size_t i = 0; i < theta_.size(); ++i) knobs_[i] = theta_[i] - eps_[i] * h[i];
  return r;
}

void TinyHopfield::do_set_compliance(std::size_t group, double compliance) {
  auto& groups = description_.parameters;
  std::size_t at = 0;
  for (std::size_t g = 0; g < group; ++g) at += groups[g].channels.count;
  std::fill_n(eps_.begin() + std::ptrdiff_t(at), groups[group].channels.count, compliance);
}

void TinyHopfield::do_write_parameters(std::span<const double> values) {
  theta_.assign(values.begin(), values.end());
  if (spec_.parameter_quantum > 0)
    for (auto& v : theta_) v = std::round(v / spec_.parameter_quantum) * spec_.parameter_quantum;
}

void TinyHopfield::do_read_probes(std::span<double> out) {
  const std::size_t n = theta_.size();
  for (std::size_t r = 0; r < active_; ++r) {
    double* p = out.data() + r * n;
    for (std::size_t k = 0; k < edges(); ++k) {
      const std::size_t n_pre = spec_.layers[k], n_post = spec_.layers[k + 1];
      for (std::size_t i = 0; i < n_pre; ++i)
        for (std::size_t j = 0; j < n_post; ++j)
          *p++ = -states_[k][r * n_pre + i] * states_[k + 1][r * n_post + j];
    }
    for (std::size_t l = 1; l < spec_.layers.size(); ++l)
      for (std::size_t j = 0; j < spec_.layers[l]; ++j) *p++ = -states_[l][r * spec_.layers[l] + j];
  }
}

namespace {

void put(std::ostream& out, const std::vector<double>& v) {
  const std::uint64_t n = v.size();
  out.write(reinterpret_cast<const char*>(&n), sizeof n);
  out.write(reinterpret_cast<const char*>(v.data()), std::streamsize(n * sizeof(double)));
}

std::vector<double> take(std::istream& in) {
  std::uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), sizeof n);
  if (!in || n > (std::uint64_t(1) << 32)) throw DataError("tiny-hopfield: damaged snapshot");
  std::vector<double> v(n);
  in.read(reinterpret_cast<char*>(v.data()), std::streamsize(n * sizeof(double)));
  if (!in) throw DataError("tiny-hopfield: damaged snapshot");
  return v;
}

}  // namespace

void TinyHopfield::do_save_snapshot(std::ostream& out) const {
  put(out, theta_);
  put(out, knobs_);
  put(out, eps_);
  for (const auto& layer : states_) put(out, layer);
  put(out, targets_);
  put(out, {beta_, double(active_)});
}

void TinyHopfield::do_restore_snapshot(std::istream& in) {
  auto theta = take(in), knobs = take(in), eps = take(in);
  std::vector<std::vector<double>> states(states_.size());
  for (auto& layer : states) layer = take(in);
  auto targets = take(in), rest = take(in);
  if (theta.size() != theta_.size() || knobs.size() != knobs_.size() || eps.size() != eps_.size() ||
      rest.size() != 2)
    throw DataError(description_.model + ": a snapshot of another device");
  theta_ = std::move(theta);
  knobs_ = std::move(knobs);
  eps_ = std::move(eps);
  states_ = std::move(states);
  targets_ = std::move(targets);
  beta_ = rest[0];
  active_ = std::size_t(rest[1]);
  restore_active_replicas(active_);
  std::size_t at = 0;
  for (auto& g : description_.parameters) {
    g.compliance = g.channels.count ? eps_[at] : g.compliance;
    at += g.channels.count;
  }
}

void TinyHopfield::do_safe_state(bool beside_a_call) {
  if (beside_a_call) return;  // the call in progress applies it when it returns
  std::fill(states_[0].begin(), states_[0].end(), description_.inputs.safe_value);
  std::fill(targets_.begin(), targets_.end(), 0.0);
  beta_ = 0.0;
  ++safe_state_count_;
}

const std::vector<std::string>& contract_methods() {
  static const std::vector<std::string> names = {
      "describe",         "set_inputs",   "set_nudge",     "set_knobs",          "read_knobs",
      "read_parameters",  "read_outputs", "settle",        "settle_homeostatic", "set_compliance",
      "write_parameters", "read_probes",  "save_snapshot", "restore_snapshot",   "safe_state"};
  return names;
}

void RecordingDevice::on_call(std::string method, std::size_t nth, std::function<void()> action) {
  hook_method_ = std::move(method);
  hook_nth_ = nth;
  hook_ = std::move(action);
}

void RecordingDevice::observe(const char* method) const {
  calls_.push_back(method);
  if (hook_ && hook_method_ == method && count(hook_method_) == hook_nth_) hook_();
}

std::size_t RecordingDevice::count(const std::string& method) const {
  return std::size_t(std::count(calls_.begin(), calls_.end(), method));
}

}  // namespace aeqlab::test_devices
