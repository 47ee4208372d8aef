#include "sim/hopfield/hopfield_device.hpp"

#include <chrono>
#include <functional>
#include <istream>
#include <ostream>
#include <vector>

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"
#include "sim/hopfield/hopfield_network.hpp"

namespace aeqlab::sim {

// The contract speaks double; the network computes at its own precision.
struct HopfieldDevice::Engine {
  virtual ~Engine() = default;
  virtual void set_inputs(std::span<const double> v, std::size_t n) = 0;
  virtual void set_nudge(double beta, std::span<const double> t) = 0;
  virtual RelaxReport relax(bool holding) = 0;
  virtual void read(std::size_t g, bool knob, double* out) = 0;
  virtual void write(std::size_t g, bool knob, const double* v) = 0;
  virtual void read_outputs(std::span<double> out) = 0;
  virtual void set_compliance(std::size_t g, double eps) = 0;
  virtual std::size_t group_size(std::size_t g) const = 0;
  virtual double cost() const = 0;
  virtual void save(std::ostream& out) const = 0;
  virtual void restore(std::istream& in) = 0;
  virtual double compliance(std::size_t g) const = 0;
  virtual std::size_t batch() const = 0;
  virtual void share_replicas(std::shared_ptr<ReplicaGroup> group) = 0;
  virtual std::size_t threads() const = 0;
};

namespace {

template <typename T>
struct EngineAt final : HopfieldDevice::Engine {
  explicit EngineAt(const HopfieldSpec& s) : net(s) {}
  HopfieldNetwork<T> net;
  std::vector<T> buf;

