#pragma once

#include <filesystem>
#include <memory>

namespace spdlog::sinks {
class sink;
}

namespace aeqlab::cli {

// The console's format, on stderr (stdout carries results for scripts). Idempotent; called
// before anything of a command is said, so every line of it looks the same.
void use_console_log();

// Keeps what is said before the session folder exists (opening a bench, resetting the virtual
// bench, the first settings), so log.txt can start with it. Taken off when destroyed.
class EarlyLog {
 public:
  EarlyLog();
  ~EarlyLog();
  EarlyLog(const EarlyLog&) = delete;
  EarlyLog& operator=(const EarlyLog&) = delete;

 private:
  friend class SessionLog;
  std::shared_ptr<spdlog::sinks::sink> sink_;
};

// Everything said on the console also goes to the session's log.txt, so an overnight run's
// warnings survive the terminal that showed them; the lines kept by `early` come first, in the
// same format. The sink is taken off again when the run ends: a Python process trains one
// session after another, and each log.txt holds its own run only.
class SessionLog {
 public:
  SessionLog(const std::filesystem::path& dir, EarlyLog& early);
  ~SessionLog();
  SessionLog(const SessionLog&) = delete;
  SessionLog& operator=(const SessionLog&) = delete;

 private:
  std::shared_ptr<spdlog::sinks::sink> sink_;
};

}  // namespace aeqlab::cli
