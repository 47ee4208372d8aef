#pragma once
// A progress line for long work: redrawn in place on a terminal, silent otherwise (logs then
// carry the per-epoch lines). Rate-limited so it costs nothing on the hot path.

#include <chrono>
#include <cstddef>
#include <string>

namespace aeqlab {

class Progress {
 public:
  Progress();
  void start(std::string label, std::size_t total);
  void update(std::size_t done, const std::string& detail = {});
  void finish();

 private:
  void draw(std::size_t done, const std::string& detail);
  bool tty_;
  std::string label_;
  std::size_t total_ = 0;
  std::chrono::steady_clock::time_point last_{};
  bool drawn_ = false;
};

}  // namespace aeqlab
