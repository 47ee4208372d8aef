#include "fake_instrument.hpp"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

namespace aeqlab::drivers::fake {

namespace {

// Position just past a definite-length block starting at i (buf[i] == '#'), 0 when it is not a
// block, npos when the block is not complete yet.
std::size_t block_end(const std::string& buf, std::size_t i) {
  if (i + 1 >= buf.size()) return std::string::npos;
  const char d = buf[i + 1];
  if (d < '1' || d > '9') return 0;
  const std::size_t n = std::size_t(d - '0');
  if (i + 2 + n > buf.size()) return std::string::npos;
  std::size_t len = 0;
  for (std::size_t k = i + 2; k < i + 2 + n; ++k) {
    if (buf[k] < '0' || buf[k] > '9') return 0;
    len = len * 10 + std::size_t(buf[k] - '0');
  }
  const std::size_t end = i + 2 + n + len;
  return end > buf.size() ? std::string::npos : end;
}

std::vector<std::string> split_commands(const std::string& message) {
  std::vector<std::string> out;
  std::string current;
  for (std::size_t i = 0; i < message.size();) {
    if (message[i] == '#') {
      const std::size_t end = block_end(message, i);
      if (end != 0 && end != std::string::npos) {
        current.append(message, i, end - i);
        i = end;
        continue;
      }
    }
    if (message[i] == ';') {
      out.push_back(current);
      current.clear();
    } else {
      current += message[i];
    }
    ++i;
  }
  out.push_back(current);
  for (auto& c : out) {
    while (!c.empty() && (c.front() == ':' || c.front() == ' ')) c.erase(0, 1);
  }
  return out;
}

void write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    ssize_t k = ::send(fd, p, n, MSG_NOSIGNAL);
    if (k < 0 && errno == ENOTSOCK) k = ::write(fd, p, n);
    if (k < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        pollfd pf{fd, POLLOUT, 0};
        ::poll(&pf, 1, 20);
        continue;
      }
      return;  // the client went away; its test will say so
    }
    p += k;
    n -= std::size_t(k);
  }
}

std::string block(const std::string& payload) {
  const std::string len = std::to_string(payload.size());
  std::string out = "#";
  out += char('0' + len.size());
  out += len;
  out += payload;
  return out;
}

}  // namespace

bool take_message(std::string& buf, std::string& message) {
  for (std::size_t i = 0; i < buf.size();) {
    if (buf[i] == '#') {
      const std::size_t end = block_end(buf, i);
      if (end == std::string::npos) return false;
      if (end != 0) {
        i = end;
        continue;
      }
    }
    if (buf[i] == '\n') {
      message = buf.substr(0, i);
      if (!message.empty() && message.back() == '\r') message.pop_back();
      buf.erase(0, i + 1);
      return true;
    }
    ++i;
  }
  return false;
}

std::string FakeModel::handle(const std::string& message, bool& drop) {
  {
    std::lock_guard lock(mutex_);
    messages_.push_back(message);
  }
  std::string reply;
  bool any = false;
  for (const auto& c : split_commands(message)) {
    if (c.empty()) continue;
    const auto space = c.find(' ');
    const std::string header = c.substr(0, space);
    const std::string arg = space == std::string::npos ? "" : c.substr(space + 1);
    bool replied = false;
    const std::string r = command(header, arg, drop, replied);
    if (drop) return {};
    if (replied) {
      if (any) reply += ';';
      reply += r;
      any = true;
    }
  }
  if (any) {
    std::lock_guard lock(mutex_);
    reply += reply_terminator_;
  }
  return reply;
}

std::string FakeModel::command(const std::string& header, const std::string& arg, bool& drop,
                               bool& replied) {
  std::unique_lock lock(mutex_);
  ++seen_[header];
  replied = true;
  if (header == "*IDN?") return "AEQLAB,FAKE-1,0001,1.0";
  if (header == "*OPC?") return "1";
  if (header == "SYST:ERR?") {
    if (errors_.empty()) return "+0,\"No error\"";
    const auto e = errors_.front();
    errors_.pop_front();
    return std::to_string(e.first) + ",\"" + e.second + "\"";
  }
  if (header == "MEAS?") return "+1.5E+00,2.5,-3e-3";
  if (header == "SPACED?") return " 1.0 , +2.5E+00 ,3 ";
  if (header == "GARBLED?") return "1.0,abc,3";
  if (header == "LONG?") {
    std::string s;
    for (int i = 0; i < 100; ++i) s += "x\x01";
    return s;
  }
  if (header == "ECHO?") return arg;
  if (header == "VOLT?") return volt_;
  if (header == "DATA?") return block(data_);
  if (header == "INDEF?") return "#0abc";
  if (header == "BADBLK?") return "#x12";
  if (header == "SLOW?") {
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(arg.c_str())));
    return "late";
  }
  if (header == "DROP?") {
    if (drops_left_ > 0) {
      --drops_left_;
      drop = true;
      return {};
    }
    return "back";
  }
  replied = false;
  if (header == "SILENT?") return {};
  if (header == "*CLS") {
    errors_.clear();
  } else if (header == "VOLT") {
    if (std::atof(arg.c_str()) > 10)
      errors_.emplace_back(-222, "Data out of range");
    else
      volt_ = arg;
  } else if (header == "CURR") {
  } else if (header == "BAD2") {
    errors_.emplace_back(-113, "Undefined header");
    errors_.emplace_back(-222, "Data out of range");
  } else if (header == "DATA" || header == "REFUSE") {
    const std::size_t end = arg.empty() || arg[0] != '#' ? 0 : block_end(arg, 0);
    if (header == "REFUSE") {
      errors_.emplace_back(-225, "Out of memory");
    } else if (end == 0 || end == std::string::npos || end != arg.size()) {
      errors_.emplace_back(-104, "Data type error");
    } else {
      const std::size_t n = std::size_t(arg[1] - '0');
      data_ = arg.substr(2 + n);
    }
  } else {
    errors_.emplace_back(-113, "Undefined header");
  }
  return {};
}

