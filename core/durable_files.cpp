#include "core/durable_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <spdlog/fmt/fmt.h>

namespace aeqlab {

DurableFiles::~DurableFiles() {
  for (auto& f : open_)
    if (f.fd >= 0) ::close(f.fd);
}

void DurableFiles::write(const std::filesystem::path& file, std::string_view bytes) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::runtime_error(
        fmt::format("{}: cannot create: {}", file.string(), std::strerror(errno)));
  open_.push_back({fd, file});
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw std::runtime_error(
          fmt::format("{}: cannot write: {}", file.string(), std::strerror(errno)));
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void DurableFiles::sync_all() {
  // Start every file's write-back first, so the file system can allocate and commit them together
  // rather than one fsync at a time. Only a hint: the fsyncs below make the files durable.
  for (auto& f : open_) (void)::sync_file_range(f.fd, 0, 0, SYNC_FILE_RANGE_WRITE);
  for (auto& f : open_) {
    if (::fsync(f.fd) != 0)
      throw std::runtime_error(
          fmt::format("{}: cannot sync to disk: {}", f.file.string(), std::strerror(errno)));
  }
  for (auto& f : open_) {
    const int fd = f.fd;
    f.fd = -1;
    if (::close(fd) != 0)
      throw std::runtime_error(
          fmt::format("{}: cannot write: {}", f.file.string(), std::strerror(errno)));
  }
  open_.clear();
}

}  // namespace aeqlab
