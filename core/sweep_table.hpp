#pragma once
// DIR/sweep.csv: one row per point of a sweep (docs/sweeps.md). Built from the point sessions on
// disk each time, so it is never ahead of them or behind them, and several writers (Slurm array
// tasks) cannot lose each other's points: each writes the whole table under a lock.

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/session_catalog.hpp"
#include "core/sweep_spec.hpp"

namespace aeqlab {

// Where one point stands: "pending" (no session yet), or its session's status (completed,
// aborted, failed, running, interrupted, unreadable).
struct PointState {
  std::string status = "pending";
  SessionInfo info;  // when a session exists
};

PointState read_point_state(const std::filesystem::path& sweep_dir, const SweepPoint& point);

// The table as text: header, then one row per point in listing order. `running` names the points
// this process runs now (its children may not hold their session's lock yet).
std::string sweep_table(const std::filesystem::path& sweep_dir, const SweepSpec& spec,
                        const std::vector<SweepPoint>& points,
                        const std::map<std::string, std::string>& status_override = {});

// Writes DIR/sweep.csv whole and atomically (a temporary file renamed over it), under an
// exclusive lock on DIR/.sweep.lock. Throws DataError naming the file when the disk refuses.
void write_sweep_table(const std::filesystem::path& sweep_dir, const std::string& table);

}  // namespace aeqlab
