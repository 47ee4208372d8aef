// The AEqprop step measured against the exact gradient of the loss at the free equilibrium
// (docs/algorithm.md): the parameter change of one step, divided by -eps (beta2 - beta1), must
// point along dL/dtheta, through both feedback homeostats (proportional and secant) and through
// native homeostasis alike.

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include <gtest/gtest.h>
#include <Eigen/SVD>

#include "core/aeqprop_trainer.hpp"
#include "core/homeostat.hpp"
#include "core/secant_homeostat.hpp"
#include "sim/hopfield/hopfield_device.hpp"
#include "sim/hopfield/hopfield_network.hpp"

using namespace aeqlab;
using aeqlab::sim::HopfieldDevice;
using aeqlab::sim::HopfieldNetwork;
using aeqlab::sim::HopfieldSpec;

namespace {

constexpr std::size_t kReplicas = 8;

HopfieldSpec small_spec(std::size_t parameter_sweeps) {
  HopfieldSpec s;
  s.layers = {20, 16, 4};
  s.intervals = {{0.0, 1.0}, {-1.0, 2.0}};
  // Gains small enough that |W1| < 1: the energy is convex in the states, the equilibrium unique.
  s.gains = {0.8, 0.8};
  // Different compliances per group: the check divides each group's change by its own.
  s.weight_compliance = {2e-4, 1e-4};
  s.bias_compliance = {1e-4, 5e-5};
  s.threshold = 1e-14;
  s.max_iterations = 100000;
  s.replicas = kReplicas;
  s.seed = 11;
  s.double_precision = true;
  s.parameter_sweeps = parameter_sweeps;
  return s;
}

struct Problem {
  std::vector<double> x, t;
};

Problem random_problem() {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  Problem p;
  for (std::size_t i = 0; i < kReplicas * 20; ++i) p.x.push_back(u01(rng));
  for (std::size_t r = 0; r < kReplicas; ++r)
    for (std::size_t c = 0; c < 4; ++c) p.t.push_back(c == r % 4 ? 1.0 : 0.0);
  return p;
}

// The check point: the initial weights with the hidden biases at mid-interval, so that the free
// equilibrium lies inside the box, where the loss is smooth and the theorem exact, rather than on
// its faces, where a nudge flips units between clamped and free.
constexpr double kHiddenBias = 0.5;
constexpr std::size_t kHiddenBiasGroup = 2;  // W0, W1, then b1

// dL/dtheta at the free equilibrium, by central differences of the equilibrium loss.
std::vector<double> exact_gradient(const HopfieldSpec& spec, const Problem& p) {
  HopfieldNetwork<double> net(spec);
  std::vector<std::vector<double>> groups(net.groups());
  for (std::size_t g = 0; g < net.groups(); ++g) {
    groups[g].resize(net.group_size(g));
    net.read_parameters(g, groups[g].data());
  }
  std::fill(groups[kHiddenBiasGroup].begin(), groups[kHiddenBiasGroup].end(), kHiddenBias);
  net.write_parameters(kHiddenBiasGroup, groups[kHiddenBiasGroup].data());
  auto loss = [&] {
    net.reset_states();
    net.set_inputs(p.x.data(), kReplicas);
    net.set_nudge(0.0, p.t.data());
    const auto r = net.relax_holding_parameters();
    EXPECT_TRUE(r.converged);
    return net.cost();
  };
  const double h = 1e-6;
  std::vector<double> grad;
  for (std::size_t g = 0; g < net.groups(); ++g) {
    for (std::size_t i = 0; i < groups[g].size(); ++i) {
      const double keep = groups[g][i];
      groups[g][i] = keep + h;
      net.write_parameters(g, groups[g].data());
      const double up = loss();
      groups[g][i] = keep - h;
      net.write_parameters(g, groups[g].data());
      const double down = loss();
      groups[g][i] = keep;
      net.write_parameters(g, groups[g].data());
      grad.push_back((up - down) / (2 * h));
    }
  }
  return grad;
}

struct Comparison {
  double cosine, norm_ratio, relative_error;
};

Comparison compare(const std::vector<double>& estimate, const std::vector<double>& exact) {
  double dot = 0, ne = 0, nx = 0, diff = 0;
  for (std::size_t i = 0; i < exact.size(); ++i) {
    dot += estimate[i] * exact[i];
    ne += estimate[i] * estimate[i];
    nx += exact[i] * exact[i];
    diff += (estimate[i] - exact[i]) * (estimate[i] - exact[i]);
  }
  return {dot / std::sqrt(ne * nx), std::sqrt(ne / nx), std::sqrt(diff / nx)};
}

enum class Hold { native, proportional, secant, probe, auto_probe };

// One AEqprop step through the device contract; returns -(theta' - theta) / (eps (b2 - b1)).
std::vector<double> aeqprop_estimate(const HopfieldSpec& spec, const Problem& p, NudgingMode mode,
                                     double beta, Hold hold, double tolerance = 1e-13) {
  HopfieldDevice device(spec);
  const auto& d = device.describe();
  std::vector<double> before(d.parameter_count()), after(d.parameter_count());
  device.read_parameters(before);
  const std::size_t hidden_at = d.parameters[0].channels.count + d.parameters[1].channels.count;
  std::fill_n(before.begin() + hidden_at, d.parameters[2].channels.count, kHiddenBias);
  device.write_parameters(before);
  NativeHomeostat native;
  FeedbackHomeostat loop({1.0, 1e-13, 1000});
  SecantHomeostat secant({1.0, 1e-13, 1000});
  FeedbackSettings stiff{1.0, 1e-13, 1000};
  stiff.probe = 1e4;  // the stiff probe (docs/algorithm.md §4.2)
  SecantHomeostat probe(stiff);
  FeedbackSettings automatic{1.0, tolerance, 1000};
  automatic.probe_auto = true;  // trainer.feedback.probe "auto", the default
  SecantHomeostat auto_probe(automatic);
  Homeostat& homeostat = hold == Hold::native         ? static_cast<Homeostat&>(native)
                         : hold == Hold::proportional ? static_cast<Homeostat&>(loop)
                         : hold == Hold::secant       ? static_cast<Homeostat&>(secant)
                         : hold == Hold::probe        ? static_cast<Homeostat&>(probe)
                                                      : static_cast<Homeostat&>(auto_probe);
  AeqpropSettings settings;
  settings.mode = mode;
  settings.beta = beta;
  settings.score_batches = false;
  AeqpropTrainer trainer(device, homeostat, settings);
  const StepReport r = trainer.step(p.x, p.t, {}, kReplicas);
  EXPECT_TRUE(r.homeostatic.converged);
  EXPECT_TRUE(r.free_knob.converged);
  device.read_parameters(after);
  const auto n = nudgings_for(mode, beta);
  std::vector<double> estimate(before.size());
  std::size_t at = 0;
  for (const auto& group : d.parameters)
    for (std::size_t i = 0; i < group.channels.count; ++i, ++at)
      estimate[at] = -(after[at] - before[at]) / (group.compliance * (n.second - n.first));
  return estimate;
}

class GradientCheck : public ::testing::TestWithParam<std::size_t> {
 protected:
  static void SetUpTestSuite() {
    problem_ = new Problem(random_problem());
    exact_ = new std::vector<double>(exact_gradient(small_spec(1), *problem_));
  }
  static void TearDownTestSuite() {
    delete problem_;
    delete exact_;
  }
  static Problem* problem_;
  static std::vector<double>* exact_;
};
Problem* GradientCheck::problem_ = nullptr;
std::vector<double>* GradientCheck::exact_ = nullptr;

std::string sweeps_name(const ::testing::TestParamInfo<std::size_t>& info) {
  return info.param == 0 ? "JointRelaxation" : "SlowParameters";
}

}  // namespace

