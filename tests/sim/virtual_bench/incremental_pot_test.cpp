// Incremental-only parts (docs/pot-bench.md, "Incremental-only parts"): the bench tracks every
// element's tap from the parts' power-on tap and writes each set-point as up/down steps; the
// virtual array holds its own taps, so a bench whose tracking went wrong lands on the wrong
// conductances, and a step past a part's end is refused naming the channel and its elements.

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "instruments/bench_device.hpp"
#include "instruments/bench_layout.hpp"
#include "instruments/profile.hpp"
#include "instruments/resistor_setpoints.hpp"
#include "sim/circuit/circuit_device.hpp"
#include "sim/virtual_bench/virtual_bench.hpp"

using namespace aeqlab;

namespace {

constexpr std::size_t kTaps = 11;

sim::CircuitSpec pots() {
  sim::CircuitSpec s;
  s.layers = {2, 4, 2};
  s.replicas = 1;
  s.settable = true;
  s.taps = kTaps;
  return s;
}

instruments::BenchConfig incremental(instruments::BenchConfig b, std::size_t power_on,
                                     double write_us) {
  b.settle.wait_s = 0.0;
  instruments::SetpointGrid g;  // conductance spacing on the circuit's own 11 taps
  g.taps = kTaps;
  g.mode = instruments::SetpointGrid::Mode::incremental;
  g.power_on_tap = power_on;
  g.write_seconds = write_us * 1e-6;
  b.setpoint_grid = g;
  return b;
}

// aeqlab-vres without its read-back queries: an array of parts whose taps cannot be read
// (INC/U-D parts), so the bench can only take them at their power-on tap.
std::string unreadable_profile() {
  // One file per process: CTest runs these tests side by side, and a file another test is
  // rewriting reads back empty.
  const std::string path =
      ::testing::TempDir() + "/incremental-unreadable-vres-" + std::to_string(::getpid()) + ".json";
  std::ofstream(path) << R"({"model": "unreadable incremental array", "identify": "AEQLAB,VRES",
    "error_query": "SYST:ERR?", "chain": ";:",
    "source": {"one": "SOUR:RES {value},{channels}", "step": "SOUR:RES:STEP {values},{channels}"}})";
  return path;
}

// The virtual arrays' parts power on at `served_power_on`; the bench believes `bench_power_on`
// and, with `readable` false, cannot read the parts back.
struct IncrementalBench {
  IncrementalBench(std::size_t served_power_on, std::size_t bench_power_on, double write_us = 0,
                   bool readable = true, std::optional<instruments::WriteVerify> verify = {},
                   std::vector<sim::VirtualFault> faults = {})
      : physics(pots()),
        layout(incremental(
            instruments::virtual_bench_layout(physics.describe(), 16, /*settable=*/true),
            served_power_on, write_us)),
        served(physics, layout, with_faults(std::move(faults))) {
    const auto answering = served.start();
    server = std::thread([this] { served.run(); });
    for (auto& i : layout.instruments)
      for (const auto& s : answering)
        if (s.name == i.name) i.address = s.tcp;
    mine = layout;
    mine.setpoint_grid->power_on_tap = bench_power_on;
    mine.write_verify = verify;
    if (!readable)
      for (const auto& p : mine.parameter_setpoints)
        for (const auto& span : p.map)
          for (auto& i : mine.instruments)
            if (i.name == span.instrument) i.profile = unreadable_profile();
    connect();
  }
  static sim::VirtualOptions with_faults(std::vector<sim::VirtualFault> faults) {
    sim::VirtualOptions o;
    o.faults = std::move(faults);
    return o;
  }
  void connect() {
    bench.reset();
    bench = std::make_unique<instruments::BenchDevice>(mine);
  }
  ~IncrementalBench() {
    bench.reset();
    served.stop();
    server.join();
  }
  // Every element at tap `n` of its group's range (conductance spacing).
  std::vector<double> at_tap(std::size_t n) const {
    std::vector<double> v;
    for (const auto& g : physics.describe().parameters) {
      const auto taps = instruments::grid_values(*layout.setpoint_grid, g.channels.safe);
      v.insert(v.end(), g.channels.count, taps[n]);
    }
    return v;
  }
  std::vector<double> read() {
    std::vector<double> out(physics.describe().parameter_count());
    bench->read_parameters(out);
    return out;
  }
  std::size_t busiest_array() const {
    std::map<std::string, std::size_t> n;
    for (const auto& p : layout.parameter_setpoints)
      for (const auto& span : p.map) n[span.instrument] += span.channels.size();
    std::size_t most = 0;
    for (const auto& [name, k] : n) most = std::max(most, k);
    return most;
  }

