#include "core/cli/data_parallel.hpp"

#include <unistd.h>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include "core/cli/device_factory.hpp"
#include "core/cli/device_types.hpp"
#include "core/cli/mpi_world.hpp"
#include "core/error.hpp"
#include "core/stop_request.hpp"

namespace aeqlab::cli {

namespace fs = std::filesystem;

DataParallel::DataParallel() {
  if (mpi::start() && mpi::size() > 1) group_ = mpi::world();
  if (group_ && group_->rank() == 0)
    spdlog::info("data-parallel: {} ranks share each batch's replicas", group_->size());
  // One console: rank 0's. The others say only errors (their warnings would repeat rank 0's, and
  // name their scratch folder where rank 0 names the session).
  if (group_ && group_->rank() != 0) spdlog::set_level(spdlog::level::err);
}

DataParallel::~DataParallel() {
  if (group_) {
    // The communication share of the run, as scripts/bench-mpi reads it.
    const auto line =
        fmt::format("data-parallel: rank {} of {}: {:.3f} s in {} MPI collectives", group_->rank(),
                    group_->size(), mpi::collective_seconds(), mpi::collective_calls());
    if (group_->rank() == 0)
      spdlog::info("{}", line);
    else
      spdlog::debug("{}", line);
  }
  if (scratch_) {
    std::error_code ec;
    fs::remove_all(*scratch_, ec);
  }
}

std::unique_ptr<Device> DataParallel::make_device(const nlohmann::json& section,
                                                  std::size_t batch_size) const {
  if (!group_) return cli::make_device(section, batch_size);
  const DeviceType& type = device_type_of(section);
  if (!type.make_data_parallel)
    throw ConfigError(fmt::format(
        "device.type \"{}\": cannot split its replicas over {} MPI ranks (a data-parallel run "
        "needs a simulated device); run it without mpirun",
        type.name, group_->size()));
  return type.make_data_parallel(section, batch_size, group_);
}

fs::path DataParallel::session_dir(const fs::path& given, bool resume) {
  if (!group_) return given;
  if (group_->rank() != 0) {
    scratch_ = fs::temp_directory_path() /
               fmt::format("aeqlab-rank{}-{}", group_->rank(), static_cast<long>(::getpid()));
    std::error_code ec;
    fs::remove_all(*scratch_, ec);
    if (resume) {
      fs::copy(given, *scratch_, fs::copy_options::recursive, ec);
      if (ec)
        throw DataError(fmt::format("rank {}: cannot copy the session {} to resume it: {}",
                                    group_->rank(), given.string(), ec.message()));
      fs::remove(*scratch_ / ".lock", ec);
    }
  }
  // Rank 0 reopens (or creates) its session only once every copy is taken.
  mpi::barrier();
  return scratch_ ? *scratch_ : given;
}

void DataParallel::share_stop_requests() const {
  if (!group_) return;
  auto group = group_;
  aeqlab::share_stop_requests([group](bool mine) { return group->any(mine); });
}

void DataParallel::end_job_if_failed(bool failed) const {
  if (group_ && failed) mpi::abort(1);
}

}  // namespace aeqlab::cli
