#include "sim/circuit/circuit_device.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <istream>
#include <ostream>
#include <thread>

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"

namespace aeqlab::sim {

namespace {

// The node voltages of a passive network stay within its sources' voltages.
SafeRange source_hull(const CircuitSpec& s) {
  double low = std::min({0.0, s.input_low, s.input_pairs ? -s.input_high : 0.0});
  double high = std::max({0.0, s.input_high, s.input_pairs ? -s.input_low : 0.0});
  if (s.biases) {
    low = std::min(low, -s.bias_voltage);
    high = std::max(high, s.bias_voltage);
  }
  if (s.edges() > 1 || s.output_diodes) {
    low = std::min(low, s.hidden_low);
    high = std::max(high, s.hidden_high);
  }
  return {low, high};
}

template <typename T>
void put(std::ostream& out, const T& v) {
  out.write(reinterpret_cast<const char*>(&v), sizeof v);
}
template <typename T>
void get(std::istream& in, T& v) {
  in.read(reinterpret_cast<char*>(&v), sizeof v);
  if (!in) throw DeviceError("the snapshot ends early");
}
void put_vector(std::ostream& out, const std::vector<double>& v) {
  put(out, std::uint64_t(v.size()));
  out.write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * sizeof(double)));
}
void get_vector(std::istream& in, std::vector<double>& v, std::size_t expected) {
  std::uint64_t n = 0;
  get(in, n);
  if (n != expected)
    throw DeviceError(
        fmt::format("the snapshot holds {} values where {} were expected", n, expected));
  v.resize(n);
  in.read(reinterpret_cast<char*>(v.data()), std::streamsize(n * sizeof(double)));
  if (!in) throw DeviceError("the snapshot ends early");
}

constexpr std::uint64_t snapshot_magic = 0x6165716c63697231ULL;  // "aeqlcir1"

}  // namespace

CircuitDevice::CircuitDevice(const CircuitSpec& spec)
    : spec_(spec), layout_(circuit_layout(spec)), noise_(spec.seed * 7919 + 17) {
  const auto& c = layout_.circuit;
  auto& d = description_;
  d.model = spec_.name();
  d.replicas = spec_.replicas;
  d.inputs = {"x", spec_.layers.front(), "V", {spec_.input_low, spec_.input_high}, 0.0};
  const SafeRange hull =
      layout_.has_hull ? SafeRange{layout_.hull_low, layout_.hull_high} : source_hull(spec_);
  const SafeRange out_range =
      spec_.output_pairs ? SafeRange{hull.low - hull.high, hull.high - hull.low} : hull;
  d.outputs = {"y", spec_.layers.back(), "V", out_range, 0.0};
  d.nudge = {-spec_.nudge_limit, spec_.nudge_limit};
  double max_eps = 0.0;
  for (double e : layout_.group_compliance) max_eps = std::max(max_eps, e);
  const double width = hull.high - hull.low;
  // Knobs sit above their conductance by eps (dV)^2 / 2: room for that and a homeostat's swing.
  const double span = 10.0 * (spec_.g_max - spec_.g_min) + 2.0 * max_eps * width * width;
  for (std::size_t g = 0; g < layout_.group_names.size(); ++g) {
    const auto& name = layout_.group_names[g];
    const double eps = spec_.settable ? 0.0 : layout_.group_compliance[g];
    d.parameters.push_back(
        {{name, layout_.group_sizes[g], "S", {spec_.g_min, spec_.g_max}, spec_.g_min}, eps});
    if (!spec_.settable)
      d.knobs.push_back({"u_" + name,
                         layout_.group_sizes[g],
                         "S",
                         {spec_.g_min - span, spec_.g_max + span},
                         spec_.g_min});
    eps_.insert(eps_.end(), layout_.group_sizes[g], eps);
  }
  d.capabilities.parameter_readback = true;
  d.capabilities.native_homeostasis = !spec_.settable;
  d.capabilities.adjustable_compliance = !spec_.settable;
  // A simulator can program a relaxing conductance too (eval, export, resume); it then relaxes
  // from there like any other.
  d.capabilities.settable_parameters = true;
  d.capabilities.local_probes = true;
  d.capabilities.snapshot = true;
  d.probes = {"V", ProbeLaw::half_square};

  theta_.reserve(layout_.parameters.size());
  for (std::size_t e : layout_.parameters) theta_.push_back(c.elements[e].value);
  if (spec_.settable) {
    // Each potentiometer is off its nominal value by its own factor, fixed at manufacture.
    std::mt19937_64 factory(spec_.seed ^ 0x9e3779b97f4a7c15ULL);
    std::uniform_real_distribution<double> delta(-spec_.tolerance, spec_.tolerance);
    mismatch_.resize(theta_.size());
    for (auto& m : mismatch_) m = 1.0 + delta(factory);
    const std::vector<double> nominal = theta_;
    write_parameters(nominal);  // quantise to the taps
  } else {
    knobs_ = theta_;
  }

  std::vector<double> initial;
  for (const auto& el : c.elements) initial.push_back(el.value);
  std::vector<std::pair<std::size_t, std::size_t>> pairs;
  for (std::size_t k = 0; k < layout_.output_plus.size(); ++k)
    if (layout_.output_minus[k] != 0)
      pairs.emplace_back(layout_.output_plus[k], layout_.output_minus[k]);
  SolveSettings solve;
  solve.tolerance = spec_.solver_tolerance;
  solve.max_iterations = spec_.solver_max_iterations;
  for (std::size_t r = 0; r < spec_.replicas; ++r) {
    values_.push_back(initial);
    voltages_.emplace_back(c.nodes.size(), 0.0);
    nudges_.emplace_back();
    solvers_.emplace_back(c, solve, pairs);
  }
  active_ = spec_.replicas;
  apply_conductances();
}