  sim::CircuitDevice physics;
  instruments::BenchConfig layout;
  instruments::BenchConfig mine;  // the bench's own copy
  sim::VirtualBench served;
  std::thread server;
  std::unique_ptr<instruments::BenchDevice> bench;
};

TEST(IncrementalPots, PositionsAreTrackedFromPowerOnAndSafeStateStepsBack) {
  const double write_us = 100;
  IncrementalBench b(5, 5, write_us);
  const std::size_t n = b.physics.describe().parameter_count();
  EXPECT_EQ(b.read(), b.at_tap(5)) << "the parts sit at their power-on tap before any write";

  b.bench->write_parameters(b.at_tap(1));
  EXPECT_EQ(b.read(), b.at_tap(1));
  auto t = b.bench->tally();
  EXPECT_EQ(t.setpoint_writes, n * 4) << "four steps down per element, from tap 5 to tap 1";
  EXPECT_DOUBLE_EQ(t.write_seconds, static_cast<double>(b.busiest_array() * 4) * write_us * 1e-6);

  b.bench->write_parameters(b.at_tap(8));
  EXPECT_EQ(b.read(), b.at_tap(8)) << "seven steps up, from the tracked tap 1";
  EXPECT_EQ(b.bench->tally().setpoint_writes, n * (4 + 7));

  // Mixed directions in one message: each element from its own tracked tap.
  auto mixed = b.at_tap(8);
  const auto low = b.at_tap(0), high = b.at_tap(10);
  for (std::size_t i = 0; i < n; i += 2) mixed[i] = low[i];
  for (std::size_t i = 1; i < n; i += 3) mixed[i] = high[i];
  b.bench->write_parameters(mixed);
  EXPECT_EQ(b.read(), mixed);

  // A new connection reads the parts back and tracks them from there: to tap 2, each element
  // steps from its own tap (10, else 0 or 8).
  std::size_t expected = 0;
  for (std::size_t i = 0; i < n; ++i) expected += i % 3 == 1 ? 8 : i % 2 == 0 ? 2 : 6;
  b.connect();
  b.bench->write_parameters(b.at_tap(2));
  EXPECT_EQ(b.read(), b.at_tap(2));
  EXPECT_EQ(b.bench->tally().setpoint_writes, expected);
}

TEST(IncrementalPots, SafeStateHoldsHeldSetpointsAndStepsTheOthersToPowerOn) {
  IncrementalBench b(5, 5);
  b.bench->write_parameters(b.at_tap(9));
  EXPECT_EQ(b.read(), b.at_tap(9));
  b.bench->safe_state();
  EXPECT_EQ(b.read(), b.at_tap(9)) << "the layout holds the trained set-points at safe state";

  for (auto& p : b.mine.parameter_setpoints) p.hold_at_safe_state = false;
  b.connect();
  b.bench->write_parameters(b.at_tap(3));
  EXPECT_EQ(b.read(), b.at_tap(3));
  b.bench->safe_state();
  EXPECT_EQ(b.read(), b.at_tap(5)) << "safe state steps every part back to its power-on tap";
}

