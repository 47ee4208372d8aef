#pragma once
// The subcommands of the `aeqlab` program. Each returns the process exit status.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/dataset.hpp"

namespace aeqlab::cli {

struct TrainOptions {
  std::optional<std::filesystem::path> config;
  std::vector<std::string> settings;
  std::optional<std::filesystem::path> out;
  std::optional<std::filesystem::path> resume;     // continue this session from its checkpoint
  std::optional<std::filesystem::path> bench;      // train on this bench instead of config's device
  std::optional<std::filesystem::path> init_from;  // start from this session's final parameters
  // With resume: extend the session to this many epochs in all (a completed one too).
  std::optional<std::size_t> extend_to;
};

int train_command(const TrainOptions& options);
// `bench`: re-point the session's recorded bench at the addresses of this bench file.
int eval_command(const std::filesystem::path& session_dir, const std::vector<std::string>& settings,
                 const std::optional<std::filesystem::path>& bench = std::nullopt);
int print_default_config();

// The data set a config's `data` section names; errors name the key or the file.
Split load_data(const nlohmann::json& data);

}  // namespace aeqlab::cli
