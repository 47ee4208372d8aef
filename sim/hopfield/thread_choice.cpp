#include "sim/hopfield/thread_choice.hpp"

#include <algorithm>

#include "core/cpu_cores.hpp"

namespace aeqlab::sim {

namespace {
// Multiply-adds of one sweep that a thread needs before a split pays for the barrier after each
// sweep and the wake-up of each relaxation: about 15 µs of one core's work, ten times a barrier's
// cost on free cores. An estimate, not yet measured on free cores (docs/hopfield-device.md §8).
constexpr double kWorkPerThread = 400e3;
}  // namespace

std::size_t choose_threads(const HopfieldSpec& spec, std::size_t cores, std::size_t ranks_here) {
  if (spec.threads != 0) return spec.threads;
  const std::size_t share = std::max<std::size_t>(1, cores / std::max<std::size_t>(1, ranks_here));
  return std::min(share, threads_worth(spec));
}

std::size_t choose_threads_here(const HopfieldSpec& spec, std::size_t ranks_here) {
  if (spec.threads != 0) return spec.threads;
  return threads_worth(spec) > 1 ? choose_threads(spec, cores_idle(), ranks_here) : 1;
}

std::size_t threads_worth(const HopfieldSpec& spec) {
  const std::size_t unit = row_unit(spec.double_precision);
  const std::size_t blocks = (spec.replicas + unit - 1) / unit;
  // One sweep: every non-input layer's drive from its neighbours (each weight twice, once per
  // direction) and its settle pass; the input layer's drive is formed once per relaxation.
  double per_replica = 0.0;
  for (std::size_t k = 1; k + 1 < spec.layers.size(); ++k)
    per_replica += 2.0 * double(spec.layers[k]) * double(spec.layers[k + 1]);
  for (std::size_t l = 1; l < spec.layers.size(); ++l) per_replica += double(spec.layers[l]);
  const double work = per_replica * double(spec.replicas);
  const auto by_work = std::size_t(std::max(1.0, work / kWorkPerThread));
  return std::max<std::size_t>(1, std::min({blocks, by_work, std::size_t(64)}));
}

}  // namespace aeqlab::sim
