// The device contract's promises, checked on every device aeqlab has: the Hopfield and circuit
// simulators (relaxing and potentiometer circuits, and a lab netlist as the circuit device), the
// bench of instruments over the virtual bench (real drivers, loopback TCP) serving a Hopfield
// network or a potentiometer circuit on resistor arrays (also behind emulated plasticity), and the
// core tests' own devices. The promises are kept by the contract's base class (core/device.hpp),
// so they must hold for each device alike:
//
// * describe() is consistent with what the device accepts;
// * a request outside a safe range, of the wrong size or for an undeclared capability is refused
//   whole: nothing of it is applied (and, on a bench, nothing reaches the wire);
// * reads after a settle have the declared sizes and are finite;
// * a snapshot, where declared, restores the device to the same bytes;
// * safe_state() is reachable from another thread while a call is in progress, returns without
//   waiting for it, and the full safe state is applied when that call returns.

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "../core/forwarding_device.hpp"
#include "../core/test_devices.hpp"
#include "../core/test_support.hpp"
#include "core/error.hpp"
#include "instruments/bench_device.hpp"
#include "instruments/bench_layout.hpp"
#include "instruments/emulated_plasticity.hpp"
#include "sim/circuit/circuit_device.hpp"
#include "sim/hopfield/hopfield_device.hpp"
#include "sim/virtual_bench/virtual_bench.hpp"

using namespace aeqlab;
using Clock = std::chrono::steady_clock;

namespace {

// A device under test, with whatever it needs kept alive beside it.
struct Rig {
  virtual ~Rig() = default;
  virtual Device& device() = 0;
  // Values written to the wire so far (a bench); -1 where there is no wire.
  virtual long long wire_writes() const { return -1; }
  virtual long long wire_out_of_range() const { return 0; }
};

template <class D>
struct Plain final : Rig {
  template <class... A>
  explicit Plain(A&&... a) : d(std::forward<A>(a)...) {}
  Device& device() override { return d; }
  D d;
};

sim::HopfieldSpec hopfield_spec(std::size_t replicas) {
  sim::HopfieldSpec s;
  s.layers = {4, 3, 2};
  s.replicas = replicas;
  s.double_precision = true;
  return s;
}

sim::CircuitSpec circuit_spec(bool settable) {
  sim::CircuitSpec s;
  s.layers = {2, 4, 2};
  s.replicas = 2;
  s.settable = settable;
  if (settable) s.taps = 11;
  return s;
}

// A lab's own netlist as the circuit device (device.type "netlist"): the mesh example.
sim::CircuitSpec netlist_spec() {
  using nlohmann::json;
  const std::string file = std::string(AEQLAB_SOURCE_DIR) + "/docs/examples/circuits/mesh-xor.cir";
  return sim::netlist_spec_from_json(
      {{"type", "netlist"},
       {"netlist", file},
       {"inputs", json::array({json::array({"Vx1p", "Vx1n"}), json::array({"Vx2p", "Vx2n"})})},
       {"outputs", json::array({json::array({"o1p", "o1n"}), json::array({"o2p", "o2n"})})},
       {"trainable", json::array({"Rin*", "Rm*", "Rout*"})},
       {"replicas", 2u}});
}

test_devices::TinyHopfieldSpec tiny_pots() {
  test_devices::TinyHopfieldSpec s;
  s.settable = true;
  s.local_probes = true;
  s.snapshot = true;
  return s;
}

// The bench of instruments, its drivers talking SCPI over loopback TCP to the virtual bench,
// which serves a simulated device on its own thread: a Hopfield network, or a potentiometer
// circuit laid out as resistor arrays with probe ADCs (docs/pot-bench.md).
template <class Physics>
struct BenchRig final : Rig {
  template <class Spec>
  explicit BenchRig(const Spec& spec, bool pots = false)
      : physics(spec),
        layout(instruments::virtual_bench_layout(physics.describe(), 65536, pots)),
        served(physics, layout, {}) {
    const auto answering = served.start();
    server = std::thread([this] { served.run(); });
    for (auto& i : layout.instruments)
      for (const auto& s : answering)
        if (s.name == i.name) i.address = s.tcp;
    bench = std::make_unique<instruments::BenchDevice>(layout);
  }
  ~BenchRig() override {
    plastic.reset();
    bench.reset();
    served.stop();
    server.join();
  }
  Device& device() override { return plastic ? *plastic : *bench; }
  long long wire_writes() const override { return (long long)served.tally().values; }
  long long wire_out_of_range() const override { return (long long)served.tally().out_of_range; }

