#pragma once
// Small helpers the tests of several parts share (header-only: each part's test executable
// includes it by path).

#include <cstring>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "core/device.hpp"
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

// The parameters the device reads back now.
inline std::vector<double> parameters_of(Device& device) {
  std::vector<double> theta(device.describe().parameter_count());
  device.read_parameters(theta);
  return theta;
}

// Equal to the bit (a NaN equals itself, 0.0 differs from -0.0).
inline bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  // memcmp of an empty vector would pass it a null pointer.
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
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
