// Device snapshots of the simulated Hopfield network: a restored device continues bit for bit
// (into a fresh device or the one that moved on), saving changes nothing, and a snapshot that
// does not fit is refused without touching the device. Both precisions, sparse and dense inputs.

#include <cstdint>
#include <cstring>
#include <functional>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "sim/hopfield/hopfield_device.hpp"

using namespace aeqlab;

namespace {

constexpr std::size_t kInputs = 196;
constexpr std::size_t kOutputs = 5;
constexpr std::size_t kReplicas = 8;
constexpr double kBeta = 0.5;

sim::HopfieldSpec small_spec(bool double_precision, std::uint64_t seed = 1) {
  sim::HopfieldSpec s;
  s.layers = {kInputs, 20, 12, kOutputs};  // three edges: W0's special knob and two plain ones
  s.intervals = {{0.0, 1.0}, {0.0, 1.0}, {-1.0, 2.0}};
  s.gains = {1.0, 1.0, 1.0};
  s.weight_compliance = {0.1, 0.05, 0.02};
  s.bias_compliance = {0.02, 0.01, 0.01};
  s.replicas = kReplicas;
  s.seed = seed;
  s.double_precision = double_precision;
  return s;
}

// Digit-like (three quarters exactly zero, like MNIST) or dense (no zero at all) inputs.
std::vector<double> inputs(std::size_t rows, bool sparse, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> x(rows * kInputs);
  for (auto& v : x) v = sparse ? (u(rng) < 0.75 ? 0.0 : u(rng)) : 0.05 + 0.95 * u(rng);
  return x;
}

std::vector<double> targets(std::size_t rows, std::uint64_t seed) {
  std::vector<double> t(rows * kOutputs, 0.0);
  for (std::size_t r = 0; r < rows; ++r) t[r * kOutputs + (r + seed) % kOutputs] = 1.0;
  return t;
}

// Everything a test compares, as raw doubles: outputs and parameters after each step.
using Trace = std::vector<double>;

void record(Device& d, std::size_t active, Trace& trace) {
  std::vector<double> y(active * kOutputs), theta(d.describe().parameter_count());
  d.read_outputs(y);
  d.read_parameters(theta);
  trace.insert(trace.end(), y.begin(), y.end());
  trace.insert(trace.end(), theta.begin(), theta.end());
}

// One AEqprop step as the trainer drives it with native homeostasis: score, hold at -beta/2,
// free-knob phase at +beta/2.
void aeqprop_step(Device& d, std::size_t n, bool sparse, std::uint64_t seed) {
  const auto t = targets(n, seed);
  d.set_inputs(inputs(n, sparse, seed), n);
  d.set_nudge(0.0, t);
  d.settle_homeostatic();
  d.set_nudge(-kBeta / 2, t);
  d.settle_homeostatic();
  d.set_nudge(kBeta / 2, t);
  d.settle();
}

// What the feedback homeostat does instead: read the knobs, move them, settle with them held.
void feedback_step(Device& d, std::size_t n, bool sparse, std::uint64_t seed) {
  const auto t = targets(n, seed);
  d.set_inputs(inputs(n, sparse, seed), n);
  d.set_nudge(-kBeta / 2, t);
  std::vector<double> u(d.describe().knob_count());
  d.read_knobs(u);
  for (std::size_t i = 0; i < u.size(); i += 7) u[i] += 1e-3;
  d.set_knobs(u);
  d.settle();
  d.set_nudge(kBeta / 2, t);
  d.settle();
}

// The steps after the snapshot: the batch shrinks (5, then 3 active replicas) and grows again,
// and one step moves the knobs explicitly.
Trace continue_steps(Device& d, bool sparse) {
  Trace trace;
  const std::size_t batches[] = {kReplicas, 5, kReplicas, 3, kReplicas};
  for (std::size_t i = 0; i < std::size(batches); ++i) {
    const std::uint64_t seed = 100 + i;
    if (i == 2)
      feedback_step(d, batches[i], sparse, seed);
    else
      aeqprop_step(d, batches[i], sparse, seed);
    record(d, batches[i], trace);
  }
  return trace;
}

std::string snapshot_of(const Device& d) {
  std::ostringstream out;
  d.save_snapshot(out);
  return std::move(out).str();
}

void restore(Device& d, const std::string& bytes) {
  std::istringstream in(bytes);
  d.restore_snapshot(in);
}

bool same_bits(const Trace& a, const Trace& b) {
  // memcmp of an empty vector would pass it a null pointer.
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

std::vector<double> compliances(const Device& d) {
  std::vector<double> eps;
  for (const auto& g : d.describe().parameters) eps.push_back(g.compliance);
  return eps;
}

// Where the device stands when the snapshot is taken.
enum class Before { nothing, aeqprop_step, moved_knobs };

void drive(Device& d, Before before, bool sparse) {
  if (before == Before::nothing) return;
  aeqprop_step(d, kReplicas, sparse, 1);
  aeqprop_step(d, 6, sparse, 2);  // fewer active replicas at the snapshot
  d.set_compliance(1, 0.03);
  d.set_compliance(4, 0.004);
  if (before == Before::aeqprop_step) {
    aeqprop_step(d, 6, sparse, 3);  // W0's knob in its implicit form
  } else {
    std::vector<double> u(d.describe().knob_count());  // W0's knob explicit
    d.read_knobs(u);
    u[3] -= 0.01;
    d.set_knobs(u);
  }
}

class Snapshot : public ::testing::TestWithParam<std::tuple<bool, bool>> {
 protected:
  bool double_precision() const { return std::get<0>(GetParam()); }
  bool sparse() const { return std::get<1>(GetParam()); }
};

std::string param_name(const ::testing::TestParamInfo<std::tuple<bool, bool>>& info) {
  return std::string(std::get<0>(info.param) ? "float64" : "float32") +
         (std::get<1>(info.param) ? "_sparse" : "_dense");
}

}  // namespace

TEST_P(Snapshot, ARestoredDeviceContinuesBitForBit) {
  for (const Before before : {Before::nothing, Before::aeqprop_step, Before::moved_knobs}) {
    SCOPED_TRACE(int(before));
    sim::HopfieldDevice original(small_spec(double_precision()));
    drive(original, before, sparse());
    const std::string snap = snapshot_of(original);
    const auto eps = compliances(original);
    const Trace expected = continue_steps(original, sparse());

    // A fresh device of the same description, started from another seed: the snapshot decides.
    sim::HopfieldDevice fresh(small_spec(double_precision(), 99));
    ASSERT_NO_THROW(restore(fresh, snap));
    EXPECT_EQ(compliances(fresh), eps);
    EXPECT_TRUE(snapshot_of(fresh) == snap) << "restoring and saving again changed the snapshot";
    if (before != Before::nothing) {
      std::vector<double> y(6 * kOutputs);
      EXPECT_NO_THROW(fresh.read_outputs(y)) << "the snapshot's 6 active replicas were lost";
    }
    EXPECT_TRUE(same_bits(continue_steps(fresh, sparse()), expected));

    // The original device, which has moved on since, goes back as well.
    ASSERT_NO_THROW(restore(original, snap));
    EXPECT_EQ(compliances(original), eps);
    EXPECT_TRUE(same_bits(continue_steps(original, sparse()), expected));
  }
}

TEST_P(Snapshot, SavingChangesNothing) {
  sim::HopfieldDevice saved(small_spec(double_precision())), twin(small_spec(double_precision()));
  EXPECT_TRUE(snapshot_of(saved) == snapshot_of(twin));
  Trace a, b;
  for (std::uint64_t i = 0; i < 4; ++i) {
    const std::size_t n = i == 2 ? 5 : kReplicas;
    const auto t = targets(n, i);
    const auto x = inputs(n, sparse(), i);
    // The same calls on both; `saved` takes snapshots between all of them, twice each time.
    std::vector<std::function<void(Device&)>> calls = {
        [&](Device& d) { d.set_inputs(x, n); },
        [&](Device& d) { d.set_nudge(0.0, t); },
        [&](Device& d) { d.settle_homeostatic(); },
        [&](Device& d) { d.set_nudge(-kBeta / 2, t); },
        [&](Device& d) { d.settle_homeostatic(); },
        [&](Device& d) { d.set_nudge(kBeta / 2, t); },
        [&](Device& d) { d.settle(); },
    };
    if (i == 1) calls.push_back([](Device& d) { d.set_compliance(0, 0.07); });
    for (const auto& call : calls) {
      call(saved);
      call(twin);
      const std::string first = snapshot_of(saved);
      EXPECT_TRUE(snapshot_of(saved) == first) << "two snapshots in a row differ";
    }
    record(saved, n, a);
    record(twin, n, b);
  }
  EXPECT_TRUE(same_bits(a, b));
  EXPECT_TRUE(snapshot_of(saved) == snapshot_of(twin));
}

TEST_P(Snapshot, ASnapshotThatDoesNotFitIsRefusedAndChangesNothing) {
  const bool dp = double_precision();
  sim::HopfieldDevice device(small_spec(dp)), twin(small_spec(dp));
  drive(device, Before::aeqprop_step, sparse());
  drive(twin, Before::aeqprop_step, sparse());
  const std::string before = snapshot_of(device);

  // Another state of the same description, to cut short.
  sim::HopfieldDevice other(small_spec(dp, 7));
  aeqprop_step(other, 4, sparse(), 42);
  const std::string good = snapshot_of(other);

  std::vector<std::pair<std::string, std::string>> bad;
  for (std::size_t cut : {std::size_t{0}, std::size_t{4}, std::size_t{8}, std::size_t{20},
                          good.size() / 3, good.size() / 2, good.size() - 9, good.size() - 1})
    bad.emplace_back("truncated to " + std::to_string(cut), good.substr(0, cut));
  bad.emplace_back("trailing bytes", good + "x");
  auto from = [&](const char* what, sim::HopfieldSpec spec) {
    sim::HopfieldDevice d(spec);
    aeqprop_step(d, 4, sparse(), 42);
    bad.emplace_back(what, snapshot_of(d));
  };
  auto wider = small_spec(dp);
  wider.layers[2] = 13;
  from("another hidden width", wider);
  auto shallower = small_spec(dp);
  shallower.layers = {kInputs, 20, kOutputs};
  shallower.intervals = {{0.0, 1.0}, {-1.0, 2.0}};
  shallower.gains = {1.0, 1.0};
  shallower.weight_compliance = {0.1, 0.02};
  shallower.bias_compliance = {0.02, 0.01};
  from("another number of layers", shallower);
  from("the other precision", small_spec(!dp));
  auto more = small_spec(dp);
  more.replicas = 2 * kReplicas;
  {
    sim::HopfieldDevice d(more);
    aeqprop_step(d, 2 * kReplicas, sparse(), 42);
    bad.emplace_back("a batch larger than the replicas", snapshot_of(d));
  }

  for (const auto& [what, bytes] : bad) {
    SCOPED_TRACE(what);
    try {
      restore(device, bytes);
      ADD_FAILURE() << "accepted";
    } catch (const DeviceError& e) {
      EXPECT_NE(std::string(e.what()).find(device.describe().model), std::string::npos) << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not a DeviceError: " << e.what();
    }
    EXPECT_TRUE(snapshot_of(device) == before) << "the refused snapshot changed the device";
  }
  EXPECT_EQ(compliances(device), compliances(twin));
  std::vector<double> y(6 * kOutputs);
  EXPECT_NO_THROW(device.read_outputs(y)) << "the active replicas changed";

  // It carries on exactly as its untouched twin.
  Trace a, b;
  device.settle();
  twin.settle();
  record(device, 6, a);
  record(twin, 6, b);
  EXPECT_TRUE(same_bits(a, b));
  EXPECT_TRUE(same_bits(continue_steps(device, sparse()), continue_steps(twin, sparse())));
}

INSTANTIATE_TEST_SUITE_P(Precisions, Snapshot,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool()), param_name);
