#pragma once
// The session's metrics.csv: one row per epoch, the columns fixed by the header, each row on the
// disk's way as soon as it is written. What a physicist opens in pandas or a spreadsheet.

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aeqlab {

// One row of the table, by column name: the table puts the values in its columns' order.
class MetricsRow {
 public:
  MetricsRow& set(std::string column, double value) {
    values_.emplace_back(std::move(column), value);
    return *this;
  }
  const std::vector<std::pair<std::string, double>>& values() const { return values_; }

 private:
  std::vector<std::pair<std::string, double>> values_;
};

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
  // A value for every column, by name, each once; a column missing or unknown is a logic_error
  // naming it.
  void add_row(const MetricsRow& row);
  std::size_t bytes() const { return bytes_; }
  void sync();

 private:
  std::filesystem::path file_;
  std::vector<std::string> columns_;
  int fd_ = -1;
  std::size_t bytes_ = 0;
};

}  // namespace aeqlab
