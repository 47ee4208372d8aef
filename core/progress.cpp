#include "core/progress.hpp"

#include <cstdio>

#include <unistd.h>

namespace aeqlab {

Progress::Progress() : tty_(isatty(STDERR_FILENO) == 1) {}

void Progress::start(std::string label, std::size_t total) {
  label_ = std::move(label);
  total_ = total;
  last_ = {};
  drawn_ = false;
}

void Progress::update(std::size_t done, const std::string& detail) {
  if (!tty_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < std::chrono::milliseconds(200) && done < total_) return;
  last_ = now;
  draw(done, detail);
}

void Progress::draw(std::size_t done, const std::string& detail) {
  constexpr int kWidth = 30;
  const int filled = total_ ? int(double(done) / double(total_) * kWidth) : 0;
  std::string bar(filled, '#');
  bar.resize(kWidth, ' ');
  std::fprintf(stderr, "\r%s [%s] %zu/%zu %s\033[K", label_.c_str(), bar.c_str(), done, total_,
               detail.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::finish() {
  if (tty_ && drawn_) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  }
  drawn_ = false;
}

}  // namespace aeqlab
