#pragma once
// One point of a sweep as a child process of this very program: `aeqlab train --config ... --out
// DIR/<id>`, or `aeqlab train --resume DIR/<id>` for a session that was interrupted
// (docs/sweeps.md). The child is a plain run even when this process is an MPI rank.

#include <sys/types.h>

#include <filesystem>
#include <optional>

#include "core/sweep_spec.hpp"

namespace aeqlab::cli {

class PointChild {
 public:
  // Starts the point's session (or resumes it); its console goes to DIR/logs/<id>.txt. `cores`:
  // how many of this machine's cores the point may count on (AEQLAB_CORES), 0 = all it sees.
  PointChild(const std::filesystem::path& sweep_dir, const SweepPoint& point,
             std::size_t cores = 0);
  PointChild(const PointChild&) = delete;
  PointChild& operator=(const PointChild&) = delete;
  ~PointChild();  // asks a child still running to stop, and waits for it

  const SweepPoint& point() const { return point_; }
  // Its exit status once it has ended (128 + signal if killed), without waiting.
  std::optional<int> poll();
  // Asks it to stop after its current step (SIGTERM: it checkpoints and records "aborted").
  void stop();
  int wait();

 private:
  SweepPoint point_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

}  // namespace aeqlab::cli
