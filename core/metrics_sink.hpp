#pragma once
// The session's metrics.csv as a run sink: one row per epoch, each value put by its column's name.

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "core/device.hpp"
#include "core/metrics_table.hpp"
#include "core/run_sink.hpp"

namespace aeqlab {

class MetricsSink final : public RunSink {
 public:
  // `keep_bytes`: what a resumed run keeps of the table (MetricsTable); 0 for a new one.
  MetricsSink(const std::filesystem::path& session_dir, const DeviceDescription& device,
              std::size_t keep_bytes);

  // The table's columns for this device, in their order in the file. Ones added later come after
  // the ones before them, so readers of older sessions' tables keep working.
  static std::vector<std::string> columns(const DeviceDescription& device);

  void epoch_ended(const EpochReport& r) override;

  std::size_t bytes() const { return table_.bytes(); }
  void sync() { table_.sync(); }

 private:
  // The columns of the table in `file`: all of today's for a new session; for a resumed one
  // (keep_bytes > 0) recorded before some columns existed, the ones its header has.
  static std::vector<std::string> recorded_columns(const std::filesystem::path& file,
                                                   const DeviceDescription& device,
                                                   std::size_t keep_bytes);

  const DeviceDescription& device_;
  const std::vector<std::string> columns_;  // the table's, in its order
  MetricsTable table_;
};

}  // namespace aeqlab
