#pragma once
// How many cores this process may count on: the CPUs its affinity allows (what Slurm or taskset
// gave it), and no more than AEQLAB_CORES says when that is set — a sweep sets it for each point
// it runs, so points that run side by side share the machine instead of each taking all of it
// (docs/hopfield-device.md §8, docs/mpi.md).

#include <sched.h>

#include <cstddef>
#include <string_view>

namespace aeqlab {

inline constexpr const char* kCoresVariable = "AEQLAB_CORES";

std::size_t cores_available();  // at least 1

// Of those, the ones not already busy, at least 1: less the whole processes that the one-minute
// load average counts as running (/proc/loadavg) — or, when that says some are, the cores that
// were busy over a tenth of a second measured now (/proc/stat), if fewer: the load average
// trails a minute behind and still counts a program that has just ended. A thread team that
// shares a core with another process waits for it at every barrier; a team sized by this never
// oversubscribes a busy machine. The figure is kept for two seconds, so one run reads one.
std::size_t cores_idle();

// Busy and total clock ticks of the CPUs in `cpus`, from the text of /proc/stat (its per-CPU
// lines; iowait counts as idle).
struct CpuTicks {
  unsigned long long busy = 0;
  unsigned long long total = 0;
};
CpuTicks cpu_ticks(std::string_view proc_stat, const cpu_set_t& cpus);

// Of `n` CPUs, how many were busy between two readings (the busy share of the ticks, rounded).
std::size_t busy_cores_between(const CpuTicks& before, const CpuTicks& after, std::size_t n);

}  // namespace aeqlab
