// The simulated Hopfield device keeps the contract: refusals before anything is applied, the
// shortcuts it takes give the same physics, safe state, settle reports.

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "../../core/test_support.hpp"
#include "core/aeqprop_trainer.hpp"
#include "core/error.hpp"
#include "core/homeostat.hpp"
#include "sim/hopfield/hopfield_device.hpp"

using namespace aeqlab;

namespace {

sim::HopfieldSpec spec_784() {
  sim::HopfieldSpec s;
  s.layers = {784, 32, 10};
  s.replicas = 16;
  s.double_precision = true;
  return s;
}

// Digit-like inputs: three quarters exactly zero, the rest in (0, 1].
std::vector<double> sparse_inputs(std::size_t rows, std::size_t cols, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> x(rows * cols);
  for (auto& v : x) v = u(rng) < 0.75 ? 0.0 : u(rng);
  return x;
}

std::vector<double> one_hot(std::size_t rows, std::size_t classes) {
  std::vector<double> t(rows * classes, 0.0);
  for (std::size_t r = 0; r < rows; ++r) t[r * classes + r % classes] = 1.0;
  return t;
}

std::string message_of(const std::function<void()>& f) {
  return test_support::error_text(f);
}

}  // namespace

TEST(HopfieldDevice, SparseInputPathGivesTheSameTraining) {
  auto dense_spec = spec_784();
  dense_spec.sparse_inputs = false;
  sim::HopfieldDevice sparse(spec_784()), dense(dense_spec);
  NativeHomeostat h1, h2;
  AeqpropTrainer a(sparse, h1, {}), b(dense, h2, {});
  const auto t = one_hot(16, 10);
  const std::vector<int> labels(16, 0);
  for (std::uint64_t batch = 0; batch < 5; ++batch) {
    const auto x = sparse_inputs(16, 784, batch);
    a.step(x, t, labels, 16);
    b.step(x, t, labels, 16);
  }
  const auto n = sparse.describe().parameter_count();
  std::vector<double> pa(n), pb(n), ka(n), kb(n);
  sparse.read_parameters(pa);
  dense.read_parameters(pb);
  sparse.read_knobs(ka);
  dense.read_knobs(kb);
  double worst = 0, moved = 0;
  for (std::size_t i = 0; i < n; ++i) {
    worst = std::max({worst, std::abs(pa[i] - pb[i]), std::abs(ka[i] - kb[i])});
    moved = std::max(moved, std::abs(pa[i] - ka[i]));
  }
  EXPECT_LT(worst, 1e-12);
  EXPECT_GT(moved, 1e-6) << "the steps should have moved the parameters away from the knobs";
}

TEST(HopfieldDevice, RefusesOutOfRangeValuesNamingTheChannelAndAppliesNothing) {
  sim::HopfieldDevice device(spec_784());
  const auto& d = device.describe();
  std::vector<double> knobs(d.knob_count());
  device.read_knobs(knobs);
  const std::vector<double> before = knobs;
  knobs[5] = 1e6;  // far outside parameter_limit
  const auto text = message_of([&] { device.set_knobs(knobs); });
  EXPECT_NE(text.find("u_W0[5]"), std::string::npos) << text;
  std::vector<double> after(d.knob_count());
  device.read_knobs(after);
  EXPECT_EQ(after, before);

  auto x = sparse_inputs(16, 784, 1);
  x[784 * 3 + 7] = 1.5;  // inputs live in [0, 1]
  const auto input_text = message_of([&] { device.set_inputs(x, 16); });
  EXPECT_NE(input_text.find("x["), std::string::npos) << input_text;
  x[784 * 3 + 7] = std::nan("");
  EXPECT_THROW(device.set_inputs(x, 16), SafeRangeError);

  x[784 * 3 + 7] = 0.5;
  device.set_inputs(x, 16);
  EXPECT_THROW(device.set_nudge(-2.0, one_hot(16, 10)), SafeRangeError);
  auto t = one_hot(16, 10);
  t[3] = 7.0;  // the outputs live in [-1, 2]
  const auto target_text = message_of([&] { device.set_nudge(0.5, t); });
  EXPECT_NE(target_text.find("y[3]"), std::string::npos) << target_text;
  EXPECT_THROW(device.set_inputs(std::vector<double>(10), 16), DeviceError);
}

