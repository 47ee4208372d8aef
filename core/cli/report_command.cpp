#include "core/cli/report_command.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>
#include <string_view>

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"
#include "core/stop_request.hpp"

extern char** environ;

namespace aeqlab::cli {

namespace fs = std::filesystem;

namespace {

// core/cli/report.py, compiled in (scripts/embed.cmake) so that the program needs no file beside
// it.
constexpr char kReportScript[] =
#include "report_script.inc"
    ;

constexpr const char* kNeedsMatplotlib =
    "aeqlab report needs python3 with matplotlib (Debian package python3-matplotlib; "
    "scripts/install-deps installs it)";

bool is_executable(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

std::optional<fs::path> find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return std::nullopt;
  std::string_view rest(path);
  while (true) {
    const auto colon = rest.find(':');
    const std::string_view dir = rest.substr(0, colon);
    const fs::path candidate = fs::path(dir.empty() ? "." : std::string(dir)) / name;
    if (is_executable(candidate)) return candidate;
    if (colon == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(colon + 1);
  }
}

// Runs `argv` (argv[0] looked up on PATH when it has no slash) and waits for it. Standard input is
// `input` through a pipe when given, else /dev/null; standard output and error are the program's
// own, or /dev/null when `quiet`. Returns the exit status (128 + signal when killed), -1 when it
// could not be started.
int run_process(const std::vector<std::string>& argv, const std::string* input, bool quiet) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  int pipe_fds[2] = {-1, -1};
  if (input != nullptr && ::pipe(pipe_fds) != 0) return -1;

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (input != nullptr) {
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[0], STDIN_FILENO);
    posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
    posix_spawn_file_actions_addclose(&actions, pipe_fds[1]);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  if (quiet) {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  }
  // The child gets the default SIGPIPE even while this process ignores it (below).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);

  std::cout.flush();
  std::cerr.flush();
  pid_t pid = -1;
  const int spawned = ::posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (input != nullptr) {
    ::close(pipe_fds[0]);
    if (spawned == 0) {
      // A child that exits before reading everything must not kill this process with SIGPIPE.
      struct sigaction ignore {
      }, previous{};
      ignore.sa_handler = SIG_IGN;
      ::sigaction(SIGPIPE, &ignore, &previous);
      std::size_t done = 0;
      while (done < input->size()) {
        const ssize_t n = ::write(pipe_fds[1], input->data() + done, input->size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += std::size_t(n);
      }
      ::sigaction(SIGPIPE, &previous, nullptr);
    }
    ::close(pipe_fds[1]);
  }
  if (spawned != 0) {
    errno = spawned;
    return -1;
  }

  // Polled rather than blocking: a stop request (Ctrl-C sent to this process alone, as a Jupyter
  // kernel's interrupt is) is passed on to the child, so the drawing stops with it.
  int status = 0;
  bool passed_on = false;
  for (;;) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) return -1;
    if (!passed_on && stop_requested()) {
      ::kill(pid, SIGINT);
      passed_on = true;
    }
    ::usleep(20000);
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// The first interpreter that imports matplotlib and numpy: $AEQLAB_PYTHON alone when set, else
// python3 on PATH, then Debian's /usr/bin/python3 (where python3-matplotlib installs; a python3
// earlier on PATH, e.g. pyenv's, may lack it).
std::string find_python() {
  std::vector<std::string> candidates;
  std::string tried;
  if (const char* env = std::getenv("AEQLAB_PYTHON"); env != nullptr && *env != '\0') {
    candidates.push_back(env);
  } else {
    const auto on_path = find_on_path("python3");
    if (on_path) candidates.push_back(on_path->string());
    const fs::path debian = "/usr/bin/python3";
    std::error_code ec;
    if (is_executable(debian) && !(on_path && fs::equivalent(*on_path, debian, ec)))
      candidates.push_back(debian.string());
  }
  for (const auto& python : candidates) {
    if (run_process({python, "-I", "-c", "import matplotlib, numpy"}, nullptr, true) == 0)
      return python;
    tried += (tried.empty() ? "" : ", ") + python;
  }
  if (std::getenv("AEQLAB_PYTHON") != nullptr && !candidates.empty())
    throw std::runtime_error(fmt::format("{}; AEQLAB_PYTHON={} cannot import matplotlib and numpy",
                                         kNeedsMatplotlib, candidates.front()));
  if (candidates.empty())
    throw std::runtime_error(fmt::format("{}; no python3 found on PATH", kNeedsMatplotlib));
  throw std::runtime_error(
      fmt::format("{}; tried {}: none imports matplotlib and numpy", kNeedsMatplotlib, tried));
}

void check_session_folder(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw ConfigError(fmt::format("{}: not a session folder (no such folder)", dir.string()));
  for (const char* file : {"events.jsonl", "metrics.csv", "summary.json"})
    if (fs::exists(dir / file, ec)) return;
  throw ConfigError(fmt::format(
      "{}: not a session folder (no events.jsonl, metrics.csv or summary.json)", dir.string()));
}

}  // namespace

int report_command(const std::vector<fs::path>& sessions, const std::optional<fs::path>& out) {
  if (sessions.empty()) throw ConfigError("aeqlab report: name at least one session folder");
  // A sweep folder (docs/sweeps.md): its table drawn against each swept key, its best points'
  // sessions side by side.
  std::error_code ec;
  const bool sweep = sessions.size() == 1 && fs::exists(sessions.front() / "sweep.csv", ec) &&
                     !fs::exists(sessions.front() / "summary.json", ec);
  if (!sweep)
    for (const auto& dir : sessions) check_session_folder(dir);
  const fs::path out_dir = out                    ? *out
                           : sessions.size() == 1 ? sessions.front() / "report"
                                                  : fs::path("aeqlab-report");
  const std::string python = find_python();

  // Isolated (-I): neither the working folder nor a session folder (which may have come from
  // anyone) is on Python's import path, and no PYTHON* variable or user site is read, so a
  // numpy.py lying there is never run (docs/sessions.md, "Reports").
  std::vector<std::string> argv = {python, "-I", "-", "--out=" + out_dir.string()};
  if (sweep) argv.push_back("--sweep=" + sessions.front().string());
  argv.push_back("--");
  if (!sweep)
    for (const auto& dir : sessions) argv.push_back(dir.string());
  const std::string script(kReportScript);
  const int status = run_process(argv, &script, false);
  if (status < 0)
    throw std::runtime_error(fmt::format("cannot run {}: {}", python, std::strerror(errno)));
  if (stop_requested()) throw Interrupted("report stopped by a stop request (Ctrl-C)");
  return status;
}

}  // namespace aeqlab::cli
