#pragma once
// `mpirun -n N aeqlab train`: one run over N ranks (docs/mpi.md). Every rank builds the same run
// and makes the same calls; the device splits each relaxation's replicas over the ranks; rank 0
// writes the session, the others a scratch copy they delete at the end.

#include <filesystem>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "core/device.hpp"
#include "core/replica_group.hpp"

namespace aeqlab::cli {

class DataParallel {
 public:
  // Joins the MPI job when launched by mpirun; alone (one rank, nothing shared) otherwise.
  DataParallel();
  ~DataParallel();  // removes the scratch session of a rank > 0

  bool shared() const { return group_ != nullptr; }  // more than one rank
  std::size_t rank() const { return group_ ? group_->rank() : 0; }

  // The device, split over the ranks when shared; refuses a type that cannot split its replicas.
  std::unique_ptr<Device> make_device(const nlohmann::json& section, std::size_t batch_size) const;

  // Where this rank keeps its session: the one given on rank 0, a scratch folder on the others.
  // For a resume, the others copy rank 0's session first (before it is reopened), so every rank
  // continues from the same checkpoint.
  std::filesystem::path session_dir(const std::filesystem::path& given, bool resume);

  // Every rank stops after the same step: a stop request seen by one is honoured by all.
  void share_stop_requests() const;
  // A run that failed on one rank would leave the others waiting in a collective: end the job.
  void end_job_if_failed(bool failed) const;

 private:
  std::shared_ptr<ReplicaGroup> group_;
  std::optional<std::filesystem::path> scratch_;
};

}  // namespace aeqlab::cli