  Physics physics;
  instruments::BenchConfig layout;
  sim::VirtualBench served;
  std::thread server;
  std::unique_ptr<Device> bench;
  std::unique_ptr<Device> plastic;  // the bench behind emulated plasticity
};

sim::CircuitSpec pot_bench_spec() {
  auto s = circuit_spec(true);
  s.replicas = 1;
  return s;
}

struct RigKind {
  std::string name;
  std::function<std::unique_ptr<Rig>()> make;
};
// How GoogleTest names a rig in its output.
[[maybe_unused]] void PrintTo(const RigKind& kind, std::ostream* out) {
  *out << kind.name;
}

std::vector<RigKind> rigs() {
  return {
      {"Hopfield", [] { return std::make_unique<Plain<sim::HopfieldDevice>>(hopfield_spec(3)); }},
      {"CircuitRelaxing",
       [] { return std::make_unique<Plain<sim::CircuitDevice>>(circuit_spec(false)); }},
      {"CircuitPotentiometers",
       [] { return std::make_unique<Plain<sim::CircuitDevice>>(circuit_spec(true)); }},
      {"CircuitNetlist",
       [] { return std::make_unique<Plain<sim::CircuitDevice>>(netlist_spec()); }},
      {"TinyHopfield",
       [] {
         return std::make_unique<Plain<test_devices::TinyHopfield>>(
             test_devices::TinyHopfieldSpec{});
       }},
      {"TinyHopfieldPotentiometers",
       [] { return std::make_unique<Plain<test_devices::TinyHopfield>>(tiny_pots()); }},
      {"BenchOverVirtualBench",
       [] { return std::make_unique<BenchRig<sim::HopfieldDevice>>(hopfield_spec(1)); }},
      {"PotBenchOverVirtualBench",
       [] { return std::make_unique<BenchRig<sim::CircuitDevice>>(pot_bench_spec(), true); }},
      {"PotBenchWithEmulatedPlasticity",
       [] {
         auto rig = std::make_unique<BenchRig<sim::CircuitDevice>>(pot_bench_spec(), true);
         rig->plastic = std::make_unique<instruments::EmulatedPlasticity>(
             std::move(rig->bench), instruments::PlasticityEmulation{{1e-6, 1e-6, 1e-6, 1e-6}});
         return rig;
       }},
  };
}

class DeviceContract : public ::testing::TestWithParam<RigKind> {
 protected:
  void SetUp() override {
    rig = GetParam().make();
    dev = &rig->device();
    d = dev->describe();
  }
  // Inputs and targets inside their safe ranges, for every replica.
  std::vector<double> inputs(std::size_t replicas, double at = 0.5) const {
    std::vector<double> x(replicas * d.inputs.count);
    for (std::size_t i = 0; i < x.size(); ++i)
      x[i] = d.inputs.safe.low +
             (d.inputs.safe.high - d.inputs.safe.low) * std::fmod(at + 0.1 * double(i), 1.0);
    return x;
  }
  std::vector<double> targets(std::size_t replicas) const {
    return std::vector<double>(replicas * d.outputs.count,
                               0.5 * (d.outputs.safe.low + d.outputs.safe.high));
  }
  std::vector<double> knobs() {
    std::vector<double> u(d.knob_count());
    if (!u.empty()) dev->read_knobs(u);
    return u;
  }
  std::vector<double> parameters() {
    std::vector<double> theta(d.parameter_count());
    if (d.capabilities.parameter_readback) dev->read_parameters(theta);
    return theta;
  }
  void present(std::size_t replicas) {
    dev->set_inputs(inputs(replicas), replicas);
    dev->set_nudge(0.0, targets(replicas));
  }