TEST(IncrementalPots, APerWriteTimeOfZeroCountsStepsButNoTime) {
  IncrementalBench b(5, 5);
  b.bench->write_parameters(b.at_tap(5));  // already there: no step goes out
  EXPECT_EQ(b.read(), b.at_tap(5));
  EXPECT_EQ(b.bench->tally().setpoint_writes, 0u);
  b.bench->write_parameters(b.at_tap(6));
  EXPECT_EQ(b.read(), b.at_tap(6));
  EXPECT_EQ(b.bench->tally().setpoint_writes, b.physics.describe().parameter_count());
  EXPECT_EQ(b.bench->tally().write_seconds, 0.0);
}

// The parts powered up at tap 9 but the bench, which cannot read them, believes tap 1: a write to
// tap 10 goes out as nine steps up, which the part (already at 9) refuses, naming the channel;
// nothing moved.
TEST(IncrementalPots, AnOverRangeStepIsRefusedNamingTheChannelAndElements) {
  IncrementalBench b(9, 1, 0, /*readable=*/false);
  b.bench->write_parameters(b.at_tap(10));
  try {
    b.read();
    FAIL() << "a step past the part's last tap was taken";
  } catch (const DeviceError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("Data out of range; channel "), std::string::npos) << what;
    EXPECT_NE(what.find("a step of 9 from tap 9 leaves taps 0 to 10"), std::string::npos) << what;
    EXPECT_NE(what.find("(steps for parameter "), std::string::npos) << what;
  }
}

TEST(IncrementalPots, ConfigKeysParseAndAreRefusedByName) {
  const SafeRange range{1e-4, 1e-3};
  auto g = instruments::parse_setpoint_grid(nlohmann::json{{"taps", 1024}, {"mode", "incremental"}},
                                            range, "b.setpoints");
  EXPECT_EQ(g.mode, instruments::SetpointGrid::Mode::incremental);
  EXPECT_EQ(g.power_on_tap, 512u) << "mid-scale by default";
  EXPECT_EQ(instruments::setpoint_grid_to_json(g)["power_on_tap"], 512);
  auto refused = [&](const nlohmann::json& j, const std::string& key) {
    try {
      instruments::parse_setpoint_grid(j, range, "b.setpoints");
      ADD_FAILURE() << j.dump() << " was accepted";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  };
  refused({{"taps", 100}, {"mode", "incremental"}, {"power_on_tap", 100}},
          "b.setpoints.power_on_tap");
  refused({{"taps", 100}, {"power_on_tap", 10}}, "b.setpoints.power_on_tap");
  refused({{"mode", "relative"}}, "b.setpoints.mode");
  // A resistance grid's tap 0 is its largest conductance.
  instruments::SetpointGrid r;
  r.spacing = instruments::SetpointGrid::Spacing::resistance;
  r.taps = 8;
  EXPECT_EQ(instruments::grid_index_of_tap(r, 0), 7u);
  EXPECT_EQ(instruments::grid_index_of_tap(r, 7), 0u);
}

}  // namespace

