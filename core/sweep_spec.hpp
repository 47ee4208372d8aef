#pragma once
// A sweep: many ordinary sessions from one base config, over a grid of values, random draws and
// seeds (docs/sweeps.md). This part only reads the SPEC and lists the points; running them is the
// program's (core/cli/sweep_command.cpp).

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace aeqlab {

// One key drawn at random for each sample: uniformly in [low, high], or uniformly in log space.
struct RandomAxis {
  std::string key;
  bool log_uniform = false;
  double low = 0.0, high = 1.0;
};

struct SweepSpec {
  std::filesystem::path file;  // where it was read from (errors name it)
  nlohmann::json base;         // the base config object (a "file" base already read)
  std::vector<std::pair<std::string, std::vector<nlohmann::json>>> grid;  // in the SPEC's order
  std::vector<RandomAxis> random;
  std::size_t samples = 0;           // random draws per grid point (0: no random part)
  std::uint64_t random_seed = 0;     // the draws' own seed: a resumed sweep draws the same values
  std::vector<std::uint64_t> seeds;  // each sets trainer.seed and device.seed; empty: the base's

  // The swept keys, as sweep.csv's columns name them: grid keys, random keys, then "seed".
  std::vector<std::string> swept_keys() const;
};

struct SweepPoint {
  std::size_t index = 0;  // 0-based, the order of the listing (and of --index)
  std::string id;         // "p0003": the session folder's name under the sweep folder
  std::vector<std::pair<std::string, nlohmann::json>> values;  // swept_keys() order
  nlohmann::json overrides;  // {"dotted.key": value, ...} to apply to the base
};

// Reads a SPEC file; every error names the file and the key. Keys of the config it sweeps are
// checked later, against the config (check_sweep_points in the program), before anything runs.
SweepSpec read_sweep_spec(const std::filesystem::path& file);

// Every point: the grid's product (first key outermost), times the random samples, times the
// seeds (innermost). Deterministic: the same SPEC lists the same points with the same values.
std::vector<SweepPoint> sweep_points(const SweepSpec& spec);

// The base with the point's values set: `defaults` merged with the base (a device section of
// another type replaces the default one whole, as for a --config file), then each dotted key set.
// Throws ConfigError naming the SPEC file and the key when a key does not fit the config.
nlohmann::json point_config(const SweepSpec& spec, const SweepPoint& point,
                            const nlohmann::json& defaults);

}  // namespace aeqlab