CircuitDevice::~CircuitDevice() = default;

std::vector<double> CircuitDevice::built_conductances() const {
  if (!spec_.settable) return theta_;
  std::vector<double> g(theta_.size());
  for (std::size_t k = 0; k < g.size(); ++k) g[k] = theta_[k] * mismatch_[k];
  return g;
}

void CircuitDevice::apply_conductances() {
  const auto g = built_conductances();
  for (auto& values : values_)
    for (std::size_t k = 0; k < g.size(); ++k) values[layout_.parameters[k]] = g[k];
}

void CircuitDevice::do_set_inputs(std::span<const double> values, std::size_t active_replicas) {
  const std::size_t n = description_.inputs.count;
  for (std::size_t r = 0; r < active_replicas; ++r)
    for (std::size_t i = 0; i < n; ++i) {
      values_[r][layout_.input_plus[i]] = values[r * n + i];
      if (spec_.input_pairs) values_[r][layout_.input_minus[i]] = -values[r * n + i];
    }
  if (active_replicas != active_)
    for (auto& nudges : nudges_) nudges.clear();  // targets belong to the old batch
  active_ = active_replicas;
}

void CircuitDevice::do_set_nudge(double beta, std::span<const double> targets) {
  const std::size_t n = description_.outputs.count;
  beta_ = beta;
  for (std::size_t r = 0; r < active_; ++r) {
    nudges_[r].clear();
    if (beta == 0.0) continue;
    for (std::size_t k = 0; k < n; ++k)
      nudges_[r].push_back(
          {layout_.output_plus[k], layout_.output_minus[k], beta, targets[r * n + k]});
  }
}

void CircuitDevice::do_set_knobs(std::span<const double> values) {
  std::copy(values.begin(), values.end(), knobs_.begin());
}

void CircuitDevice::do_read_knobs(std::span<double> out) {
  std::copy(knobs_.begin(), knobs_.end(), out.begin());
}

void CircuitDevice::do_read_parameters(std::span<double> out) {
  std::copy(theta_.begin(), theta_.end(), out.begin());
}

void CircuitDevice::do_write_parameters(std::span<const double> values) {
  if (spec_.settable) {
    // The potentiometer lands on its nearest tap.
    const double step = (spec_.g_max - spec_.g_min) / double(spec_.taps - 1);
    for (std::size_t k = 0; k < theta_.size(); ++k)
      theta_[k] = spec_.g_min + std::round((values[k] - spec_.g_min) / step) * step;
  } else {
    std::copy(values.begin(), values.end(), theta_.begin());
  }
  apply_conductances();
}

