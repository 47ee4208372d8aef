#pragma once
// The physical description of a layered Hopfield network (docs/hopfield-device.md): what a lab
// would write down about the device, kept free of any linear-algebra header so that it can be
// included anywhere.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace aeqlab::sim {

struct Interval {
  double low = 0.0;
  double high = 1.0;
};

struct HopfieldSpec {
  std::vector<std::size_t> layers{784, 256, 10};             // input first, output last
  std::vector<Interval> intervals{{0.0, 1.0}, {-1.0, 2.0}};  // one per non-input layer
  std::vector<double> gains{0.8, 1.2};                       // weight init scale, one per edge
  std::vector<double> weight_compliance{0.1, 0.05};          // epsilon per edge
  std::vector<double> bias_compliance{0.02, 0.01};           // epsilon per non-input layer
  double threshold = 1e-3;  // a sweep that moves every layer by less than this (L1) has settled
  std::size_t max_iterations = 100;
  // Parameter steps per free-knob settle: 1 = slow parameters, one step once the states have
  // settled (the authors' regime); 0 = relax jointly with the states to the joint minimum.
  std::size_t parameter_sweeps = 1;
  std::size_t replicas = 32;
  std::uint64_t seed = 1;
  bool double_precision = false;
  // CPU threads for the simulation; 0 = "auto": chosen from the work per sweep and the cores this
  // process may use (sim/hopfield/thread_choice.hpp). Any count gives the same bits.
  std::size_t threads = 0;
  bool sparse_inputs = true;  // go through the inputs' nonzeros when they are few (same result)
  Interval input_range{0.0, 1.0};
  double parameter_limit = 100.0;  // safe range of knobs and parameters: [-limit, limit]

  std::size_t edges() const { return layers.size() - 1; }
  std::string name() const;
  void validate() const;  // throws ConfigError naming the key
};

// Reads the `device` section of a config (type "hopfield"); unknown keys are errors.
HopfieldSpec hopfield_spec_from_json(const nlohmann::json& device);
nlohmann::json hopfield_spec_to_json(const HopfieldSpec& spec);

}  // namespace aeqlab::sim
