#pragma once
// `aeqlab serve` running in the background for a test: started with its arguments, read until
// it says every instrument is ready, stopped with SIGINT, and its last word (the wire tally)
// kept for the test to check.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

extern char** environ;

namespace aeqlab::e2e {

// XOR on a small Hopfield network (2-6-2, float64) for the bench tests, whose device and data
// are the same; `rest` holds their own "trainer" (and "session") members. One sample per step:
// a bench has one replica.
inline std::string xor_bench_config(const std::string& rest) {
  std::string config = R"({
  "device": {"layers": [2, 6, 2], "gains": [4.0, 1.0], "precision": "float64",
             "compliance": {"weights": [0.5, 0.1], "biases": [0.2, 0.02]}},
  "data": {"set": "xor"},)";
  config += "\n  ";
  config += rest;
  config += "\n}";
  return config;
}

class ServedBench {
 public:
  // Starts `aeqlab serve args...` (stderr to `dir`) and waits up to 60 s for its ready line.
  ServedBench(const std::string& dir, const std::vector<std::string>& args) {
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    const std::string err = dir + "/serve-stderr.txt";
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<std::string> words{AEQLAB_BINARY, "serve"};
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    // posix_spawn has no chdir (glibc 2.36 lacks addchdir_np's portability); paths are absolute.
    if (posix_spawn(&pid_, AEQLAB_BINARY, &actions, nullptr, argv.data(), environ) != 0)
      throw std::runtime_error("cannot start aeqlab serve");
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    fd_ = out[0];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      const std::string line = next_line(deadline);
      if (line.empty()) throw std::runtime_error("aeqlab serve ended or timed out before ready");
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j.contains("instrument")) ready.push_back(j);
      if (j.is_object() && j.value("event", "") == "ready") break;
    }
  }

  // SIGINT, then the stopped line (empty object if none came within 30 s).
  nlohmann::json stop() {
    if (pid_ <= 0) return stopped_;
    ::kill(pid_, SIGINT);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      const std::string line = next_line(deadline);
      if (line.empty()) break;
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j.value("event", "") == "stopped") stopped_ = j;
    }
    int status = 0;
    ::waitpid(pid_, &status, 0);
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    pid_ = -1;
    return stopped_;
  }
  int exit_status() const { return exit_status_; }
  ~ServedBench() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) ::close(fd_);
  }

  std::vector<nlohmann::json> ready;

 private:
  std::string next_line(std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      const auto nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return {};
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return {};
      char buf[4096];
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) return {};
      buffer_.append(buf, static_cast<std::size_t>(n));
    }
  }
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string buffer_;
  nlohmann::json stopped_ = nlohmann::json::object();
  int exit_status_ = -1;
};

}  // namespace aeqlab::e2e