  std::unique_ptr<Rig> rig;
  Device* dev = nullptr;
  DeviceDescription d;
};

using test_support::same_bits;

// Every channel of the groups at the low end of its safe range.
std::vector<double> lowest(const std::vector<ChannelGroup>& groups) {
  std::vector<double> v;
  for (const auto& g : groups) v.insert(v.end(), g.count, g.safe.low);
  return v;
}

void expect_group_sane(const ChannelGroup& g, const char* what) {
  EXPECT_FALSE(g.name.empty()) << what;
  EXPECT_LE(g.safe.low, g.safe.high) << what << " " << g.name;
  EXPECT_TRUE(g.safe.contains(g.safe_value)) << what << " " << g.name << " safe value";
}

TEST_P(DeviceContract, DescribeIsConsistentWithWhatTheDeviceAccepts) {
  EXPECT_FALSE(d.model.empty());
  EXPECT_GE(d.replicas, 1u);
  EXPECT_GT(d.inputs.count, 0u);
  EXPECT_GT(d.outputs.count, 0u);
  expect_group_sane(d.inputs, "inputs");
  expect_group_sane(d.outputs, "outputs");
  EXPECT_LE(d.nudge.low, 0.0);
  EXPECT_GE(d.nudge.high, 0.0);
  for (const auto& p : d.parameters) expect_group_sane(p.channels, "parameters");
  for (const auto& k : d.knobs) expect_group_sane(k, "knobs");
  // Knobs drive parameters one to one, or there are none (the parameters are set).
  if (!d.knobs.empty()) {
    ASSERT_EQ(d.knobs.size(), d.parameters.size());
    for (std::size_t g = 0; g < d.knobs.size(); ++g)
      EXPECT_EQ(d.knobs[g].count, d.parameters[g].channels.count) << d.knobs[g].name;
  } else {
    EXPECT_TRUE(d.capabilities.settable_parameters) << "no knobs and no way to set parameters";
  }
  // All replicas at once, and one alone, are accepted; more than it has, or none, are not.
  EXPECT_NO_THROW(present(d.replicas));
  EXPECT_NO_THROW(present(1));
  EXPECT_EQ(dev->active_replicas(), 1u);
  EXPECT_THROW(dev->set_inputs(inputs(d.replicas + 1), d.replicas + 1), DeviceError);
  EXPECT_THROW(dev->set_inputs({}, 0), DeviceError);
  // What it reads back has the sizes it declares.
  EXPECT_EQ(knobs().size(), d.knob_count());
  EXPECT_EQ(parameters().size(), d.parameter_count());
  // Its identity is recorded in sessions (the test devices have none).
  EXPECT_NO_THROW(dev->instruments());
}

TEST_P(DeviceContract, RefusalsApplyNothing) {
  present(1);
  dev->settle();
  const auto u0 = knobs();
  const auto theta0 = parameters();
  const auto writes0 = rig->wire_writes();

  // Out of range in the last channel only: the channels before it must not be applied either.
  auto x = inputs(1, 0.9);
  x.back() = d.inputs.safe.high + 1.0;
  EXPECT_THROW(dev->set_inputs(x, 1), SafeRangeError);
  x.back() = std::nan("");
  EXPECT_THROW(dev->set_inputs(x, 1), SafeRangeError);
  EXPECT_THROW(dev->set_inputs(std::vector<double>(d.inputs.count + 1, d.inputs.safe.low), 1),
               DeviceError);
  auto t = targets(1);
  t.back() = d.outputs.safe.high + 1.0;
  EXPECT_THROW(dev->set_nudge(0.5 * d.nudge.high, t), SafeRangeError);
  EXPECT_THROW(dev->set_nudge(d.nudge.high + 1.0, targets(1)), SafeRangeError);
  EXPECT_THROW(dev->set_nudge(0.5 * d.nudge.high, std::vector<double>(d.outputs.count + 1, 0.0)),
               DeviceError);
  if (!d.knobs.empty()) {
    auto u = lowest(d.knobs);  // all inside their ranges but the last
    u.back() = d.knobs.back().safe.high + 1.0 + std::abs(d.knobs.back().safe.high);
    try {
      dev->set_knobs(u);
      ADD_FAILURE() << "an out-of-range knob was accepted";
    } catch (const SafeRangeError& e) {
      EXPECT_NE(std::string(e.what()).find(d.knobs.back().name), std::string::npos) << e.what();
    }
    EXPECT_THROW(dev->set_knobs(std::vector<double>(u0.size() + 1, 0.0)), DeviceError);
  } else {
    EXPECT_THROW(dev->set_knobs({}), DeviceError);
  }
  if (d.capabilities.settable_parameters) {
    std::vector<ChannelGroup> groups;
    for (const auto& g : d.parameters) groups.push_back(g.channels);
    auto theta = lowest(groups);
    theta.back() = std::nan("");
    EXPECT_THROW(dev->write_parameters(theta), SafeRangeError);
    EXPECT_THROW(dev->write_parameters(std::vector<double>(theta0.size() + 1, 0.0)), DeviceError);
  }
  if (d.capabilities.adjustable_compliance) {
    const double before = d.parameters[0].compliance;
    EXPECT_THROW(dev->set_compliance(d.parameters.size(), 0.1), DeviceError);
    EXPECT_THROW(dev->set_compliance(0, -1.0), DeviceError);
    EXPECT_THROW(dev->set_compliance(0, std::nan("")), DeviceError);
    EXPECT_EQ(dev->describe().parameters[0].compliance, before);
  }
  // Buffers of the wrong size are refused, not overrun.
  std::vector<double> wrong(d.outputs.count + 1);
  EXPECT_THROW(dev->read_outputs(wrong), DeviceError);
  if (!d.knobs.empty()) {
    std::vector<double> short_knobs(d.knob_count() - 1);
    EXPECT_THROW(dev->read_knobs(short_knobs), DeviceError);
  }

  EXPECT_TRUE(same_bits(knobs(), u0)) << "a refused request moved the knobs";
  EXPECT_TRUE(same_bits(parameters(), theta0)) << "a refused request moved the parameters";
  if (writes0 >= 0) {
    EXPECT_EQ(rig->wire_writes(), writes0) << "a refused request reached the wire";
  }
  EXPECT_EQ(rig->wire_out_of_range(), 0);
  EXPECT_NO_THROW(dev->safe_state()) << "the safe state after refused requests";
}

TEST_P(DeviceContract, WhatItDidNotDeclareItRefuses) {
  present(1);
  const auto& c = d.capabilities;
  std::vector<double> theta(d.parameter_count()), probes(d.parameter_count());
  if (!c.parameter_readback) {
    EXPECT_THROW(dev->read_parameters(theta), DeviceError);
  }
  if (!c.native_homeostasis) {
    EXPECT_THROW(dev->settle_homeostatic(), DeviceError);
  }
  if (!c.adjustable_compliance) {
    EXPECT_THROW(dev->set_compliance(0, 0.01), DeviceError);
  }
  if (!c.settable_parameters) {
    EXPECT_THROW(dev->write_parameters(theta), DeviceError);
  }
  if (!c.local_probes) {
    EXPECT_THROW(dev->read_probes(probes), DeviceError);
  }
  std::stringstream snapshot;
  if (!c.snapshot) {
    EXPECT_THROW(dev->save_snapshot(snapshot), DeviceError);
    EXPECT_THROW(dev->restore_snapshot(snapshot), DeviceError);
  }
}

TEST_P(DeviceContract, ReadsAfterASettleHaveTheDeclaredSizesAndAreFinite) {
  present(d.replicas);
  dev->set_nudge(0.1 * d.nudge.high, targets(d.replicas));
  const SettleReport r = dev->settle();
  EXPECT_GE(r.seconds, 0.0);
  std::vector<double> y(d.replicas * d.outputs.count);
  dev->read_outputs(y);
  for (double v : y) EXPECT_TRUE(std::isfinite(v));
  for (double v : parameters()) EXPECT_TRUE(std::isfinite(v));
  if (d.capabilities.native_homeostasis) {
    const auto theta0 = parameters();
    dev->settle_homeostatic();
    dev->read_outputs(y);
    for (double v : y) EXPECT_TRUE(std::isfinite(v));
  }
  if (d.capabilities.local_probes) {
    std::vector<double> p(d.replicas * d.parameter_count());
    dev->read_probes(p);
    for (double v : p) EXPECT_TRUE(std::isfinite(v));
  }
}

TEST_P(DeviceContract, ASnapshotRestoresTheSameBytes) {
  if (!d.capabilities.snapshot) GTEST_SKIP() << d.model << " declares no snapshot";
  present(d.replicas);
  dev->settle();
  std::stringstream first;
  dev->save_snapshot(first);
  std::stringstream again;
  dev->save_snapshot(again);
  EXPECT_EQ(first.str(), again.str()) << "saving changed the device";
  // Move the device elsewhere, then back.
  dev->set_inputs(inputs(1, 0.2), 1);
  dev->set_nudge(0.5 * d.nudge.high, targets(1));
  dev->settle();
  std::stringstream in(first.str());
  dev->restore_snapshot(in);
  std::stringstream restored;
  dev->save_snapshot(restored);
  EXPECT_EQ(restored.str(), first.str());
  EXPECT_EQ(dev->active_replicas(), d.replicas);
  std::stringstream damaged(first.str().substr(0, first.str().size() / 2));
  EXPECT_THROW(dev->restore_snapshot(damaged), DeviceError);
}

// Wraps the device under test with a settle that lasts long enough for another thread to call
// safe_state() while it is in progress, and counts the safe states applied alone.
class SlowSettle final : public test_devices::ForwardingDevice {
 public:
  using ForwardingDevice::ForwardingDevice;
  std::atomic<bool> settling{false};
  std::atomic<int> applied{0}, beside{0};

