#pragma once
// Reading past sessions back: what `aeqlab sessions` lists. Tolerant by design: a session folder
// may be half written (a crash, a second Ctrl-C, a run still going), and one damaged session must
// never stop the listing of the others. What could not be read is named in `warnings`.

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/run_status.hpp"

namespace aeqlab {

struct SessionInfo {
  std::filesystem::path dir;
  // completed, aborted, failed (from summary.json, or the final run_stop event when summary.json
  // is missing or damaged), running (a live process holds DIR/.lock), interrupted (the process
  // died mid-run: resumable with `aeqlab train --resume DIR`), or unreadable.
  RunStatus status = RunStatus::interrupted;
  std::string started;  // run_start's "time" (ISO 8601 UTC), empty if unknown
  std::string device;
  std::size_t epochs_done = 0, epochs_total = 0;  // epochs_total 0: unknown
  std::optional<double> test_error, train_error, samples_per_second, wall_seconds;
  std::string reason;
  std::string operator_name, sample, notes;  // config.json's session section, empty if none
  std::optional<std::size_t> checkpoint;     // highest checkpoints/NNNNNN/
  std::vector<std::string> warnings;         // each names its file (and line)
};

// True if `dir` holds events.jsonl or summary.json.
bool is_session_dir(const std::filesystem::path& dir);

// Reads one session folder. Never throws for damaged contents; those become warnings.
SessionInfo read_session_info(const std::filesystem::path& dir);

// The sessions directly under `root` (its subfolders that are session folders), sorted by start
// time, then name; sessions with no known start time come last. Throws ConfigError if `root` does
// not exist or is not a folder.
std::vector<SessionInfo> list_sessions(const std::filesystem::path& root);

// One JSON object for scripts: every field, null where absent.
nlohmann::json to_json(const SessionInfo& info);

// True if some open file description holds a lock on `lock_file` that excludes a shared one: a
// live training run holds LOCK_EX on DIR/.lock. False if the file does not exist.
bool is_lock_held(const std::filesystem::path& lock_file);

}  // namespace aeqlab
