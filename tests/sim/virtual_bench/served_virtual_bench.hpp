#pragma once
// A client's end of the virtual bench for the tests: plain sockets and a raw PTY, a bench served on
// its own thread over a fresh 4-3-2 network, and the reply helpers the tests share.

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "instruments/bench_layout.hpp"
#include "sim/hopfield/hopfield_device.hpp"
#include "sim/virtual_bench/virtual_bench.hpp"
#include "sim/virtual_bench/virtual_scpi_parser.hpp"

namespace aeqlab::test {

using namespace aeqlab;
using Clock = std::chrono::steady_clock;

inline sim::HopfieldSpec spec_432() {
  sim::HopfieldSpec s;
  s.layers = {4, 3, 2};
  s.replicas = 1;
  s.double_precision = true;
  return s;
}

inline instruments::BenchConfig layout() {
  sim::HopfieldDevice d(spec_432());
  return instruments::virtual_bench_layout(d.describe());
}

// A client end: a TCP socket or a PTY opened the way a serial library would.
class Wire {
 public:
  static Wire tcp(const std::string& address) {
    const auto colon = address.rfind(':');
    const int port = std::stoi(address.substr(colon + 1));
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      ::close(fd);
      throw std::runtime_error("connect to " + address + " failed");
    }
    return Wire(fd, true);
  }
  static Wire pty(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_NOCTTY);
    if (fd < 0) throw std::runtime_error("open " + path + " failed");
    termios tio{};
    ::tcgetattr(fd, &tio);
    ::cfmakeraw(&tio);
    ::tcsetattr(fd, TCSANOW, &tio);
    return Wire(fd, false);
  }
  Wire(Wire&& o) noexcept : fd_(o.fd_), socket_(o.socket_), buf_(std::move(o.buf_)) { o.fd_ = -1; }
  Wire& operator=(Wire&& o) noexcept {
    std::swap(fd_, o.fd_);
    socket_ = o.socket_;
    buf_ = std::move(o.buf_);
    return *this;
  }
  ~Wire() {
    if (fd_ >= 0) ::close(fd_);
  }

  void send(std::string_view s) {
    while (!s.empty()) {
      const ssize_t n = socket_ ? ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL)
                                : ::write(fd_, s.data(), s.size());
      if (n <= 0) throw std::runtime_error("write failed");
      s.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  // One reply: a line, or a block (then with its "#" header), without the terminating "\n".
  // nullopt on timeout or when the peer closed.
  std::optional<std::string> reply(int timeout_ms = 3000) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
      if (auto r = take()) return r;
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0 || !fill(static_cast<int>(left))) return std::nullopt;
    }
  }
  std::string query(std::string_view command) {
    send(command);
    auto r = reply();
    if (!r) ADD_FAILURE() << "no reply to " << command;
    return r.value_or("<no reply>");
  }
  // Sends set commands and waits until they have been carried out (*OPC? on the same line).
  void write(const std::string& commands) { EXPECT_EQ(query(commands + ";*OPC?\n"), "1"); }
  int fd() const { return fd_; }
  bool peer_closed(int timeout_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      if (!fill(50) && eof_) return true;
    }
    return false;
  }

 private:
  Wire(int fd, bool socket) : fd_(fd), socket_(socket) {}

  std::optional<std::string> take() {
    if (buf_.size() >= 2 && buf_[0] == '#' && buf_[1] >= '1' && buf_[1] <= '9') {
      const std::size_t digits = static_cast<std::size_t>(buf_[1] - '0');
      if (buf_.size() < 2 + digits) return std::nullopt;
      const std::size_t total = 2 + digits + std::stoul(buf_.substr(2, digits));
      if (buf_.size() < total + 1) return std::nullopt;
      std::string r = buf_.substr(0, total);
      buf_.erase(0, total + 1);
      return r;
    }
    const auto nl = buf_.find('\n');
    if (nl == std::string::npos) return std::nullopt;
    std::string r = buf_.substr(0, nl);
    buf_.erase(0, nl + 1);
    return r;
  }
  bool fill(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
    char chunk[65536];
    const ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buf_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool socket_ = true;
  std::string buf_;
  bool eof_ = false;
};

// A bench served on its own thread, over the physics of a fresh 4-3-2 network.
struct Served {
  explicit Served(instruments::BenchConfig bench = layout(), sim::VirtualOptions options = {})
      : device(spec_432()), bench(device, std::move(bench), std::move(options)) {
    instruments = this->bench.start();
    thread = std::thread([this] { this->bench.run(); });
  }
  ~Served() {
    bench.stop();
    thread.join();
  }
  const sim::ServedInstrument& at(const std::string& name) const {
    for (const auto& s : instruments)
      if (s.name == name) return s;
    throw std::runtime_error("no instrument " + name);
  }
  Wire tcp(const std::string& name) const { return Wire::tcp(at(name).tcp); }

  sim::HopfieldDevice device;
  sim::VirtualBench bench;
  std::vector<sim::ServedInstrument> instruments;
  std::thread thread;
};

inline std::vector<double> numbers(const std::string& reply) {
  std::vector<double> out;
  std::size_t at = 0;
  while (at <= reply.size()) {
    const auto comma = reply.find(',', at);
    out.push_back(std::stod(reply.substr(at, comma - at)));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return out;
}

inline std::vector<double> block_values(const std::string& reply) {
  return sim::scpi::unpack_f64le(sim::scpi::parse_block(reply));
}

inline std::string block_of(const std::vector<double>& v) {
  return sim::scpi::format_block(sim::scpi::pack_f64le(v));
}

inline std::string list_of(const std::vector<double>& v) {
  return sim::scpi::format_values(v);
}

inline double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace aeqlab::test