TEST_P(GradientCheck, CenteredStepFollowsTheExactGradient) {
  const HopfieldSpec spec = small_spec(GetParam());
  {
    HopfieldNetwork<double> net(spec);
    const double top = Eigen::JacobiSVD<Eigen::MatrixXd>(net.weight(1)).singularValues()(0);
    ASSERT_LT(top, 0.95) << "the check point must have a unique equilibrium";
  }
  double norm = 0;
  for (double g : *exact_) norm += g * g;
  ASSERT_GT(norm, 1e-8) << "the problem has no gradient to check";
  for (const double beta : {0.01, 0.1, 0.5}) {
    const auto estimate = [&](Hold hold) {
      return compare(aeqprop_estimate(spec, *problem_, NudgingMode::centered, beta, hold), *exact_);
    };
    const auto native = estimate(Hold::native), feedback = estimate(Hold::proportional),
               secant = estimate(Hold::secant), probe = estimate(Hold::probe),
               automatic = estimate(Hold::auto_probe);
    std::printf(
        "beta=%.2f native: cosine %.6f norm ratio %.4f | proportional: cosine %.6f norm ratio "
        "%.4f | secant: cosine %.6f norm ratio %.4f | probe: cosine %.6f norm ratio %.4f | auto "
        "probe: cosine %.6f norm ratio %.4f\n",
        beta, native.cosine, native.norm_ratio, feedback.cosine, feedback.norm_ratio, secant.cosine,
        secant.norm_ratio, probe.cosine, probe.norm_ratio, automatic.cosine, automatic.norm_ratio);
    // The homeostats hold the same parameters, so they must give the same step.
    for (const auto& c : {feedback, secant, probe, automatic}) {
      EXPECT_NEAR(native.cosine, c.cosine, 1e-6);
      EXPECT_NEAR(native.norm_ratio, c.norm_ratio, 1e-5);
    }
    for (const auto& c : {native, feedback, secant, probe, automatic}) {
      if (beta <= 0.1) {
        EXPECT_GE(c.cosine, 0.999) << "beta " << beta;
        EXPECT_NEAR(c.norm_ratio, 1.0, 0.02) << "beta " << beta;
      } else {
        EXPECT_GE(c.cosine, 0.99) << "beta " << beta;
        EXPECT_NEAR(c.norm_ratio, 1.0, 0.2) << "beta " << beta;
      }
    }
  }
}

