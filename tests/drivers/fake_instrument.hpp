#pragma once
// A tiny SCPI instrument for the driver tests, served over real transports: a loopback TCP
// listener and a pseudo-terminal. Plain POSIX on the server side, so the drivers are tested
// against code that shares nothing with them.

#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace aeqlab::drivers::fake {

// The instrument's behaviour, shared by its TCP and PTY faces.
class FakeModel {
 public:
  // Handles one message (terminator removed); returns the reply bytes (with terminator), empty
  // when nothing is to be answered. Sets `drop` when the instrument should hang up instead.
  std::string handle(const std::string& message, bool& drop);

  int count(const std::string& header) const;  // commands seen with this header
  std::vector<std::string> messages() const;   // every message, in order
  std::string data() const;
  // Waits (at most 2 s) until `header` has been seen n times; returns the count then.
  int wait_count(const std::string& header, int n) const;

  void set_reply_terminator(std::string t) {
    std::lock_guard lock(mutex_);
    reply_terminator_ = std::move(t);
  }
  void set_drops(int n) { drops_left_ = n; }
  // Replies are written in two pieces with a pause between, to expose interleaving clients.
  std::atomic<bool> split_replies{false};

 private:
  std::string command(const std::string& header, const std::string& arg, bool& drop, bool& replied);
  mutable std::mutex mutex_;
  std::string reply_terminator_ = "\n";
  std::deque<std::pair<int, std::string>> errors_;
  std::map<std::string, int> seen_;
  std::vector<std::string> messages_;
  std::string data_;
  std::string volt_ = "0";
  std::atomic<int> drops_left_{0};
};

// Takes one complete message (up to '\n', a "\r" before it dropped) off the front of buf, jumping
// over definite-length blocks whose payload may hold '\n'. False when incomplete.
bool take_message(std::string& buf, std::string& message);

// Serves model on fd until stop is set, the peer hangs up, or the model drops the connection.
void serve_fd(int fd, FakeModel& model, const std::atomic<bool>& stop);

class TcpFake {
 public:
  explicit TcpFake(FakeModel& model);
  ~TcpFake();
  std::string address() const;
  int port() const { return port_; }
  int accepted() const { return accepted_; }
  void kick();            // hangs up every open connection
  void stop_listening();  // later connections are refused

 private:
  FakeModel& model_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::mutex mutex_;
  std::vector<int> open_fds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

class PtyFake {
 public:
  explicit PtyFake(FakeModel& model);
  ~PtyFake();
  const std::string& path() const { return path_; }
  int slave_fd() const { return slave_fd_; }  // shares the termios the client sets

 private:
  int master_fd_ = -1;
  int slave_fd_ = -1;
  std::string path_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace aeqlab::drivers::fake
