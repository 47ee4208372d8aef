// A programmable resistor's per-write time (docs/pot-bench.md, "Per-write time"): the virtual
// resistor array takes a write of n channels n times the bench's setpoints.write_us after it
// arrives, before the write applies or the array answers anything after it; the bench device
// accounts the writes in its tally, and a settle after a write takes the writes, then the wait.
// Only lower bounds on elapsed time are checked: a loaded machine can make things slower, never
// faster.

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "instruments/bench_device.hpp"
#include "instruments/bench_layout.hpp"
#include "instruments/resistor_setpoints.hpp"
#include "sim/circuit/circuit_device.hpp"
#include "sim/virtual_bench/virtual_bench.hpp"

using namespace aeqlab;
using Clock = std::chrono::steady_clock;

namespace {

sim::CircuitSpec pots() {
  sim::CircuitSpec s;
  s.layers = {2, 4, 2};
  s.replicas = 1;
  s.settable = true;
  s.taps = 11;
  return s;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct PotBench {
  explicit PotBench(double write_us, double wait_s = 0.0)
      : physics(pots()),
        layout(with_write_time(
            instruments::virtual_bench_layout(physics.describe(), 16, /*settable=*/true), write_us,
            wait_s)),
        served(physics, layout, {}) {
    const auto answering = served.start();
    server = std::thread([this] { served.run(); });
    for (auto& i : layout.instruments)
      for (const auto& s : answering)
        if (s.name == i.name) i.address = s.tcp;
    bench = std::make_unique<instruments::BenchDevice>(layout);
  }
  ~PotBench() {
    bench.reset();
    served.stop();
    server.join();
  }
  static instruments::BenchConfig with_write_time(instruments::BenchConfig b, double write_us,
                                                  double wait_s) {
    b.settle.wait_s = wait_s;
    instruments::SetpointGrid g;  // conductance spacing on the circuit's own 11 taps
    g.taps = 11;
    g.write_seconds = write_us * 1e-6;
    b.setpoint_grid = g;
    return b;
  }
  // Elements per array, as the layout spreads the set-points over them.
  std::map<std::string, std::size_t> per_array() const {
    std::map<std::string, std::size_t> n;
    for (const auto& p : layout.parameter_setpoints)
      for (const auto& span : p.map) n[span.instrument] += span.channels.size();
    return n;
  }
  // Seconds the arrays take to land one write of every element: the busiest array's, as the arrays
  // take their writes at once.
  double writes_seconds(double write_us) const {
    std::size_t busiest = 0;
    for (const auto& [name, n] : per_array()) busiest = std::max(busiest, n);
    return static_cast<double>(busiest) * write_us * 1e-6;
  }
  // The circuit's conductances a tenth of the way up each group's range: on its 11 taps.
  std::vector<double> values() const {
    std::vector<double> v;
    for (const auto& g : physics.describe().parameters)
      v.insert(v.end(), g.channels.count,
               g.channels.safe.low + 0.1 * (g.channels.safe.high - g.channels.safe.low));
    return v;
  }

  sim::CircuitDevice physics;
  instruments::BenchConfig layout;
  sim::VirtualBench served;
  std::thread server;
  std::unique_ptr<instruments::BenchDevice> bench;
};

TEST(ResistorWriteTime, TheArrayTakesEachElementsWriteBeforeItAnswers) {
  const double write_us = 4000;  // 4 ms per element: large against loopback round trips
  PotBench b(write_us);
  const auto arrays = b.per_array();
  ASSERT_GE(arrays.size(), 2u) << "the layout puts the set-points on several arrays";
  std::size_t total = 0;
  for (const auto& [name, n] : arrays) total += n;
  const auto v = b.values();
  ASSERT_EQ(v.size(), total);
  b.bench->write_parameters(v);
  // Reading the parameters back flushes the writes and then asks each array for its set-points:
  // the array answers only once it has taken every element, the arrays side by side.
  const auto t0 = Clock::now();
  std::vector<double> back(v.size());
  b.bench->read_parameters(back);
  const double took = seconds_since(t0);
  EXPECT_GE(took, b.writes_seconds(write_us));
  for (std::size_t i = 0; i < v.size(); ++i) EXPECT_DOUBLE_EQ(back[i], v[i]) << "element " << i;

  const auto t = b.bench->tally();
  EXPECT_EQ(t.setpoint_writes, total);
  EXPECT_DOUBLE_EQ(t.write_seconds, b.writes_seconds(write_us));
}

TEST(ResistorWriteTime, ASettleAfterWritesTakesTheWritesThenTheWait) {
  const double write_us = 3000;
  PotBench b(write_us, 0.02);
  const double writes_s = b.writes_seconds(write_us);
  b.bench->write_parameters(b.values());
  const auto t0 = Clock::now();
  b.bench->settle();
  EXPECT_GE(seconds_since(t0), writes_s + 0.02);
  EXPECT_DOUBLE_EQ(b.bench->tally().write_seconds, writes_s);
  // A second write of the same elements costs as much again: every element is rewritten.
  b.bench->write_parameters(b.values());
  b.bench->settle();
  EXPECT_DOUBLE_EQ(b.bench->tally().write_seconds, 2 * writes_s);
}

// The step's round trips (docs/pot-bench.md, "Step time against the physical limit"): every group
// on an array is read back in one query, the arrays at once; write-verify's read-back runs inside
// the settle's wait, which still lasts the writes plus the wait from the moment they landed.
TEST(ResistorWriteTime, ReadingTheParametersBackIsOneQueryPerArrayWhateverItsGroups) {
  PotBench b(0);
  const auto arrays = b.per_array();
  std::map<std::string, std::size_t> groups;  // per array: the groups it carries
  for (const auto& p : b.layout.parameter_setpoints)
    for (const auto& span : p.map) ++groups[span.instrument];
  std::size_t most = 0;
  for (const auto& [name, n] : groups) most = std::max(most, n);
  ASSERT_GE(most, 2u) << "the layout puts several groups on one array";
  std::vector<double> back(b.values().size());
  const auto before = b.bench->tally();
  b.bench->read_parameters(back);
  const auto after = b.bench->tally();
  EXPECT_EQ(after.round_trips - before.round_trips, arrays.size());
  EXPECT_EQ(after.critical_round_trips - before.critical_round_trips, 1u);
}

TEST(ResistorWriteTime, WriteVerifyReadsBackInsideTheSettlesWait) {
  const double write_us = 2000;
  PotBench b(write_us, 0.03);
  b.bench.reset();
  b.layout.write_verify = instruments::WriteVerify{1e-12, 2};
  b.bench = std::make_unique<instruments::BenchDevice>(b.layout);
  const double writes_s = b.writes_seconds(write_us);

  b.bench->write_parameters(b.values());
  const auto t0 = Clock::now();
  b.bench->settle();
  EXPECT_GE(seconds_since(t0), writes_s + 0.03);
  auto t = b.bench->tally();
  EXPECT_EQ(t.round_trips_in_settle, 1u) << "one read-back, the arrays at once, under the wait";
  EXPECT_EQ(t.rewrites, 0u);

  // A write flushed by a read, not a settle: its read-back is not under any wait.
  auto v = b.values();
  std::reverse(v.begin(), v.end());
  b.bench->write_parameters(v);
  std::vector<double> back(v.size());
  b.bench->read_parameters(back);
  t = b.bench->tally();
  EXPECT_EQ(t.round_trips_in_settle, 1u);
  for (std::size_t i = 0; i < v.size(); ++i) EXPECT_DOUBLE_EQ(back[i], v[i]) << "element " << i;
}

TEST(ResistorWriteTime, WithoutAPerWriteTimeNothingIsAccounted) {
  PotBench b(0);
  b.bench->write_parameters(b.values());
  b.bench->settle();
  EXPECT_GT(b.bench->tally().setpoint_writes, 0u);
  EXPECT_EQ(b.bench->tally().write_seconds, 0.0);
}

}  // namespace
