#pragma once
// The subcommands of the `aeqlab` program. Each returns the process exit status.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/dataset.hpp"
#include "core/device.hpp"
#include "core/training_run.hpp"

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
  // From Python (core/python, docs/python.md): the config already resolved, instead of
  // --config/--set; and a device built by the caller, instead of the config's device section
  // (which the caller has set to what the session should record).
  std::optional<nlohmann::json> resolved_config;
  Device* device = nullptr;
};

struct TrainOutcome {
  RunResult result;
  std::filesystem::path session;  // empty when there was nothing to resume
  int exit_status = 0;            // what `aeqlab train` exits with
};

// The `train` job as a function: the session it wrote and how the run ended.
TrainOutcome train_session(const TrainOptions& options);
int train_command(const TrainOptions& options);

// Evaluates a session's parameters.f64 on its data (on `device` when given, else on the device
// its config names; `bench` re-points the session's recorded bench at the addresses of this bench
// file): train/test error and cost, as `aeqlab eval` prints them.
nlohmann::json evaluate_session(const std::filesystem::path& session_dir,
                                const std::vector<std::string>& settings, Device* device = nullptr,
                                const std::optional<std::filesystem::path>& bench = std::nullopt);
int eval_command(const std::filesystem::path& session_dir, const std::vector<std::string>& settings,
                 const std::optional<std::filesystem::path>& bench = std::nullopt);
int print_default_config();

// The data set a config's `data` section names; errors name the key or the file.
Split load_data(const nlohmann::json& data);

}  // namespace aeqlab::cli
