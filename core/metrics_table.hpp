#pragma once
// The session's metrics.csv: one row per epoch, the columns fixed by the header, each row on the
// disk's way as soon as it is written. What a physicist opens in pandas or a spreadsheet.

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace aeqlab {

class MetricsTable {
 public:
  // Opens (or creates, writing the header) `file`. An existing file must have the same header.
  // `keep_bytes`, when given, cuts the file back to that size first: the rows written after the
  // checkpoint a resumed run starts from are written again.
  MetricsTable(std::filesystem::path file, std::vector<std::string> columns,
               std::size_t keep_bytes = std::size_t(-1));
  ~MetricsTable();
  MetricsTable(const MetricsTable&) = delete;
  MetricsTable& operator=(const MetricsTable&) = delete;

  const std::vector<std::string>& columns() const { return columns_; }
  // One value per column; non-finite values are written as empty cells.
  void add_row(const std::vector<double>& values);
  std::size_t bytes() const { return bytes_; }
  void sync();

 private:
  std::filesystem::path file_;
  std::vector<std::string> columns_;
  int fd_ = -1;
  std::size_t bytes_ = 0;
};

}  // namespace aeqlab
