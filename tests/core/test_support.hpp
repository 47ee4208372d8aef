#pragma once
// Small helpers the tests of several parts share (header-only: each part's test executable
// includes it by path).

#include <exception>
#include <functional>
#include <string>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "core/session_settings.hpp"

namespace aeqlab::test_support {

// The message of the error of type E that `f` throws; "" when it throws none (another type
// propagates, failing the test).
template <class E = std::exception>
std::string error_text(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

// A fixture that keeps the run's per-epoch log lines out of the test output.
class QuietLogs : public ::testing::Test {
 protected:
  void SetUp() override {
    level_ = spdlog::get_level();
    spdlog::set_level(spdlog::level::warn);
  }
  void TearDown() override { spdlog::set_level(level_); }

 private:
  spdlog::level::level_enum level_ = spdlog::level::info;
};

// Checkpoints every three steps and at every epoch's end, each step logged: what the resume tests
// interrupt and continue from.
inline SessionSettings every_three_steps() {
  SessionSettings s;
  s.detail = Detail::step;
  s.checkpoint_every_steps = 3;
  s.checkpoint_every_seconds = 0;
  s.checkpoint_every_epochs = 1;
  return s;
}

}  // namespace aeqlab::test_support