void CircuitDevice::do_read_outputs(std::span<double> out) {
  const std::size_t n = description_.outputs.count;
  std::normal_distribution<double> noise(0.0, 1.0);
  for (std::size_t r = 0; r < active_; ++r)
    for (std::size_t k = 0; k < n; ++k) {
      double v = voltages_[r][layout_.output_plus[k]] - voltages_[r][layout_.output_minus[k]];
      if (spec_.output_noise > 0) v += spec_.output_noise * noise(noise_);
      out[r * n + k] = v;
    }
}

void CircuitDevice::do_read_probes(std::span<double> out) {
  const std::size_t p = theta_.size();
  const auto& els = layout_.circuit.elements;
  std::normal_distribution<double> noise(0.0, 1.0);
  for (std::size_t r = 0; r < active_; ++r) {
    const auto& v = voltages_[r];
    for (std::size_t k = 0; k < p; ++k) {
      const auto& el = els[layout_.parameters[k]];
      double dv = v[el.a] - v[el.b];
      if (spec_.probe_noise > 0) dv += spec_.probe_noise * noise(noise_);
      out[r * p + k] = dv;
    }
  }
}

void CircuitDevice::solve_all(SettleReport& report) {
  for (std::size_t r = 0; r < active_; ++r) {
    const SolveResult s = solvers_[r].solve(values_[r], voltages_[r], nudges_[r]);
    report.iterations += s.iterations;
    report.residual = std::max(report.residual, s.residual);
    report.converged = report.converged && s.converged;
  }
}

void CircuitDevice::mean_probe_energy(std::vector<double>& q) const {
  const auto& els = layout_.circuit.elements;
  q.assign(theta_.size(), 0.0);
  for (std::size_t r = 0; r < active_; ++r) {
    const auto& v = voltages_[r];
    for (std::size_t k = 0; k < q.size(); ++k) {
      const auto& el = els[layout_.parameters[k]];
      const double dv = v[el.a] - v[el.b];
      q[k] += 0.5 * dv * dv;
    }
  }
  for (auto& x : q) x /= double(active_);
}

