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
#include "core/safe_range.hpp"

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

void TinyHopfield::set_inputs(std::span<const double> values, std::size_t active_replicas) {
  if (active_replicas == 0 || active_replicas > spec_.replicas)
    throw DeviceError(fmt::format("{}: {} active replicas requested, it has {}", description_.model,
                                  active_replicas, spec_.replicas));
  if (values.size() != active_replicas * spec_.layers.front())
    throw DeviceError(fmt::format("{}: {} input values for {} replicas", description_.model,
                                  values.size(), active_replicas));
  require_in_range(description_.inputs, values, "input");
  if (active_replicas != active_) {
    active_ = active_replicas;
    for (std::size_t l = 1; l < states_.size(); ++l)
      states_[l].resize(active_ * spec_.layers[l], 0.0);
    targets_.assign(active_ * spec_.layers.back(), 0.0);
  }
  states_[0].assign(values.begin(), values.end());
}

void TinyHopfield::set_nudge(double beta, std::span<const double> targets) {
  require_in_range(description_.nudge, beta, "nudge beta");
  if (targets.size() != active_ * spec_.layers.back())
    throw DeviceError(
        fmt::format("{}: {} targets for {} replicas", description_.model, targets.size(), active_));
  require_in_range(description_.outputs, targets, "nudge target");
  beta_ = beta;
  targets_.assign(targets.begin(), targets.end());
}

void TinyHopfield::set_knobs(std::span<const double> values) {
  if (values.size() != knobs_.size())
    throw DeviceError(fmt::format("{}: {} knob values, it has {}", description_.model,
                                  values.size(), knobs_.size()));
  std::size_t at = 0;
  for (const auto& g : description_.knobs) {  // check everything before writing anything
    require_in_range(g, values.subspan(at, g.count), "knob");
    at += g.count;
  }
  knobs_.assign(values.begin(), values.end());
}

void TinyHopfield::read_knobs(std::span<double> out) {
  std::copy(knobs_.begin(), knobs_.end(), out.begin());
}

void TinyHopfield::read_parameters(std::span<double> out) {
  if (!spec_.parameter_readback)
    throw DeviceError(description_.model + " cannot read its parameters");
  std::copy(theta_.begin(), theta_.end(), out.begin());
}

