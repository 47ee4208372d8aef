#include "core/stop_request.hpp"

#include <atomic>
#include <csignal>
#include <functional>

#include <fcntl.h>
#include <unistd.h>

#include "core/error.hpp"

namespace aeqlab {

namespace {
std::atomic<int> g_signal{0};
std::atomic<int> g_count{0};
int g_pipe[2] = {-1, -1};
std::function<bool(bool)> g_agree;  // set by share_stop_requests, on the run's thread
bool g_agreed = false;

extern "C" void on_stop_signal(int sig) {
  // Only async-signal-safe calls here.
  const int n = g_count.fetch_add(1) + 1;
  if (n == 1) {
    g_signal.store(sig);
    const char msg[] = "\naeqlab: stopping after the current step (interrupt again to stop now)\n";
    (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
  } else if (n == 2) {
    const char msg[] =
        "\naeqlab: stopping now, bringing the device to its safe state (interrupt again to exit "
        "without it)\n";
    (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
    if (g_pipe[1] >= 0) (void)!write(g_pipe[1], "!", 1);
  } else {
    const char msg[] = "\naeqlab: third interrupt, exiting without safe state\n";
    (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
    _exit(128 + sig);
  }
}
}  // namespace

void install_stop_handlers() {
  if (g_pipe[0] < 0 && pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) g_pipe[0] = g_pipe[1] = -1;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // file and socket I/O carry on; the flags are polled
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  // A closed terminal or SSH session is a request to stop like any other, not a reason to leave
  // the bench live.
  sigaction(SIGHUP, &sa, nullptr);
}

bool stop_requested() {
  const bool mine = g_count.load(std::memory_order_relaxed) != 0;
  if (!g_agree) return mine;
  if (!g_agreed) g_agreed = g_agree(mine);
  return g_agreed;
}
void share_stop_requests(std::function<bool(bool mine)> agree) {
  g_agree = std::move(agree);
  g_agreed = false;
}
bool urgent_stop_requested() {
  return g_count.load(std::memory_order_relaxed) >= 2;
}
int stop_signal() {
  return g_signal.load();
}
void clear_stop_request() {
  g_count = 0;
  g_agreed = false;
  g_signal = 0;
  if (g_pipe[0] >= 0) {
    char buf[16];
    while (read(g_pipe[0], buf, sizeof buf) > 0) {
    }
  }
}
void throw_if_urgent_stop() {
  if (urgent_stop_requested()) throw Interrupted("a second interrupt stopped the work in progress");
}
int urgent_stop_fd() {
  return g_pipe[0];
}

}  // namespace aeqlab
