#include "core/metrics_table.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/fmt/fmt.h>

namespace aeqlab {

namespace {

std::string header_of(const std::vector<std::string>& columns) {
  std::string h;
  for (std::size_t i = 0; i < columns.size(); ++i) h += (i ? "," : "") + columns[i];
  return h + "\n";
}

}  // namespace

MetricsTable::MetricsTable(std::filesystem::path file, std::vector<std::string> columns,
                           std::size_t keep_bytes)
    : file_(std::move(file)), columns_(std::move(columns)) {
  fd_ = ::open(file_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw std::runtime_error(
        fmt::format("{}: cannot open: {}", file_.string(), std::strerror(errno)));
  struct stat st {};
  ::fstat(fd_, &st);
  std::size_t size = std::size_t(st.st_size);
  if (keep_bytes < size) {
    if (::ftruncate(fd_, off_t(keep_bytes)) != 0) {
      const std::string why = std::strerror(errno);
      ::close(fd_);
      throw std::runtime_error(fmt::format("{}: cannot cut back: {}", file_.string(), why));
    }
    size = keep_bytes;
  }
  const std::string header = header_of(columns_);
  if (size == 0) {
    bytes_ = 0;
    if (::pwrite(fd_, header.data(), header.size(), 0) != ssize_t(header.size())) {
      const std::string why = std::strerror(errno);
      ::close(fd_);
      throw std::runtime_error(fmt::format("{}: cannot write: {}", file_.string(), why));
    }
    bytes_ = header.size();
  } else {
    std::string first(header.size(), '\0');
    if (::pread(fd_, first.data(), first.size(), 0) != ssize_t(first.size()) || first != header) {
      ::close(fd_);
      throw std::runtime_error(
          fmt::format("{}: its header does not match this run's columns; it belongs to another run",
                      file_.string()));
    }
    bytes_ = size;
  }
}

MetricsTable::~MetricsTable() {
  if (fd_ >= 0) ::close(fd_);
}

void MetricsTable::add_row(const std::vector<double>& values) {
  if (values.size() != columns_.size())
    throw std::logic_error(fmt::format("{}: {} values for {} columns", file_.string(),
                                       values.size(), columns_.size()));
  std::string row;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) row += ',';
    if (std::isfinite(values[i])) row += fmt::format("{}", values[i]);
  }
  row += '\n';
  // pwrite at our own offset: a partial row left by a full disk is overwritten by the next try.
  std::size_t done = 0;
  while (done < row.size()) {
    const ssize_t n = ::pwrite(fd_, row.data() + done, row.size() - done, off_t(bytes_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw std::runtime_error(
          fmt::format("{}: cannot write: {}", file_.string(), std::strerror(errno)));
    done += std::size_t(n);
  }
  bytes_ += row.size();
}

void MetricsTable::add_row(const MetricsRow& row) {
  for (const auto& [name, value] : row.values())
    if (std::count_if(row.values().begin(), row.values().end(),
                      [&](const auto& v) { return v.first == name; }) != 1 ||
        std::find(columns_.begin(), columns_.end(), name) == columns_.end())
      throw std::logic_error(
          fmt::format("{}: the row's {} is not one of its columns, once", file_.string(), name));
  std::vector<double> values;
  values.reserve(columns_.size());
  for (const auto& column : columns_) {
    const auto it = std::find_if(row.values().begin(), row.values().end(),
                                 [&](const auto& v) { return v.first == column; });
    if (it == row.values().end())
      throw std::logic_error(fmt::format("{}: the row has no {}", file_.string(), column));
    values.push_back(it->second);
  }
  add_row(values);
}

void MetricsTable::sync() {
  if (::fsync(fd_) != 0)
    throw std::runtime_error(
        fmt::format("{}: cannot sync to disk: {}", file_.string(), std::strerror(errno)));
}

}  // namespace aeqlab