namespace {

// Write-verify on incremental parts: a STEP message that does not take leaves the parts where they
// were; the read-back shows it, the bench corrects its tracked taps from it and steps again.
TEST(IncrementalPots, WriteVerifyStepsAPartThatMissedFromTheTapItReadsBack) {
  const std::string array = "vres_parameters_1";
  // Messages 0-2 open the array (*IDN?, *CLS, the read-back); message 3 is the first STEP.
  IncrementalBench b(5, 5, 0, true, instruments::WriteVerify{1e-12, 2},
                     {{.instrument = array, .kind = "no_verify", .after = 3, .count = 1}});
  const std::size_t n = b.physics.describe().parameter_count();
  std::size_t on_array = 0;
  for (const auto& p : b.layout.parameter_setpoints)
    for (const auto& span : p.map)
      if (span.instrument == array) on_array += span.channels.size();
  ASSERT_GT(on_array, 0u) << "the layout has an array named " << array;

  b.bench->write_parameters(b.at_tap(1));
  b.bench->settle();
  const auto t = b.bench->tally();
  EXPECT_EQ(t.rewrites, on_array) << "every part on the array that missed its steps";
  EXPECT_EQ(t.setpoint_writes, n * 4 + on_array * 4) << "the four steps down, taken again";
  EXPECT_EQ(b.read(), b.at_tap(1));
  // The tracked taps are right again: the next steps land where they should.
  b.bench->write_parameters(b.at_tap(7));
  EXPECT_EQ(b.read(), b.at_tap(7));
}

TEST(IncrementalPots, WriteVerifyOfStepsThatNeverTakeStopsNamingTheElement) {
  IncrementalBench b(
      5, 5, 0, true, instruments::WriteVerify{1e-12, 1},
      {{.instrument = "vres_parameters_1", .kind = "no_verify", .after = 3, .count = 0}});
  b.bench->write_parameters(b.at_tap(2));
  try {
    b.bench->settle();
    FAIL() << "steps that never take must stop the run";
  } catch (const DeviceError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("did not take its write"), std::string::npos) << what;
    EXPECT_NE(what.find("vres_parameters_1"), std::string::npos) << what;
  }
}

TEST(IncrementalPots, WriteVerifyNeedsArraysThatCanBeReadBack) {
  IncrementalBench b(5, 5, 0, /*readable=*/false);
  b.mine.write_verify = instruments::WriteVerify{1e-12, 2};
  try {
    b.connect();
    FAIL() << "write_verify on parts that cannot be read back must be refused";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("write_verify"), std::string::npos) << what;
    EXPECT_NE(what.find("cannot read them back"), std::string::npos) << what;
  }
}

// An up/down part's controller (instruments/profiles/x9c103-updown-controller.json) has only the
// step command: it takes the set-points of incremental parts and nothing else.
TEST(IncrementalPots, AStepOnlyProfileTakesIncrementalSetpointsAndNothingElse) {
  const auto shipped = instruments::load_profile("x9c103-updown-controller");
  ASSERT_TRUE(shipped.source);
  EXPECT_FALSE(shipped.source->step.empty());
  EXPECT_TRUE(shipped.source->one.empty() && shipped.source->each.empty() &&
              shipped.source->block.empty() && shipped.source->get.empty());
  // The shipped file, answering the virtual array's *IDN? (the controller is an assumed one).
  const std::string source =
      std::string(AEQLAB_SOURCE_DIR) + "/instruments/profiles/x9c103-updown-controller.json";
  auto j = nlohmann::json::parse(std::ifstream(source));
  j["identify"] = "";
  const std::string path =
      ::testing::TempDir() + "/x9c103-any-identity-" + std::to_string(::getpid()) + ".json";
  std::ofstream(path) << j.dump();

  IncrementalBench b(5, 5, 0, /*readable=*/false);
  for (const auto& p : b.mine.parameter_setpoints)
    for (const auto& span : p.map)
      for (auto& i : b.mine.instruments)
        if (i.name == span.instrument) i.profile = path;
  b.connect();
  b.bench->write_parameters(b.at_tap(2));
  b.bench->settle();
  // A bench that can read the array back finds the parts where the steps took them.
  const auto stepped = b.mine;
  b.mine = b.layout;
  b.mine.setpoint_grid->power_on_tap = 5;
  b.connect();
  EXPECT_EQ(b.read(), b.at_tap(2));

  b.mine = stepped;
  b.mine.setpoint_grid->mode = instruments::SetpointGrid::Mode::absolute;
  b.mine.setpoint_grid->power_on_tap = 0;
  try {
    b.connect();
    FAIL() << "a step-only profile on absolute set-points must be refused";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("only steps"), std::string::npos) << what;
    EXPECT_NE(what.find("vres_parameters_1"), std::string::npos) << what;
  }
}

}  // namespace
