#pragma once
// `aeqlab sweep SPEC --out DIR`: every point of a sweep as an ordinary session under DIR, run by a
// local pool of child processes, by the ranks of an MPI job, or one point per Slurm array task
// (docs/sweeps.md).

#include <cstddef>
#include <filesystem>
#include <optional>

namespace aeqlab::cli {

struct SweepOptions {
  std::filesystem::path spec;
  std::filesystem::path out;
  std::size_t jobs = 1;              // points at once on this machine (local pool)
  std::optional<std::size_t> index;  // run only this point (a Slurm array task)
  bool check_only = false;           // check the SPEC and list the points, run nothing
};

// Returns the exit status: 0 when every point this process was to run completed, 1 when a point
// failed, 128 + signal when stopped.
int sweep_command(const SweepOptions& options);

}  // namespace aeqlab::cli