TEST_P(GradientCheck, CenteredRemovesTheFirstOrderBiasOfTheOneSidedModes) {
  const HopfieldSpec spec = small_spec(GetParam());
  const double beta = 0.5;
  const auto c = aeqprop_estimate(spec, *problem_, NudgingMode::centered, beta, Hold::native);
  const auto o = aeqprop_estimate(spec, *problem_, NudgingMode::optimistic, beta, Hold::native);
  const auto p = aeqprop_estimate(spec, *problem_, NudgingMode::pessimistic, beta, Hold::native);
  const auto centered = compare(c, *exact_), optimistic = compare(o, *exact_),
             pessimistic = compare(p, *exact_);
  std::printf("beta=0.5 relative error: centered %.4f optimistic %.4f pessimistic %.4f\n",
              centered.relative_error, optimistic.relative_error, pessimistic.relative_error);
  EXPECT_LT(centered.relative_error, optimistic.relative_error);
  EXPECT_LT(centered.relative_error, pessimistic.relative_error);
  // The one-sided biases are +/- (beta/2) times the same first-order term: seen from the
  // centered estimate, the optimistic and pessimistic ones lie in opposite directions.
  std::vector<double> to_o(c.size()), to_p(c.size());
  for (std::size_t i = 0; i < c.size(); ++i) {
    to_o[i] = o[i] - c[i];
    to_p[i] = p[i] - c[i];
  }
  EXPECT_LT(compare(to_o, to_p).cosine, -0.5);  // -0.61 measured: O(beta^2) terms at beta = 0.5
}

INSTANTIATE_TEST_SUITE_P(Hopfield, GradientCheck, ::testing::Values(std::size_t{1}, std::size_t{0}),
                         sweeps_name);

// On the float32 device (the default precision) the stiff probe's landing is limited by the
// read-out (k times a float32 step, docs/algorithm.md §4.2). At these small compliances the loop
// gain is far below 1, so the secant rounds refine the landing, and the step is native's.
TEST(GradientCheckFloat32, TheAutomaticProbeGivesNativesStep) {
  const Problem p = random_problem();
  for (const double scale : {1.0, 100.0}) {
    HopfieldSpec s = small_spec(1);
    for (auto& e : s.weight_compliance) e *= scale;
    for (auto& e : s.bias_compliance) e *= scale;
    const auto exact = exact_gradient(s, p);
    s.double_precision = false;
    s.threshold = 1e-6;
    const auto native =
        compare(aeqprop_estimate(s, p, NudgingMode::centered, 0.1, Hold::native), exact);
    // A tolerance float32 can reach: about two steps of these weights (|W| < 0.3).
    const auto automatic =
        compare(aeqprop_estimate(s, p, NudgingMode::centered, 0.1, Hold::auto_probe, 3e-8), exact);
    std::printf(
        "float32, compliances x%g: native cosine %.6f norm ratio %.4f | auto probe cosine "
        "%.6f norm ratio %.4f\n",
        scale, native.cosine, native.norm_ratio, automatic.cosine, automatic.norm_ratio);
    for (const auto& c : {native, automatic}) {
      EXPECT_GE(c.cosine, 0.999) << "x" << scale;
      EXPECT_NEAR(c.norm_ratio, 1.0, 0.02) << "x" << scale;
    }
    EXPECT_NEAR(automatic.cosine, native.cosine, 1e-5) << "x" << scale;
  }
}