  const T* convert(std::span<const double> v) {
    buf.assign(v.begin(), v.end());
    return buf.data();
  }
  void set_inputs(std::span<const double> v, std::size_t n) override {
    net.set_inputs(convert(v), n);
  }
  void set_nudge(double beta, std::span<const double> t) override {
    net.set_nudge(T(beta), convert(t));
  }
  RelaxReport relax(bool holding) override {
    return holding ? net.relax_holding_parameters() : net.relax_free();
  }
  void read(std::size_t g, bool knob, double* out) override {
    buf.resize(net.group_size(g));
    knob ? net.read_knobs(g, buf.data()) : net.read_parameters(g, buf.data());
    std::copy(buf.begin(), buf.end(), out);
  }
  void write(std::size_t g, bool knob, const double* v) override {
    buf.assign(v, v + net.group_size(g));
    knob ? net.write_knobs(g, buf.data()) : net.write_parameters(g, buf.data());
  }
  void read_outputs(std::span<double> out) override {
    const auto& y = net.outputs();
    std::copy(y.data(), y.data() + y.size(), out.begin());
  }
  void set_compliance(std::size_t g, double eps) override { net.set_compliance(g, eps); }
  std::size_t group_size(std::size_t g) const override { return net.group_size(g); }
  double cost() const override { return net.cost(); }
  void save(std::ostream& out) const override { net.save(out); }
  void restore(std::istream& in) override { net.restore(in); }
  double compliance(std::size_t g) const override { return net.compliance(g); }
  std::size_t batch() const override { return net.outputs().rows(); }
  void share_replicas(std::shared_ptr<ReplicaGroup> group) override {
    net.share_replicas(std::move(group));
  }
  std::size_t threads() const override { return net.threads(); }
};

}  // namespace

HopfieldDevice::HopfieldDevice(const HopfieldSpec& spec) : spec_(spec) {
  spec_.validate();
  if (spec_.double_precision)
    engine_ = std::make_unique<EngineAt<double>>(spec_);
  else
    engine_ = std::make_unique<EngineAt<float>>(spec_);

  auto& d = description_;
  d.model = spec_.name();
  d.replicas = spec_.replicas;
  d.inputs = {
      "x", spec_.layers.front(), "a.u.", {spec_.input_range.low, spec_.input_range.high}, 0.0};
  const auto& out = spec_.intervals.back();
  d.outputs = {"y", spec_.layers.back(), "a.u.", {out.low, out.high}, 0.0};
  // beta > -1 keeps the output layer's energy convex under negative nudging.
  d.nudge = {-0.9, 10.0};
  const SafeRange limits{-spec_.parameter_limit, spec_.parameter_limit};
  const std::size_t e = spec_.edges();
  for (std::size_t g = 0; g < 2 * e; ++g) {
    const std::string name = g < e ? fmt::format("W{}", g) : fmt::format("b{}", g - e + 1);
    const double eps = g < e ? spec_.weight_compliance[g] : spec_.bias_compliance[g - e];
    d.parameters.push_back({{name, engine_->group_size(g), "a.u.", limits, 0.0}, eps});
    d.knobs.push_back({"u_" + name, engine_->group_size(g), "a.u.", limits, 0.0});
  }
  d.capabilities.parameter_readback = true;
  d.capabilities.native_homeostasis = true;
  d.capabilities.adjustable_compliance = true;
  d.capabilities.settable_parameters = true;
  d.capabilities.snapshot = true;
}

HopfieldDevice::HopfieldDevice(const HopfieldSpec& spec, std::shared_ptr<ReplicaGroup> group)
    : HopfieldDevice(spec) {
  engine_->share_replicas(std::move(group));
}

HopfieldDevice::~HopfieldDevice() = default;

std::size_t HopfieldDevice::threads() const {
  return engine_->threads();
}

void HopfieldDevice::do_set_inputs(std::span<const double> values, std::size_t active_replicas) {
  engine_->set_inputs(values, active_replicas);
}

void HopfieldDevice::do_set_nudge(double beta, std::span<const double> targets) {
  engine_->set_nudge(beta, targets);
}

const ChannelGroup& HopfieldDevice::group(std::size_t g, bool knob) const {
  return knob ? description_.knobs[g] : description_.parameters[g].channels;
}

void HopfieldDevice::write_groups(std::span<const double> values, bool knob) {
  std::size_t at = 0;
  for (std::size_t g = 0; g < description_.parameters.size(); ++g) {
    engine_->write(g, knob, values.data() + at);
    at += group(g, knob).count;
  }
}

void HopfieldDevice::read_groups(std::span<double> out, bool knob) {
  std::size_t at = 0;
  for (std::size_t g = 0; g < description_.parameters.size(); ++g) {
    engine_->read(g, knob, out.data() + at);
    at += group(g, knob).count;
  }
}

void HopfieldDevice::do_set_knobs(std::span<const double> values) {
  write_groups(values, true);
}
void HopfieldDevice::do_write_parameters(std::span<const double> values) {
  write_groups(values, false);
}
void HopfieldDevice::do_read_knobs(std::span<double> out) {
  read_groups(out, true);
}
void HopfieldDevice::do_read_parameters(std::span<double> out) {
  read_groups(out, false);
}

void HopfieldDevice::do_read_outputs(std::span<double> out) {
  engine_->read_outputs(out);
}

static SettleReport timed(const std::function<RelaxReport()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  const RelaxReport r = f();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return {s, r.iterations, r.residual, r.converged};
}

SettleReport HopfieldDevice::do_settle() {
  return timed([&] { return engine_->relax(false); });
}

SettleReport HopfieldDevice::do_settle_homeostatic() {
  return timed([&] { return engine_->relax(true); });
}

void HopfieldDevice::do_set_compliance(std::size_t group, double compliance) {
  engine_->set_compliance(group, compliance);
}

void HopfieldDevice::do_save_snapshot(std::ostream& out) const {
  engine_->save(out);
}

void HopfieldDevice::do_restore_snapshot(std::istream& in) {
  engine_->restore(in);
  for (std::size_t g = 0; g < description_.parameters.size(); ++g)
    description_.parameters[g].compliance = engine_->compliance(g);
  restore_active_replicas(engine_->batch());
}

std::vector<InstrumentIdentity> HopfieldDevice::do_instruments() const {
  // The simulator answers for itself, so a session records which physics produced it.
  return {{"simulator",
           fmt::format("aeqlab,{},{},seed {}", description_.model,
                       spec_.double_precision ? "float64" : "float32", spec_.seed),
           "in-process"}};
}

void HopfieldDevice::do_safe_state(bool beside_a_call) {
  // A simulator has nothing to protect, but it keeps the promise so dry runs exercise the path:
  // inputs to their safe value, nudging off. Beside a call in progress it touches nothing: the
  // call applies this when it returns.
  if (beside_a_call) return;
  const std::size_t active = active_replicas();
  const std::vector<double> zeros(active * description_.inputs.count,
                                  description_.inputs.safe_value);
  engine_->set_inputs(zeros, active);
  const std::vector<double> targets(active * description_.outputs.count, 0.0);
  engine_->set_nudge(0.0, targets);
  ++safe_state_count_;
}

double HopfieldDevice::cost() const {
  return engine_->cost();
}

}  // namespace aeqlab::sim
