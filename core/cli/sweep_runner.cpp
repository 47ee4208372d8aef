#include "core/cli/sweep_runner.hpp"

#include <csignal>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/fmt/fmt.h>

#include "core/cpu_cores.hpp"
#include "core/error.hpp"
#include "core/session_catalog.hpp"

extern char** environ;

namespace aeqlab::cli {

namespace fs = std::filesystem;

namespace {

fs::path this_program() {
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error("cannot find this program (/proc/self/exe) to run the sweep's points");
  return exe;
}

// The environment without the MPI launcher's variables (OMPI_*, PMIX_*, PMI_*): a point started
// by a rank must run as a plain program, not try to join the job as another rank. Built before
// fork, since the child may only make async-signal-safe calls.
std::vector<std::string> plain_environment(std::size_t cores) {
  std::vector<std::string> env;
  // The cores the point may count on (core/cpu_cores.hpp): its share of this machine.
  const std::string mine = std::string(kCoresVariable) + "=";
  if (cores) env.push_back(mine + std::to_string(cores));
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    if (cores && kv.rfind(mine, 0) == 0) continue;
    bool launcher = false;
    for (const char* prefix : {"OMPI_", "PMIX_", "PMI_"}) launcher |= kv.rfind(prefix, 0) == 0;
    if (!launcher) env.push_back(kv);
  }
  return env;
}

int decode(int raw) {
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
}

}  // namespace

PointChild::PointChild(const fs::path& sweep_dir, const SweepPoint& point, std::size_t cores)
    : point_(point) {
  const fs::path session = sweep_dir / point.id;
  std::vector<std::string> args = {this_program().string(), "train"};
  std::error_code ec;
  if (fs::exists(session, ec) && is_session_dir(session)) {
    args.insert(args.end(), {"--resume", session.string()});
  } else {
    // A folder the run made but died in before writing anything is no session: start afresh.
    if (fs::exists(session, ec)) fs::remove_all(session, ec);
    args.insert(args.end(), {"--config", (sweep_dir / "configs" / (point.id + ".json")).string(),
                             "--out", session.string()});
  }
  fs::create_directories(sweep_dir / "logs", ec);
  const fs::path log = sweep_dir / "logs" / (point.id + ".txt");
  std::vector<std::string> env = plain_environment(cores);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0)
    throw DataError(
        fmt::format("{}: cannot open the point's log: {}", log.string(), std::strerror(errno)));
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    // If the sweep dies (SIGKILL, a node lost), its points stop cleanly too, with a checkpoint:
    // the next `aeqlab sweep` resumes them.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(128 + SIGTERM);
    // Its own process group: a Ctrl-C at the terminal reaches the sweep alone, which passes one
    // stop request on; the point must not get a second (that would mean "stop now").
    ::setpgid(0, 0);
    const int in = ::open("/dev/null", O_RDONLY);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(out);
  if (pid_ < 0)
    throw Error(
        fmt::format("point {}: cannot start a process: {}", point.id, std::strerror(errno)));
}

PointChild::~PointChild() {
  if (pid_ > 0 && !status_) {
    stop();
    wait();
  }
}

std::optional<int> PointChild::poll() {
  if (status_ || pid_ <= 0) return status_;
  int raw = 0;
  const pid_t r = ::waitpid(pid_, &raw, WNOHANG);
  if (r == pid_) status_ = decode(raw);
  return status_;
}

void PointChild::stop() {
  if (pid_ > 0 && !status_) ::kill(pid_, SIGTERM);
}

int PointChild::wait() {
  while (!status_) {
    int raw = 0;
    const pid_t r = ::waitpid(pid_, &raw, 0);
    if (r == pid_)
      status_ = decode(raw);
    else if (r < 0 && errno != EINTR)
      status_ = 1;
  }
  return *status_;
}

}  // namespace aeqlab::cli