TEST(HopfieldDevice, SettleReportsConvergenceAndSafeStateIsCounted) {
  sim::HopfieldDevice device(spec_784());
  device.set_inputs(sparse_inputs(16, 784, 2), 16);
  device.set_nudge(0.0, one_hot(16, 10));
  const auto held = device.settle_homeostatic();
  EXPECT_TRUE(held.converged);
  EXPECT_GE(held.iterations, 2u);
  EXPECT_LT(held.residual, device.spec().threshold);
  const auto free = device.settle();
  EXPECT_TRUE(free.converged);
  EXPECT_EQ(device.safe_state_count(), 0u);
  device.safe_state();
  EXPECT_EQ(device.safe_state_count(), 1u);
}

TEST(HopfieldDevice, NativeHomeostasisHoldsTheParameters) {
  auto spec = spec_784();
  spec.threshold = 1e-12;  // settle all the way, so "still" can be checked tightly
  spec.max_iterations = 10000;
  sim::HopfieldDevice device(spec);
  const auto n = device.describe().parameter_count();
  std::vector<double> before(n), after(n);
  device.read_parameters(before);
  device.set_inputs(sparse_inputs(16, 784, 3), 16);
  device.set_nudge(-0.25, one_hot(16, 10));
  device.settle_homeostatic();
  device.read_parameters(after);
  EXPECT_EQ(before, after);
  // ...and leaves the knobs where a free settle at the same nudge keeps them still.
  device.settle();
  device.read_parameters(after);
  double worst = 0;
  for (std::size_t i = 0; i < n; ++i) worst = std::max(worst, std::abs(after[i] - before[i]));
  EXPECT_LT(worst, 1e-9);
}

class Threads : public ::testing::TestWithParam<std::tuple<bool, std::size_t>> {};

TEST_P(Threads, TrainBitForBitLikeOne) {
  // Threads split the replicas in blocks of whole 64-byte rows and the products with the inputs
  // in whole 16-column blocks, and apply the whole batch's stopping rule after every sweep: the
  // count is a speed setting only, so "auto" may pick any count without changing a bit. Three
  // layers of states, a batch that is not a whole number of blocks, and a partial batch.
  const auto [double_precision, threads] = GetParam();
  sim::HopfieldSpec one;
  one.layers = {784, 40, 24, 10};
  one.intervals = {{0.0, 1.0}, {0.0, 1.0}, {-1.0, 2.0}};
  one.gains = {0.8, 1.0, 1.2};
  one.weight_compliance = {0.1, 0.07, 0.05};
  one.bias_compliance = {0.02, 0.015, 0.01};
  one.replicas = 40;
  one.double_precision = double_precision;
  one.threads = 1;
  auto many = one;
  many.threads = threads;
  sim::HopfieldDevice a(one), b(many);
  NativeHomeostat h1, h2;
  AeqpropTrainer ta(a, h1, {}), tb(b, h2, {});
  const auto t = one_hot(40, 10);
  const std::vector<int> labels(40, 0);
  std::size_t sweeps_a = 0, sweeps_b = 0;
  for (std::uint64_t batch = 0; batch < 5; ++batch) {
    const std::size_t n = batch % 2 ? 40 : 23;
    const auto x = sparse_inputs(n, 784, batch + 10);
    const std::vector<double> tt(t.begin(), t.begin() + std::ptrdiff_t(n * 10));
    const auto ra = ta.step(x, tt, std::span<const int>(labels.data(), n), n);
    const auto rb = tb.step(x, tt, std::span<const int>(labels.data(), n), n);
    sweeps_a += ra.free_knob.iterations;
    sweeps_b += rb.free_knob.iterations;
  }
  EXPECT_EQ(sweeps_a, sweeps_b);
  const auto count = a.describe().parameter_count();
  std::vector<double> pa(count), pb(count);
  a.read_parameters(pa);
  b.read_parameters(pb);
  EXPECT_EQ(0, std::memcmp(pa.data(), pb.data(), count * sizeof(double)));
  std::vector<double> oa(23 * 10), ob(23 * 10);  // the last batch was a partial one
  a.read_outputs(oa);
  b.read_outputs(ob);
  EXPECT_EQ(0, std::memcmp(oa.data(), ob.data(), oa.size() * sizeof(double)));
}

INSTANTIATE_TEST_SUITE_P(Hopfield, Threads,
                         ::testing::Combine(::testing::Bool(),
                                            ::testing::Values(std::size_t{2}, std::size_t{3})),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) ? "float64" : "float32") +
                                  "_threads" + std::to_string(std::get<1>(info.param));
                         });
