// The secant feedback homeostat (core/secant_homeostat.hpp, docs/algorithm.md §4) on the analytic
// test device: fast where the proportional loop crawls, holding past loop gain 1, and saying by
// group name where the compliance cannot be held, with the knobs inside their range throughout.
#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/homeostat.hpp"
#include "core/secant_homeostat.hpp"
#include "core/toy_tasks.hpp"
#include "forwarding_device.hpp"
#include "test_devices.hpp"
#include "test_support.hpp"

using namespace aeqlab;
using namespace aeqlab::test_devices;
using ::testing::HasSubstr;

namespace {

void present_xor(Device& device, double beta) {
  const Split xor_data = xor_task();
  std::vector<std::size_t> rows(4);
  std::iota(rows.begin(), rows.end(), std::size_t{0});
  std::vector<double> x, t;
  gather_batch(xor_data.train, rows, x, t);
  device.set_inputs(x, 4);
  device.set_nudge(beta, t);
}

// The XOR device of docs/examples/feedback-homeostat.json with every compliance times k: the
// loop gain grows with k (0.54 measured at k = 1, 1.4 at k = 2.5).
TinyHopfieldSpec scaled(double k) {
  TinyHopfieldSpec s;
  for (auto& e : s.weight_compliance) e *= k;
  for (auto& e : s.bias_compliance) e *= k;
  return s;
}

double max_distance(const std::vector<double>& a, const std::vector<double>& b) {
  double d = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

FeedbackSettings settings(std::size_t max_rounds, HoldLimitPolicy limit = HoldLimitPolicy::warn) {
  FeedbackSettings s;
  s.tolerance = 1e-8;
  s.max_rounds = max_rounds;
  s.limit = limit;
  return s;
}

// Records every knob setting, to check each against the range the device declares.
class KnobRecorder final : public ForwardingDevice {
 public:
  using ForwardingDevice::ForwardingDevice;
  std::size_t settings = 0, outside = 0, at_edge = 0;

 private:
  void do_set_knobs(std::span<const double> v) override {
    ++settings;
    std::size_t k = 0;
    for (const auto& group : describe().knobs)
      for (std::size_t i = 0; i < group.count; ++i, ++k) {
        outside += !group.safe.contains(v[k]);
        at_edge += v[k] == group.safe.low || v[k] == group.safe.high;
      }
    ForwardingDevice::do_set_knobs(v);
  }
};

// Reads the parameters on a grid, as an ADC of finite resolution does.
class CoarseReadout final : public ForwardingDevice {
 public:
  CoarseReadout(Device& inner, double quantum) : ForwardingDevice(inner), quantum_(quantum) {}

 private:
  void do_read_parameters(std::span<double> out) override {
    ForwardingDevice::do_read_parameters(out);
    for (auto& v : out) v = std::round(v / quantum_) * quantum_;
  }
  double quantum_;
};

// Knobs set and parameters read as float32 values, as the Hopfield device stores them at its
// default precision: a grid about 6e-8 of each value fine.
class Float32Readout final : public ForwardingDevice {
 public:
  using ForwardingDevice::ForwardingDevice;

 private:
  void do_set_knobs(std::span<const double> v) override {
    std::vector<double> rounded(v.begin(), v.end());
    for (auto& x : rounded) x = double(float(x));
    ForwardingDevice::do_set_knobs(rounded);
  }
  void do_read_parameters(std::span<double> out) override {
    ForwardingDevice::do_read_parameters(out);
    for (auto& v : out) v = double(float(v));
  }
};

// Counts compliance changes: the probe's only trace.
class ComplianceCounter final : public ForwardingDevice {
 public:
  using ForwardingDevice::ForwardingDevice;
  std::size_t changes = 0;

 private:
  void do_set_compliance(std::size_t g, double eps) override {
    ++changes;
    ForwardingDevice::do_set_compliance(g, eps);
  }
};

}  // namespace

TEST(SecantHomeostat, ConvergesInFewRoundsWhereTheProportionalLoopCrawls) {
  TinyHopfield a(scaled(1.5)), b(scaled(1.5));
  present_xor(a, -0.25);
  present_xor(b, -0.25);
  const auto target = test_support::parameters_of(a);
  FeedbackHomeostat proportional({1.0, 1e-8, 1000});
  const HomeostatReport p = proportional.hold(a, target);
  ASSERT_TRUE(p.converged);
  EXPECT_GT(p.rounds, 50u) << "the device must be ill-conditioned for the proportional loop";

  SecantHomeostat secant(settings(100));
  const HomeostatReport s = secant.hold(b, target);
  EXPECT_TRUE(s.converged) << "error " << s.max_error;
  EXPECT_LE(s.rounds, 20u);
  EXPECT_LE(max_distance(test_support::parameters_of(b), target), 1e-8);
  EXPECT_GT(s.loop_gain, 0.5);
  EXPECT_LT(s.loop_gain, 1.0);
}

TEST(SecantHomeostat, HoldsWhereTheLoopGainExceedsOne) {
  // Past gain 1 the parameters run away under fixed knobs and no proportional gain holds them;
  // predicting the physics' response still does.
  TinyHopfield a(scaled(2.5)), b(scaled(2.5));
  present_xor(a, -0.25);
  present_xor(b, -0.25);
  const auto target = test_support::parameters_of(a);
  FeedbackHomeostat proportional({1.0, 1e-8, 300});
  EXPECT_FALSE(proportional.hold(a, target).converged);
  SecantHomeostat secant(settings(100));
  const HomeostatReport s = secant.hold(b, target);
  EXPECT_TRUE(s.converged) << "error " << s.max_error;
  EXPECT_GT(s.loop_gain, 1.0);
  EXPECT_LE(max_distance(test_support::parameters_of(b), target), 1e-8);
}

TEST(SecantHomeostat, WithoutMemoryItIsTheProportionalLoop) {
  TinyHopfield a(scaled(1.0)), b(scaled(1.0));
  present_xor(a, -0.25);
  present_xor(b, -0.25);
  const auto target = test_support::parameters_of(a);
  FeedbackHomeostat proportional({1.0, 1e-8, 200});
  auto memoryless = settings(200);
  memoryless.memory = 0;
  SecantHomeostat secant(memoryless);
  const HomeostatReport p = proportional.hold(a, target), s = secant.hold(b, target);
  EXPECT_EQ(p.rounds, s.rounds);
  EXPECT_EQ(test_support::parameters_of(a), test_support::parameters_of(b));
}

TEST(SecantHomeostat, RefusesByGroupNameWhereTheCompliancesCannotBeHeld) {
  TinyHopfield device(scaled(20.0));
  present_xor(device, -0.25);
  const auto target = test_support::parameters_of(device);
  SecantHomeostat secant(settings(60, HoldLimitPolicy::refuse));
  const std::string e = test_support::error_text<DeviceError>([&] { secant.hold(device, target); });
  EXPECT_THAT(e, HasSubstr("cannot be held at compliance"));
  EXPECT_THAT(e, HasSubstr("largest compliance it can hold"));
  EXPECT_THAT(e, HasSubstr("trainer.feedback.limit"));
  // It names the group the unstable mode lives in.
  const auto& groups = device.describe().parameters;
  const auto named = std::count_if(groups.begin(), groups.end(), [&](const ParameterGroup& g) {
    return e.find("group " + g.channels.name + " ") != std::string::npos;
  });
  EXPECT_EQ(named, 1) << e;
}

TEST(SecantHomeostat, WarnsAndTrainsOnOrScalesTheOffendingCompliance) {
  {
    TinyHopfield device(scaled(20.0));
    present_xor(device, -0.25);
    const auto target = test_support::parameters_of(device);
    SecantHomeostat secant(settings(60, HoldLimitPolicy::warn));
    const HomeostatReport r = secant.hold(device, target);
    EXPECT_FALSE(r.converged);
    EXPECT_GT(r.loop_gain, 1.0);
    EXPECT_EQ(secant.scalings(), 0u);
  }
  TinyHopfield device(scaled(20.0));
  present_xor(device, -0.25);
  const auto target = test_support::parameters_of(device);
  const auto before = device.describe().parameters;
  SecantHomeostat secant(settings(60, HoldLimitPolicy::scale));
  HomeostatReport r;
  for (int hold = 0; hold < 20 && !r.converged; ++hold) r = secant.hold(device, target);
  EXPECT_GE(secant.scalings(), 1u);
  EXPECT_TRUE(r.converged) << "after scaling, the compliances must be holdable";
  const auto& after = device.describe().parameters;
  std::size_t lowered = 0;
  for (std::size_t g = 0; g < after.size(); ++g) {
    EXPECT_LE(after[g].compliance, before[g].compliance);
    lowered += after[g].compliance < before[g].compliance;
  }
  EXPECT_GE(lowered, 1u);
}

TEST(SecantHomeostat, KnobsNeverLeaveTheirSafeRange) {
  // A narrow safe range and a compliance that cannot be held: the search pushes at the edges.
  TinyHopfieldSpec spec = scaled(20.0);
  spec.parameter_limit = 2.0;
  TinyHopfield inner(spec);
  KnobRecorder device(inner);
  present_xor(device, -0.25);
  const auto target = test_support::parameters_of(device);
  SecantHomeostat secant(settings(100));
  EXPECT_NO_THROW(secant.hold(device, target));
  EXPECT_GT(device.settings, 50u);
  EXPECT_GT(device.at_edge, 0u) << "the search never reached the range's edge: no test";
  EXPECT_EQ(device.outside, 0u);
}

TEST(SecantHomeostat, RemembersItsKnobsAndReportsAcrossACheckpoint) {
  TinyHopfield device(scaled(1.0));
  present_xor(device, -0.25);
  const auto target = test_support::parameters_of(device);
  SecantHomeostat secant(settings(100));
  EXPECT_TRUE(secant.memory().empty());
  ASSERT_TRUE(secant.hold(device, target).converged);
  const auto memory = secant.memory();
  const auto& d = device.describe();
  // Knobs, a flag per group, then the probe's ratio, read-out floor, plant gain and holdable flag.
  ASSERT_EQ(memory.size(), d.knob_count() + d.parameters.size() + 4);
  SecantHomeostat restored(settings(100));
  restored.restore_memory(memory);
  EXPECT_EQ(restored.memory(), memory);
}

TEST(SecantHomeostat, TheStiffProbeHoldsFarPastLoopGainOneInTwoSettles) {
  // At 20x the example's compliances no loop at the real compliance holds (gain about 10, see
  // RefusesByGroupName...). Measured stiffly and preloaded, the knobs hold the target at once.
  TinyHopfield device(scaled(20.0));
  present_xor(device, -0.25);
  const auto target = test_support::parameters_of(device);
  const auto before = device.describe().parameters;
  auto s = settings(100, HoldLimitPolicy::refuse);
  s.probe = 1e6;
  SecantHomeostat secant(s);
  const HomeostatReport r = secant.hold(device, target);
  EXPECT_TRUE(r.converged) << "error " << r.max_error;
  EXPECT_LE(r.rounds, 4u);
  EXPECT_LE(max_distance(test_support::parameters_of(device), target), 1e-8);
  // The compliances are back exactly where they were.
  for (std::size_t g = 0; g < before.size(); ++g)
    EXPECT_EQ(device.describe().parameters[g].compliance, before[g].compliance);
}

TEST(SecantHomeostat, AHoldToReadEndsAtTheProbesSettle) {
  TinyHopfield device(scaled(2.5));
  present_xor(device, 0.0);
  const auto target = test_support::parameters_of(device);
  auto s = settings(100);
  s.tolerance = 1e-6;  // above the probe's own move, about |offset| / 1e6
  s.probe = 1e6;
  SecantHomeostat secant(s);
  const HomeostatReport r = secant.hold_to_read(device, target);
  EXPECT_TRUE(r.converged);
  EXPECT_EQ(r.rounds, 1u);
  EXPECT_LE(max_distance(test_support::parameters_of(device), target), 1e-6);
  // A hold whose knobs a phase uses checks them with a settle at the real compliance.
  present_xor(device, -0.25);
  const HomeostatReport h = secant.hold(device, target);
  EXPECT_TRUE(h.converged);
  EXPECT_EQ(h.rounds, 2u);
}

TEST(SecantHomeostat, AProbeAtTheReadOutsFloorEndsThereInsteadOfDiverging) {
  // Parameters read on a 1e-9 grid: a probe 1e6 times stiffer scales that to 1e-3 in the knobs,
  // so its landing misses by about that. At 20x the example's compliances (loop gain about 10)
  // the secant rounds cannot hold from there (without the probe the hold is refused below): they
  // try once, run away, and the hold ends at one more probe landing, its error the read-out's
  // floor; later holds end there at once. The knobs never leave their range.
  TinyHopfield tiny(scaled(20.0));
  CoarseReadout coarse(tiny, 1e-9);
  KnobRecorder device(coarse);
  present_xor(device, -0.25);
  const auto target = test_support::parameters_of(device);
  auto s = settings(40, HoldLimitPolicy::refuse);
  s.probe = 1e6;
  SecantHomeostat secant(s);
  HomeostatReport r;
  ASSERT_NO_THROW(r = secant.hold(device, target));
  EXPECT_TRUE(r.converged);
  EXPECT_LE(r.rounds, 8u);
  EXPECT_GT(r.max_error, s.tolerance) << "not at a floor: no test";
  EXPECT_LE(r.max_error, 4 * 1e6 * 1e-9);
  EXPECT_NEAR(max_distance(test_support::parameters_of(device), target), r.max_error, 1e-9);
  EXPECT_EQ(secant.memory().back(), -1.0) << "the secant rounds were not found to run away";
  present_xor(device, 0.25);
  const HomeostatReport next = secant.hold(device, target);
  EXPECT_TRUE(next.converged);
  EXPECT_EQ(next.rounds, 2u);
  EXPECT_LE(next.max_error, 4 * 1e6 * 1e-9);
  EXPECT_EQ(device.outside, 0u);

  // The same hold by the secant rounds alone is refused: they cannot hold it at all.
  TinyHopfield tiny2(scaled(20.0));
  CoarseReadout alone(tiny2, 1e-9);
  present_xor(alone, -0.25);
  SecantHomeostat without(settings(40, HoldLimitPolicy::refuse));
  const std::string e = test_support::error_text<DeviceError>([&] { without.hold(alone, target); });
  EXPECT_THAT(e, HasSubstr("cannot be held at compliance"));
}

TEST(SecantHomeostat, TheAutomaticProbeLowersItsRatioToTheFloat32ReadOutsFloor) {
  // On a float32-like read-out the first ratio (1e6) lands about 1e6 float32 steps off; the
  // automatic probe measures that floor and lowers its ratio, then holds far closer, and the
  // next holds take one cycle at the ratio it found.
  TinyHopfield tiny(scaled(20.0));
  Float32Readout float32(tiny);
  KnobRecorder device(float32);
  present_xor(device, -0.25);
  const auto target = test_support::parameters_of(device);
  auto s = settings(40, HoldLimitPolicy::refuse);
  s.probe_auto = true;
  SecantHomeostat secant(s);
  HomeostatReport r;
  ASSERT_NO_THROW(r = secant.hold(device, target));
  EXPECT_TRUE(r.converged);
  EXPECT_GT(r.rounds, 2u) << "the first ratio was not too stiff: no test";
  EXPECT_LE(r.rounds, 20u);  // measured 13: two probe cycles, the secant rounds' try, one more
  const auto first = secant.memory();
  const double ratio = first[first.size() - 4], floor = first[first.size() - 3];
  EXPECT_LT(ratio, 1e6);
  EXPECT_GT(floor, 0.0);
  // Held within the measured floor at that ratio, far inside the first ratio's floor.
  EXPECT_LE(r.max_error, 4 * ratio * floor);
  EXPECT_LT(r.max_error, 1e6 * floor / 10);
  for (const double beta : {0.25, -0.5, 0.0}) {
    present_xor(device, beta);
    const HomeostatReport h = secant.hold(device, target);
    EXPECT_TRUE(h.converged) << "beta " << beta;
    EXPECT_LE(h.rounds, 2u) << "beta " << beta;
    EXPECT_LE(max_distance(test_support::parameters_of(device), target), 4 * ratio * floor);
  }
  EXPECT_EQ(device.outside, 0u);
}

TEST(SecantHomeostat, BelowGainOneTheSecantRoundsRefineTheProbesFloor) {
  // The example's compliances (loop gain about 0.54) on a float32-like read-out: the probe lands
  // at its floor, and the secant rounds at the real compliance take it on to the tolerance, as
  // they do in every later hold.
  TinyHopfield tiny(scaled(1.0));
  Float32Readout device(tiny);
  present_xor(device, -0.25);
  const auto target = test_support::parameters_of(device);
  auto s = settings(100, HoldLimitPolicy::refuse);
  s.tolerance = 1e-6;
  s.probe_auto = true;
  SecantHomeostat secant(s);
  for (const double beta : {-0.25, 0.25, -0.5}) {
    present_xor(device, beta);
    const HomeostatReport h = secant.hold(device, target);
    EXPECT_TRUE(h.converged) << "beta " << beta;
    EXPECT_LE(h.max_error, s.tolerance) << "beta " << beta;
    EXPECT_LE(max_distance(test_support::parameters_of(device), target), s.tolerance);
  }
  const auto m = secant.memory();
  EXPECT_GT(m[m.size() - 3], 0.0) << "no floor measured: no test";
  EXPECT_EQ(m.back(), 1.0);
}

TEST(SecantHomeostat, TheAutomaticProbeNeedsADeviceThatAdjustsItsCompliance) {
  // Without adjustable_compliance "auto" is the secant rounds alone, bit for bit; with it, the
  // probe holds in two cycles where the secant takes 15 rounds.
  TinyHopfieldSpec fixed = scaled(1.5);
  fixed.adjustable_compliance = false;
  TinyHopfield a(fixed), b(fixed);
  present_xor(a, -0.25);
  present_xor(b, -0.25);
  const auto target = test_support::parameters_of(a);
  auto automatic = settings(100);
  automatic.probe_auto = true;
  SecantHomeostat with_auto(automatic), plain(settings(100));
  const HomeostatReport ra = with_auto.hold(a, target), rb = plain.hold(b, target);
  EXPECT_TRUE(ra.converged);
  EXPECT_EQ(ra.rounds, rb.rounds);
  EXPECT_GT(ra.rounds, 2u);
  const auto pa = test_support::parameters_of(a), pb = test_support::parameters_of(b);
  EXPECT_EQ(pa, pb);

  TinyHopfield inner(scaled(1.5));
  ComplianceCounter adjustable(inner);
  present_xor(adjustable, -0.25);
  SecantHomeostat probing(automatic);
  const HomeostatReport rc = probing.hold(adjustable, target);
  EXPECT_TRUE(rc.converged);
  EXPECT_LE(rc.rounds, 4u);  // two cycles: the first lands 1.6e-7 off, the tolerance is 1e-8
  EXPECT_LT(rc.rounds, rb.rounds);
  EXPECT_GT(adjustable.changes, 0u);
}

TEST(SecantHomeostat, AProbeTooSoftForThePlantEndsAtItsLandingAndSaysSo) {
  // A forced ratio far too soft for the plant (a cycle gains about gain^2 / k): the cycles stop
  // gaining on a plant that amplifies, where the secant rounds cannot hold either. The hold ends
  // at the probe's landing, unconverged, instead of running away; `refuse` names the probe.
  TinyHopfield device(scaled(20.0));
  KnobRecorder recorded(device);
  present_xor(recorded, -0.25);
  const auto target = test_support::parameters_of(recorded);
  auto s = settings(40);
  s.probe = 3;
  SecantHomeostat secant(s);
  const HomeostatReport r = secant.hold(recorded, target);
  EXPECT_FALSE(r.converged);
  EXPECT_LE(r.rounds, 8u) << "it handed over to the secant rounds";
  EXPECT_NEAR(max_distance(test_support::parameters_of(recorded), target), r.max_error, 1e-12);
  EXPECT_EQ(recorded.outside, 0u);

  TinyHopfield again(scaled(20.0));
  present_xor(again, -0.25);
  auto refusing = s;
  refusing.limit = HoldLimitPolicy::refuse;
  SecantHomeostat strict(refusing);
  const std::string e = test_support::error_text<DeviceError>([&] { strict.hold(again, target); });
  EXPECT_THAT(e, HasSubstr("stiff probe at ratio 3 stopped gaining"));
  EXPECT_THAT(e, HasSubstr("trainer.feedback.probe"));
}
