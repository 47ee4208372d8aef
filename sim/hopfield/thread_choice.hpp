#pragma once
// How many threads a network's simulation uses (device.threads, docs/hopfield-device.md §8):
// the count given, or for "auto" as many as pay: one per block of replicas that the products
// take whole (64 bytes of rows), while each thread still gets enough work per sweep to cover a
// barrier, and never more than this process's share of the idle cores it may run on (the ranks of
// an MPI job on one machine share them: ranks add to threads, they do not replace them).

#include <cstddef>

#include "sim/hopfield/hopfield_spec.hpp"

namespace aeqlab::sim {

// The thread count for `spec` on `cores` idle cores shared by `ranks_here` processes of one job.
std::size_t choose_threads(const HopfieldSpec& spec, std::size_t cores, std::size_t ranks_here);

// The most threads `spec`'s work can use, whatever the cores: one per block of replicas, each with
// enough work per sweep (at most 64).
std::size_t threads_worth(const HopfieldSpec& spec);

// choose_threads on this machine's idle cores (core/cpu_cores.hpp), measured only when the work
// is worth more than one thread.
std::size_t choose_threads_here(const HopfieldSpec& spec, std::size_t ranks_here);

// Rows per block that every thread's share is a multiple of: 64 bytes of one row's entries (a
// cache line, a whole number of Eigen's packets), so that a row's products take the same path,
// and give the same bits, whatever the split (docs/mpi.md).
constexpr std::size_t row_unit(bool double_precision) {
  return double_precision ? 8 : 16;
}

}  // namespace aeqlab::sim
