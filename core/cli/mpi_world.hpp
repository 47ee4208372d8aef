#pragma once
// The MPI job this program may be a rank of (docs/mpi.md). Only core/cli/mpi_world.cpp includes
// mpi.h. Without mpirun (no launcher in the environment) nothing here initialises MPI, so a
// plain `aeqlab train` never touches it.

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/replica_group.hpp"

namespace aeqlab::cli::mpi {

// True when a launcher (mpirun, srun with PMIx) started this process as a rank.
bool launched();
// Initialises MPI once (and finalises it at exit); returns false when not launched.
bool start();
int rank();  // 0 when not launched
int size();  // 1 when not launched

// Point-to-point messages of one whole number, for the sweep's coordinator and workers.
void send(int to, int tag, long value);
// A message with `tag` from anyone, if one is waiting: {from, value}.
std::optional<std::pair<int, long>> poll(int tag);
// Waits for a message with `tag` from `from`, calling `idle` between looks (never blocks in MPI,
// so a stop request is still seen).
long receive(int from, int tag, const std::function<void()>& idle);
// Every rank waits here until all have come.
void barrier();
// Ends every rank of the job (mpirun stops the others): for a fault that leaves them waiting.
[[noreturn]] void abort(int code);

// Time this rank spent in the replica group's collectives so far (waiting for the slower ranks
// included), and how many calls: the communication share of a data-parallel run.
double collective_seconds();
std::size_t collective_calls();

// The job's ranks as a replica group (valid while MPI is up).
std::shared_ptr<ReplicaGroup> world();

}  // namespace aeqlab::cli::mpi
