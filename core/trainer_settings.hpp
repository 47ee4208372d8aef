#pragma once
// The `trainer` section of a config: which learning rule, and its settings.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace aeqlab {

struct TrainerSettings {
  std::string algorithm = "aeqprop";  // aeqprop, eqprop, coupled or spsa
  std::string mode = "centered";
  double nudging = 0.5;
  std::size_t epochs = 1;
  std::size_t batch_size = 32;
  double compliance_decay = 1.0;  // aeqprop
  std::string homeostat = "auto";
  double feedback_gain = 1.0;
  double feedback_tolerance = 1e-6;
  std::size_t feedback_max_rounds = 100;
  std::uint64_t seed = 1;
  bool shuffle = true;
  bool score_batches = true;
  // The rules that set the parameters (eqprop, coupled, spsa): one rate per parameter group, or
  // one for all, and their per-epoch decay.
  std::vector<double> learning_rates{0.05};
  double learning_rate_decay = 1.0;
  double coupled_amplitude = 0.5;
  double coupled_clamp_strength = 5.0;
  double spsa_perturbation = 1e-3;  // fraction of each parameter's safe-range width
};

// Reads and checks the `trainer` section; errors name the key.
TrainerSettings trainer_settings_from(const nlohmann::json& trainer);

}  // namespace aeqlab
