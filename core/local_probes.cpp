#include "core/local_probes.hpp"

#include <cmath>

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"

namespace aeqlab {

double apply_probe_law(ProbeLaw law, double probe) {
  switch (law) {
    case ProbeLaw::half_square:
      return 0.5 * probe * probe;
    case ProbeLaw::identity:
      break;
  }
  return probe;
}

void read_energy_gradients(Device& device, std::size_t replicas, std::vector<double>& out) {
  const auto& d = device.describe();
  const std::size_t n = d.parameter_count();
  out.resize(replicas * n);
  device.read_probes(out);
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(out[i])) {
      std::size_t k = i % n, g = 0;
      while (k >= d.parameters[g].channels.count) k -= d.parameters[g++].channels.count;
      throw DeviceError(fmt::format("{}: the probe of parameter {}[{}] in replica {} read {}",
                                    d.model, d.parameters[g].channels.name, k, i / n, out[i]));
    }
    out[i] = apply_probe_law(d.probes.law, out[i]);
  }
}

void mean_contrast(std::span<const double> second, std::span<const double> first,
                   std::size_t replicas, std::vector<double>& out) {
  const std::size_t n = replicas ? second.size() / replicas : 0;
  out.assign(n, 0.0);
  for (std::size_t r = 0; r < replicas; ++r)
    for (std::size_t k = 0; k < n; ++k) out[k] += second[r * n + k] - first[r * n + k];
  const double inv = replicas ? 1.0 / double(replicas) : 0.0;
  for (auto& v : out) v *= inv;
}

}  // namespace aeqlab
