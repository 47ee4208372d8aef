#pragma once
// The compliances of a layered network, as its device section gives them: one per edge for the
// weights, one per non-input layer for the biases, none negative. Shared by every layered physics
// (the Hopfield network, the circuit), so their configs are refused in the same words.

#include <cstddef>
#include <string>
#include <vector>

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"

namespace aeqlab {

inline void require_layer_compliances(const std::vector<double>& weights,
                                      const std::vector<double>& biases, std::size_t edges) {
  auto fail = [](const char* key, const std::string& why) {
    throw ConfigError(fmt::format("device.{}: {}", key, why));
  };
  if (weights.size() != edges)
    fail("compliance.weights", fmt::format("needs one compliance per edge ({})", edges));
  if (biases.size() != edges)
    fail("compliance.biases", fmt::format("needs one compliance per non-input layer ({})", edges));
  // The stated range (docs/config-reference.md): beyond 1e6 a compliance times a nudged output
  // is no longer a force the physics can settle, only an overflow waiting to happen.
  constexpr double kMaxCompliance = 1e6;
  for (double c : weights)
    if (!(c >= 0 && c <= kMaxCompliance))
      fail("compliance.weights",
           fmt::format("each compliance must lie in [0, {}], got {}", kMaxCompliance, c));
  for (double c : biases)
    if (!(c >= 0 && c <= kMaxCompliance))
      fail("compliance.biases",
           fmt::format("each compliance must lie in [0, {}], got {}", kMaxCompliance, c));
}

}  // namespace aeqlab