 private:
  SettleReport do_settle() override {
    settling = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    const SettleReport r = inner_.settle();
    settling = false;
    return r;
  }
  void do_safe_state(bool beside_a_call) override {
    if (beside_a_call) {
      ++beside;
      return;
    }
    ++applied;
    inner_.safe_state();
  }
};

TEST_P(DeviceContract, SafeStateIsReachedFromAnotherThreadDuringASettle) {
  present(1);
  SlowSettle slow(*dev);
  std::thread run([&] { slow.settle(); });
  while (!slow.settling) std::this_thread::yield();
  const auto t0 = Clock::now();
  slow.safe_state();  // the emergency stop's call, while the run is inside settle()
  const double waited = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_LT(waited, 0.7) << "safe_state waited for the call in progress";
  EXPECT_EQ(slow.beside.load(), 1);
  run.join();
  EXPECT_EQ(slow.applied.load(), 1) << "the call did not apply the safe state when it returned";
  // And on the device itself, concurrently with its own settles: no race, no error.
  std::atomic<bool> stop{false};
  std::thread settles([&] {
    for (int i = 0; i < 5 && !stop; ++i) dev->settle();
  });
  for (int i = 0; i < 3; ++i) EXPECT_NO_THROW(dev->safe_state());
  stop = true;
  settles.join();
  EXPECT_NO_THROW(dev->safe_state());
}

INSTANTIATE_TEST_SUITE_P(EveryDevice, DeviceContract, ::testing::ValuesIn(rigs()),
                         [](const ::testing::TestParamInfo<RigKind>& info) {
                           return info.param.name;
                         });

}  // namespace
