#pragma once
// Pseudo-terminals standing in for instruments' serial ports, and the symlinks that put them
// where a bench file says the port is (serial:///tmp/dac0 -> /dev/pts/7).

#include <optional>
#include <string>

namespace aeqlab::sim {

// A PTY pair in raw mode. The slave stays open here for the pair's whole life, so the master
// never reads EIO when a client closes its end (and a reconnecting client finds it unchanged).
struct VirtualPty {
  int master = -1;  // handed to the event loop
  int slave = -1;
  std::string path;  // /dev/pts/N, what clients open
};

// Throws std::runtime_error naming `instrument` and the failing call.
VirtualPty open_virtual_pty(const std::string& instrument);
void close_virtual_pty(VirtualPty& pty);

// The path of a serial:// address that should become a link to the PTY: none for other
// addresses, or when the path already is a PTY (/dev/pts/...).
std::optional<std::string> serial_link_path(const std::string& address);
// Makes `link` a symlink to `target`, replacing an existing symlink. Refuses (runtime_error
// naming the instrument and path) to replace anything that is not a symlink.
void make_serial_link(const std::string& link, const std::string& target,
                      const std::string& instrument);
// Removes `link` if it still is a symlink to `target` (someone may have replaced it since).
void remove_serial_link(const std::string& link, const std::string& target);

}  // namespace aeqlab::sim
