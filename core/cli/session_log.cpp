#include "core/cli/session_log.hpp"

#include <algorithm>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace aeqlab::cli {

namespace {

// More than a bench of many instruments says while it opens; older lines would be dropped.
constexpr std::size_t kEarlyLines = 4096;

void take_off(const std::shared_ptr<spdlog::sinks::sink>& sink) {
  auto& sinks = spdlog::default_logger()->sinks();
  sinks.erase(std::remove(sinks.begin(), sinks.end(), sink), sinks.end());
}

}  // namespace

void use_console_log() {
  static bool to_stderr = [] {
    spdlog::set_default_logger(spdlog::stderr_color_mt("aeqlab"));
    spdlog::set_pattern("[%H:%M:%S] %^%l%$ %v");
    return true;
  }();
  (void)to_stderr;
}

EarlyLog::EarlyLog() {
  use_console_log();
  sink_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(kEarlyLines);
  spdlog::default_logger()->sinks().push_back(sink_);
}

EarlyLog::~EarlyLog() {
  if (sink_) take_off(sink_);
}

SessionLog::SessionLog(const std::filesystem::path& dir, EarlyLog& early) {
  std::vector<spdlog::details::log_msg_buffer> kept;
  if (early.sink_) {
    take_off(early.sink_);
    kept = std::static_pointer_cast<spdlog::sinks::ringbuffer_sink_mt>(early.sink_)->last_raw();
    early.sink_.reset();
  }
  try {
    sink_ = std::make_shared<spdlog::sinks::basic_file_sink_mt>((dir / "log.txt").string());
    sink_->set_pattern("[%Y-%m-%d %H:%M:%S.%e] %l %v");
    // Written with their own time and level, in the file's format.
    for (const auto& m : kept) sink_->log(m);
    sink_->flush();
    spdlog::default_logger()->sinks().push_back(sink_);
    spdlog::default_logger()->flush_on(spdlog::level::info);
  } catch (const spdlog::spdlog_ex& e) {
    spdlog::warn("{}: cannot keep the console log there: {}", dir.string(), e.what());
  }
}

SessionLog::~SessionLog() {
  if (sink_) take_off(sink_);
}

}  // namespace aeqlab::cli
