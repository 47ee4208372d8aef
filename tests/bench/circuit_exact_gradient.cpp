// Not a test: the yardstick for training the circuit device. It trains the circuit of a config
// by plain SGD on the exact gradient of the loss (implicit differentiation through Kirchhoff's
// laws, which only a simulator can compute), with the learning rate AEqprop's step amounts to
// (compliance x (beta2 - beta1)), or on potentiometers EqProp's learning rates, and prints the test
// error after every epoch. scripts/ bench-circuit-training sets it beside `aeqlab train` with
// AEqprop and EqProp.
//
// Usage: aeqlab_circuit_exact_gradient CONFIG [key=value ...]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <random>

#include <nlohmann/json.hpp>

#include "core/cli/commands.hpp"
#include "core/cli/default_config.hpp"
#include "core/config.hpp"
#include "core/dataset.hpp"
#include "sim/circuit/circuit_device.hpp"

using namespace aeqlab;

namespace {

// A free relaxation with the conductances where they are: held natively on a relaxing circuit;
// potentiometers do not move anyway.
void hold(sim::CircuitDevice& device) {
  if (device.describe().capabilities.native_homeostasis)
    device.settle_homeostatic();
  else
    device.settle();
}

double test_error(sim::CircuitDevice& device, const Dataset& data, std::size_t batch) {
  std::vector<std::size_t> order(data.size());
  std::iota(order.begin(), order.end(), 0);
  std::vector<double> x, t, y;
  std::size_t errors = 0;
  for (std::size_t at = 0; at < order.size(); at += batch) {
    const std::size_t n = std::min(batch, order.size() - at);
    gather_batch(data, std::span(order).subspan(at, n), x, t);
    device.set_inputs(x, n);
    device.set_nudge(0.0, t);
    hold(device);
    y.resize(n * data.classes);
    device.read_outputs(y);
    for (std::size_t r = 0; r < n; ++r) {
      const auto row = y.begin() + std::ptrdiff_t(r * data.classes);
      const auto best =
          std::size_t(std::max_element(row, row + std::ptrdiff_t(data.classes)) - row);
      if (int(best) != data.labels[order[at + r]]) ++errors;
    }
  }
  return double(errors) / double(data.size());
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CONFIG [key=value ...]\n", argv[0]);
    return 2;
  }
  std::vector<std::string> settings(argv + 2, argv + argc);
  const auto config =
      resolve_config(cli::default_config(), std::filesystem::path(argv[1]), settings);
  const auto& trainer = config.at("trainer");
  const std::size_t batch = trainer.at("batch_size").get<std::size_t>();
  const std::size_t epochs = trainer.at("epochs").get<std::size_t>();
  const double beta = trainer.at("nudging").get<double>();
  const double decay = trainer.at("compliance_decay").get<double>();
  const double lr_decay = trainer.at("learning_rate_decay").get<double>();
  nlohmann::json section = config.at("device");
  section["replicas"] = batch;
  sim::CircuitDevice device(sim::circuit_spec_from_json(section));
  const Split split = cli::load_data(config.at("data"));
  const auto& d = device.describe();
  std::vector<double> theta(d.parameter_count()), rate, low, high;
  device.read_parameters(theta);
  // Potentiometers: trainer.learning_rates, as EqProp uses them (one, or one per group).
  const auto& rates = trainer.at("learning_rates");
  for (std::size_t k = 0; k < d.parameters.size(); ++k) {
    const auto& g = d.parameters[k];
    const double r = !d.capabilities.settable_parameters ? g.compliance * beta
                     : rates.is_array()                  ? rates.at(k).get<double>()
                                                         : rates.get<double>();
    rate.insert(rate.end(), g.channels.count, r);
    low.insert(low.end(), g.channels.count, g.channels.safe.low);
    high.insert(high.end(), g.channels.count, g.channels.safe.high);
  }
  std::mt19937_64 rng(trainer.at("seed").get<std::uint64_t>());
  std::vector<std::size_t> order(split.train.size());
  std::iota(order.begin(), order.end(), 0);
  std::vector<double> x, t, mean(theta.size());
  std::printf("epoch test_error seconds\n");
  for (std::size_t epoch = 1; epoch <= epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    std::shuffle(order.begin(), order.end(), rng);
    for (std::size_t at = 0; at < order.size(); at += batch) {
      const std::size_t n = std::min(batch, order.size() - at);
      gather_batch(split.train, std::span(order).subspan(at, n), x, t);
      device.set_inputs(x, n);
      device.set_nudge(0.0, t);
      hold(device);
      std::fill(mean.begin(), mean.end(), 0.0);
      for (std::size_t r = 0; r < n; ++r) {
        const auto g = device.loss_gradient(
            r, std::span(t).subspan(r * split.train.classes, split.train.classes));
        for (std::size_t k = 0; k < g.size(); ++k) mean[k] += g[k] / double(n);
      }
      for (std::size_t k = 0; k < theta.size(); ++k)
        theta[k] = std::clamp(theta[k] - rate[k] * mean[k], low[k], high[k]);
      device.write_parameters(theta);
    }
    for (auto& r : rate) r *= d.capabilities.settable_parameters ? lr_decay : decay;
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%zu %.4f %.1f\n", epoch, test_error(device, split.test, batch), seconds);
    std::fflush(stdout);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