int FakeModel::count(const std::string& header) const {
  std::lock_guard lock(mutex_);
  const auto it = seen_.find(header);
  return it == seen_.end() ? 0 : it->second;
}

std::vector<std::string> FakeModel::messages() const {
  std::lock_guard lock(mutex_);
  return messages_;
}

std::string FakeModel::data() const {
  std::lock_guard lock(mutex_);
  return data_;
}

int FakeModel::wait_count(const std::string& header, int n) const {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (count(header) < n && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // Anything that was still on its way would have arrived by now.
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  return count(header);
}

void serve_fd(int fd, FakeModel& model, const std::atomic<bool>& stop) {
  std::string buf;
  char chunk[65536];
  while (!stop) {
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, 20);
    if (r < 0 && errno != EINTR) return;
    if (r <= 0) continue;
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return;
    buf.append(chunk, std::size_t(n));
    std::string message;
    while (take_message(buf, message)) {
      bool drop = false;
      const std::string reply = model.handle(message, drop);
      if (drop) return;
      if (reply.empty()) continue;
      if (model.split_replies && reply.size() > 1) {
        const std::size_t half = reply.size() / 2;
        write_all(fd, reply.data(), half);
        std::this_thread::sleep_for(std::chrono::microseconds(300));
        write_all(fd, reply.data() + half, reply.size() - half);
      } else {
        write_all(fd, reply.data(), reply.size());
      }
    }
  }
}

TcpFake::TcpFake(FakeModel& model) : model_(model) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_, 8) != 0)
    throw std::runtime_error(std::strerror(errno));
  socklen_t len = sizeof a;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));  // after stop_listening()
        continue;
      }
      ++accepted_;
      // A reply sent in two pieces must not wait for the client's delayed ACK.
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      std::lock_guard lock(mutex_);
      open_fds_.push_back(fd);
      threads_.emplace_back([this, fd] {
        serve_fd(fd, model_, stop_);
        std::lock_guard lock(mutex_);
        std::erase(open_fds_, fd);
        ::close(fd);
      });
    }
  });
}

TcpFake::~TcpFake() {
  stop_ = true;
  acceptor_.join();
  for (auto& t : threads_) t.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

std::string TcpFake::address() const {
  std::string a = "tcp://127.0.0.1:";
  a += std::to_string(port_);
  return a;
}

void TcpFake::kick() {
  std::lock_guard lock(mutex_);
  for (const int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
}

// shutdown() on a listening socket takes it out of LISTEN (later connects are refused) while
// the descriptor stays valid for the acceptor thread.
void TcpFake::stop_listening() {
  ::shutdown(listen_fd_, SHUT_RDWR);
}

PtyFake::PtyFake(FakeModel& model) {
  master_fd_ = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master_fd_ < 0 || ::grantpt(master_fd_) != 0 || ::unlockpt(master_fd_) != 0)
    throw std::runtime_error(std::strerror(errno));
  path_ = ::ptsname(master_fd_);
  // Held open for the test's life: the master would read EIO whenever no slave is open, e.g.
  // between a client's close and its reopen.
  slave_fd_ = ::open(path_.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
  termios t{};
  ::tcgetattr(slave_fd_, &t);
  ::cfmakeraw(&t);
  ::tcsetattr(slave_fd_, TCSANOW, &t);
  thread_ = std::thread([this, &model] { serve_fd(master_fd_, model, stop_); });
}

PtyFake::~PtyFake() {
  stop_ = true;
  thread_.join();
  ::close(slave_fd_);
  ::close(master_fd_);
}

}  // namespace aeqlab::drivers::fake
