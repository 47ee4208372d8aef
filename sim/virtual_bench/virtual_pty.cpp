#include "sim/virtual_bench/virtual_pty.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <spdlog/fmt/fmt.h>

namespace aeqlab::sim {

namespace {

[[noreturn]] void fail(const std::string& instrument, const char* what) {
  throw std::runtime_error(fmt::format("instrument \"{}\": cannot create its serial port ({}: {})",
                                       instrument, what, std::strerror(errno)));
}

}  // namespace

VirtualPty open_virtual_pty(const std::string& instrument) {
  VirtualPty pty;
  pty.master = ::posix_openpt(O_RDWR | O_NOCTTY);
  if (pty.master < 0) fail(instrument, "posix_openpt");
  try {
    if (::grantpt(pty.master) != 0) fail(instrument, "grantpt");
    if (::unlockpt(pty.master) != 0) fail(instrument, "unlockpt");
    const char* name = ::ptsname(pty.master);
    if (!name) fail(instrument, "ptsname");
    pty.path = name;
    pty.slave = ::open(name, O_RDWR | O_NOCTTY);
    if (pty.slave < 0) fail(instrument, "open slave");
    // Raw: no echo, no line editing, no CR/LF translation; the bytes of a binary block must
    // arrive as sent.
    termios tio{};
    if (::tcgetattr(pty.slave, &tio) != 0) fail(instrument, "tcgetattr");
    ::cfmakeraw(&tio);
    if (::tcsetattr(pty.slave, TCSANOW, &tio) != 0) fail(instrument, "tcsetattr");
    ::fcntl(pty.master, F_SETFD, FD_CLOEXEC);
    ::fcntl(pty.slave, F_SETFD, FD_CLOEXEC);
  } catch (...) {
    close_virtual_pty(pty);
    throw;
  }
  return pty;
}

void close_virtual_pty(VirtualPty& pty) {
  if (pty.master >= 0) ::close(pty.master);
  if (pty.slave >= 0) ::close(pty.slave);
  pty.master = pty.slave = -1;
}

std::optional<std::string> serial_link_path(const std::string& address) {
  constexpr std::string_view prefix = "serial://";
  if (address.rfind(prefix, 0) != 0) return std::nullopt;
  std::string path = address.substr(prefix.size());
  path = path.substr(0, path.find('?'));
  if (path.empty() || path.rfind("/dev/pts/", 0) == 0) return std::nullopt;
  return path;
}

void make_serial_link(const std::string& link, const std::string& target,
                      const std::string& instrument) {
  struct stat st {};
  if (::lstat(link.c_str(), &st) == 0) {
    if (!S_ISLNK(st.st_mode))
      throw std::runtime_error(fmt::format(
          "instrument \"{}\": its serial address {} exists and is not a symlink; refusing to "
          "replace it with a link to the virtual port",
          instrument, link));
    if (::unlink(link.c_str()) != 0)
      throw std::runtime_error(fmt::format("instrument \"{}\": cannot replace the symlink {}: {}",
                                           instrument, link, std::strerror(errno)));
  }
  if (::symlink(target.c_str(), link.c_str()) != 0)
    throw std::runtime_error(fmt::format("instrument \"{}\": cannot link {} to {}: {}", instrument,
                                         link, target, std::strerror(errno)));
}

void remove_serial_link(const std::string& link, const std::string& target) {
  char buf[4096];
  const ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
  if (n < 0 || std::string(buf, static_cast<std::size_t>(n)) != target) return;
  ::unlink(link.c_str());
}

}  // namespace aeqlab::sim