void TinyHopfield::read_outputs(std::span<double> out) {
  if (out.size() != states_.back().size())
    throw DeviceError(fmt::format("{}: output buffer of {} for {} outputs", description_.model,
                                  out.size(), states_.back().size()));
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

SettleReport TinyHopfield::settle() {
  if (spec_.settable) return relax_states();  // set parameters stay where they were written
  // Knobs held, slow parameters: the states settle with the parameters where they are, then each
  // parameter moves to the minimum of (u - theta)^2 / (2 eps) + E, theta = u - eps dE/dtheta.
  const SettleReport r = relax_states();
  const auto h = hebbian();
  for (std::size_t i = 0; i < theta_.size(); ++i) theta_[i] = knobs_[i] + eps_[i] * h[i];
  return r;
}

SettleReport TinyHopfield::settle_homeostatic() {
  if (!description_.capabilities.native_homeostasis)
    return Device::settle_homeostatic();  // refuses
  const SettleReport r = relax_states();
  const auto h = hebbian();
  for (std::size_t i = 0; i < theta_.size(); ++i) knobs_[i] = theta_[i] - eps_[i] * h[i];
  return r;
}

void TinyHopfield::set_compliance(std::size_t group, double compliance) {
  if (!description_.capabilities.adjustable_compliance)
    return Device::set_compliance(group, compliance);  // refuses
  auto& groups = description_.parameters;
  if (group >= groups.size() || !(compliance >= 0))
    throw DeviceError(fmt::format("{}: cannot set compliance {} on group {}", description_.model,
                                  compliance, group));
  std::size_t at = 0;
  for (std::size_t g = 0; g < group; ++g) at += groups[g].channels.count;
  std::fill_n(eps_.begin() + std::ptrdiff_t(at), groups[group].channels.count, compliance);
  groups[group].compliance = compliance;
}

void TinyHopfield::write_parameters(std::span<const double> values) {
  if (values.size() != theta_.size())
    throw DeviceError(fmt::format("{}: {} parameter values, it has {}", description_.model,
                                  values.size(), theta_.size()));
  std::size_t at = 0;
  for (const auto& g : description_.parameters) {
    require_in_range(g.channels, values.subspan(at, g.channels.count), "parameter");
    at += g.channels.count;
  }
  theta_.assign(values.begin(), values.end());
  if (spec_.parameter_quantum > 0)
    for (auto& v : theta_) v = std::round(v / spec_.parameter_quantum) * spec_.parameter_quantum;
}

void TinyHopfield::read_probes(std::span<double> out) {
  if (!spec_.local_probes) return Device::read_probes(out);  // refuses
  const std::size_t n = theta_.size();
  if (out.size() != active_ * n)
    throw DeviceError(fmt::format("{}: probe buffer of {} for {} replicas of {} parameters",
                                  description_.model, out.size(), active_, n));
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

void TinyHopfield::save_snapshot(std::ostream& out) const {
  if (!spec_.snapshot) return Device::save_snapshot(out);  // refuses
  put(out, theta_);
  put(out, knobs_);
  put(out, eps_);
  for (const auto& layer : states_) put(out, layer);
  put(out, targets_);
  put(out, {beta_, double(active_)});
}

void TinyHopfield::restore_snapshot(std::istream& in) {
  if (!spec_.snapshot) return Device::restore_snapshot(in);  // refuses
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
  std::size_t at = 0;
  for (auto& g : description_.parameters) {
    g.compliance = g.channels.count ? eps_[at] : g.compliance;
    at += g.channels.count;
  }
}

void TinyHopfield::safe_state() {
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

const DeviceDescription& RecordingDevice::describe() const {
  record("describe");
  return inner_.describe();
}
void RecordingDevice::set_inputs(std::span<const double> values, std::size_t active_replicas) {
  record("set_inputs");
  inner_.set_inputs(values, active_replicas);
}
void RecordingDevice::set_nudge(double beta, std::span<const double> targets) {
  record("set_nudge");
  inner_.set_nudge(beta, targets);
}
void RecordingDevice::set_knobs(std::span<const double> values) {
  record("set_knobs");
  inner_.set_knobs(values);
}
void RecordingDevice::read_knobs(std::span<double> out) {
  record("read_knobs");
  inner_.read_knobs(out);
}
void RecordingDevice::read_parameters(std::span<double> out) {
  record("read_parameters");
  inner_.read_parameters(out);
}
void RecordingDevice::read_outputs(std::span<double> out) {
  record("read_outputs");
  inner_.read_outputs(out);
}
SettleReport RecordingDevice::settle() {
  record("settle");
  return inner_.settle();
}
SettleReport RecordingDevice::settle_homeostatic() {
  record("settle_homeostatic");
  return inner_.settle_homeostatic();
}
void RecordingDevice::set_compliance(std::size_t group, double compliance) {
  record("set_compliance");
  inner_.set_compliance(group, compliance);
}
void RecordingDevice::write_parameters(std::span<const double> values) {
  record("write_parameters");
  inner_.write_parameters(values);
}
void RecordingDevice::read_probes(std::span<double> out) {
  record("read_probes");
  inner_.read_probes(out);
}
void RecordingDevice::save_snapshot(std::ostream& out) const {
  record("save_snapshot");
  inner_.save_snapshot(out);
}
void RecordingDevice::restore_snapshot(std::istream& in) {
  record("restore_snapshot");
  inner_.restore_snapshot(in);
}
void RecordingDevice::safe_state() {
  record("safe_state");
  inner_.safe_state();
}

void RecordingDevice::on_call(std::string method, std::size_t nth, std::function<void()> action) {
  hook_method_ = std::move(method);
  hook_nth_ = nth;
  hook_ = std::move(action);
}

void RecordingDevice::record(const char* method) const {
  calls_.push_back(method);
  if (hook_ && hook_method_ == method && count(hook_method_) == hook_nth_) hook_();
}

std::size_t RecordingDevice::count(const std::string& method) const {
  return std::size_t(std::count(calls_.begin(), calls_.end(), method));
}

}  // namespace aeqlab::test_devices
