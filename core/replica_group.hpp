#pragma once
// A group of processes that share one run: the ranks of an MPI job (docs/mpi.md). Core and the
// simulators see only this interface; the MPI implementation lives in the composition root
// (core/cli/mpi_world.cpp), so nothing outside it includes mpi.h.

#include <cstddef>
#include <span>

namespace aeqlab {

class ReplicaGroup {
 public:
  virtual ~ReplicaGroup() = default;
  virtual std::size_t rank() const = 0;  // 0 .. size()-1; rank 0 writes the session
  virtual std::size_t size() const = 0;
  // Members on this machine, which share its cores (a simulator's threads are counted against
  // them); all of them when it cannot tell.
  virtual std::size_t size_here() const { return size(); }

  // Every member contributes `mine` (its share, `counts[rank()]` values) and receives every
  // member's share in `all`, concatenated in rank order. The same call on every member, with the
  // same counts. Rank order is fixed, so what a member computes from `all` is the same on every
  // member and does not depend on how the transport combined the pieces.
  virtual void all_gather(std::span<const double> mine, std::span<const std::size_t> counts,
                          std::span<double> all) = 0;
  virtual void all_gather(std::span<const float> mine, std::span<const std::size_t> counts,
                          std::span<float> all) = 0;
  // True on every member if `flag` is true on any (a stop request, a fault seen by one).
  virtual bool any(bool flag) = 0;
};

}  // namespace aeqlab
