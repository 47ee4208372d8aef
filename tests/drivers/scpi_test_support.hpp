#pragma once
// What the driver tests share: catching an expected error, quick SCPI session options, and the
// check that concurrent queries never interleave.

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "drivers/scpi_session.hpp"

namespace aeqlab::drivers::test_support {

// The E that `f` throws (a copy, to check its text and fields), or nothing when it throws none;
// other exceptions pass through.
template <class E, class F>
std::optional<E> thrown(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e;
  }
  return std::nullopt;
}

// Short timeouts and reconnect delays, so the failure paths run in well under a second.
inline ScpiOptions fast_options() {
  using namespace std::chrono_literals;
  ScpiOptions o;
  o.timeout = 150ms;
  o.reconnect_delay = 10ms;
  return o;
}

// fast_options() with another timeout and number of retries.
inline ScpiOptions fast_options(std::chrono::milliseconds timeout, int retries) {
  ScpiOptions o = fast_options();
  o.timeout = timeout;
  o.retries = retries;
  return o;
}

// `threads` threads each query "ECHO? <token>" `per_thread` times on the one session, every
// token different; returns how many replies were not the token asked for. A session that let
// two conversations interleave would hand one thread another's reply.
inline int echo_mismatches(ScpiSession& s, int threads, int per_thread) {
  std::atomic<int> wrong{0};
  std::vector<std::thread> running;
  for (int t = 0; t < threads; ++t)
    running.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        std::string token = "thread";
        token += std::to_string(t);
        token += '-';
        token += std::to_string(i);
        std::string command = "ECHO? ";
        command += token;
        if (s.query(command) != token) ++wrong;
      }
    });
  for (auto& t : running) t.join();
  return wrong;
}

}  // namespace aeqlab::drivers::test_support
