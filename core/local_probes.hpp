#pragma once
// Local probes (capability local_probes): the quantity each parameter's energy term depends on,
// measured at the equilibrium of the last settle, and turned into dE/dtheta by the law the device
// declares. Contrasting two equilibria's dE/dtheta is what EqProp and coupled learning learn from;
// neither needs to know the physics behind the law.

#include <cstddef>
#include <span>
#include <vector>

#include "core/device.hpp"

namespace aeqlab {

// dE/dtheta_k = law(p_k).
double apply_probe_law(ProbeLaw law, double probe);

// Reads the probes of `replicas` replicas (replica after replica, one per parameter) and replaces
// each by its law, so `out` holds dE/dtheta per replica. A non-finite probe is a device fault.
void read_energy_gradients(Device& device, std::size_t replicas, std::vector<double>& out);

// out_k = mean over replicas of (second - first) for parameter k.
void mean_contrast(std::span<const double> second, std::span<const double> first,
                   std::size_t replicas, std::vector<double>& out);

}  // namespace aeqlab
