#include "core/stop_request.hpp"

#include <atomic>
#include <csignal>

#include <unistd.h>

namespace aeqlab {

namespace {
std::atomic<int> g_signal{0};

extern "C" void on_stop_signal(int sig) {
  if (g_signal.exchange(sig) != 0) {
    // Second request: no more waiting. Only async-signal-safe calls here.
    const char msg[] = "\naeqlab: second interrupt, exiting now\n";
    (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
    _exit(128 + sig);
  }
  const char msg[] = "\naeqlab: stopping after the current step (interrupt again to exit now)\n";
  (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
}
}  // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool stop_requested() {
  return g_signal.load(std::memory_order_relaxed) != 0;
}
int stop_signal() {
  return g_signal.load();
}
void clear_stop_request() {
  g_signal = 0;
}

}  // namespace aeqlab
