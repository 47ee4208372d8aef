#pragma once
// How many cores this process may count on: the CPUs its affinity allows (what Slurm or taskset
// gave it), and no more than AEQLAB_CORES says when that is set — a sweep sets it for each point
// it runs, so points that run side by side share the machine instead of each taking all of it
// (docs/hopfield-device.md §8, docs/mpi.md).

#include <cstddef>

namespace aeqlab {

inline constexpr const char* kCoresVariable = "AEQLAB_CORES";

std::size_t cores_available();  // at least 1

// Of those, the ones not already busy: less the whole processes that the one-minute load average
// counts as running (/proc/loadavg), at least 1. A thread team that shares a core with another
// process waits for it at every barrier; a team sized by this never oversubscribes a busy machine.
std::size_t cores_idle();

}  // namespace aeqlab