SettleReport CircuitDevice::relax(bool hold_parameters) {
  const auto t0 = std::chrono::steady_clock::now();
  SettleReport report;
  report.converged = true;
  std::vector<double> q;
  if (spec_.settable || hold_parameters) {
    solve_all(report);
    if (hold_parameters) {
      // The parameters stay put: the knobs end where they must be for that.
      mean_probe_energy(q);
      for (std::size_t k = 0; k < q.size(); ++k) knobs_[k] = theta_[k] + eps_[k] * q[k];
    }
  } else {
    const std::size_t rounds =
        spec_.parameter_steps == 0 ? spec_.max_rounds : spec_.parameter_steps;
    bool settled = false;
    for (std::size_t round = 0; round < rounds && !settled; ++round) {
      solve_all(report);
      mean_probe_energy(q);
      double moved = 0.0;
      for (std::size_t k = 0; k < q.size(); ++k) {
        const double g = std::clamp(knobs_[k] - eps_[k] * q[k], spec_.g_min, spec_.g_max);
        moved = std::max(moved, std::abs(g - theta_[k]));
        theta_[k] = g;
      }
      apply_conductances();
      settled = spec_.parameter_steps == 0 && moved <= 1e-12 * spec_.g_max;
    }
    if (spec_.parameter_steps == 0) {
      // The node voltages follow the conductances' last move.
      solve_all(report);
      report.converged = report.converged && settled;
    }
  }
  const auto spent = std::chrono::steady_clock::now() - t0;
  const auto wanted = std::chrono::duration<double>(spec_.settle_seconds);
  if (spent < wanted) std::this_thread::sleep_for(wanted - spent);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

SettleReport CircuitDevice::do_settle() {
  return relax(false);
}

SettleReport CircuitDevice::do_settle_homeostatic() {
  return relax(true);
}

void CircuitDevice::do_set_compliance(std::size_t group, double compliance) {
  std::size_t at = 0;
  for (std::size_t g = 0; g < group; ++g) at += description_.parameters[g].channels.count;
  std::fill_n(eps_.begin() + std::ptrdiff_t(at), description_.parameters[group].channels.count,
              compliance);
}

Circuit CircuitDevice::circuit(std::size_t replica) const {
  Circuit c = layout_.circuit;
  for (std::size_t e = 0; e < c.elements.size(); ++e) c.elements[e].value = values_[replica][e];
  return c;
}

std::vector<double> CircuitDevice::loss_gradient(std::size_t replica,
                                                 std::span<const double> targets) const {
  const std::size_t n = description_.outputs.count;
  std::vector<NudgeTerm> outputs;
  for (std::size_t k = 0; k < n; ++k)
    outputs.push_back({layout_.output_plus[k], layout_.output_minus[k], 0.0, targets[k]});
  std::vector<double> per_element(layout_.circuit.elements.size());
  solvers_[replica].loss_gradient(values_[replica], voltages_[replica], outputs, per_element);
  std::vector<double> g(theta_.size());
  for (std::size_t k = 0; k < g.size(); ++k) g[k] = per_element[layout_.parameters[k]];
  return g;
}

void CircuitDevice::do_save_snapshot(std::ostream& out) const {
  put(out, snapshot_magic);
  put(out, std::uint64_t(active_));
  put(out, beta_);
  put_vector(out, theta_);
  put_vector(out, knobs_);
  put_vector(out, eps_);
  for (std::size_t r = 0; r < spec_.replicas; ++r) {
    put_vector(out, values_[r]);
    put_vector(out, voltages_[r]);
    put(out, std::uint64_t(nudges_[r].size()));
    for (const auto& t : nudges_[r]) {
      put(out, std::uint64_t(t.a));
      put(out, std::uint64_t(t.b));
      put(out, t.beta);
      put(out, t.target);
    }
  }
  out << noise_ << '\n';
}

void CircuitDevice::do_restore_snapshot(std::istream& in) {
  std::uint64_t magic = 0, active = 0;
  get(in, magic);
  if (magic != snapshot_magic) throw DeviceError("it is not a circuit snapshot");
  get(in, active);
  if (active == 0 || active > spec_.replicas)
    throw DeviceError(fmt::format("it has {} active replicas", active));
  double beta = 0;
  get(in, beta);
  std::vector<double> theta, knobs, eps;
  get_vector(in, theta, theta_.size());
  get_vector(in, knobs, knobs_.size());
  get_vector(in, eps, eps_.size());
  auto values = values_;
  auto voltages = voltages_;
  auto nudges = nudges_;
  for (std::size_t r = 0; r < spec_.replicas; ++r) {
    get_vector(in, values[r], values_[r].size());
    get_vector(in, voltages[r], voltages_[r].size());
    std::uint64_t count = 0;
    get(in, count);
    if (count > description_.outputs.count) throw DeviceError("its nudge terms are damaged");
    nudges[r].resize(count);
    for (auto& t : nudges[r]) {
      std::uint64_t a = 0, b = 0;
      get(in, a);
      get(in, b);
      get(in, t.beta);
      get(in, t.target);
      if (a >= layout_.circuit.nodes.size() || b >= layout_.circuit.nodes.size())
        throw DeviceError("its nudge terms name nodes that do not exist");
      t.a = a;
      t.b = b;
    }
  }
  std::mt19937_64 noise;
  in >> noise;
  if (!in) throw DeviceError("its noise generator state is damaged");
  active_ = active;
  beta_ = beta;
  theta_ = std::move(theta);
  knobs_ = std::move(knobs);
  eps_ = std::move(eps);
  values_ = std::move(values);
  voltages_ = std::move(voltages);
  nudges_ = std::move(nudges);
  noise_ = noise;
  std::size_t at = 0;
  for (auto& g : description_.parameters) {
    if (!spec_.settable) g.compliance = eps_[at];
    at += g.channels.count;
  }
  restore_active_replicas(active_);
}

std::vector<InstrumentIdentity> CircuitDevice::do_instruments() const {
  return {{"simulator", fmt::format("aeqlab,{},seed {}", description_.model, spec_.seed),
           "in-process"}};
}

void CircuitDevice::do_safe_state(bool beside_a_call) {
  // Inputs to 0 V, no current injected: what a lab would leave a circuit at. Beside a call in
  // progress it touches nothing: the call applies this when it returns.
  if (beside_a_call) return;
  for (std::size_t r = 0; r < spec_.replicas; ++r) {
    for (std::size_t i = 0; i < layout_.input_plus.size(); ++i) {
      values_[r][layout_.input_plus[i]] = 0.0;
      if (spec_.input_pairs) values_[r][layout_.input_minus[i]] = 0.0;
    }
    nudges_[r].clear();
  }
  beta_ = 0.0;
}

}  // namespace aeqlab::sim
