#include "core/emergency_stop.hpp"

#include <poll.h>
#include <unistd.h>

#include "core/stop_request.hpp"

namespace aeqlab {

EmergencyStop::EmergencyStop(std::function<void()> action, std::chrono::milliseconds grace)
    : action_(std::move(action)), grace_(grace) {
  if (urgent_stop_fd() >= 0) thread_ = std::thread([this] { watch(); });
}

EmergencyStop::~EmergencyStop() {
  done_ = true;
  if (thread_.joinable()) thread_.join();
}

void EmergencyStop::watch() {
  pollfd p{urgent_stop_fd(), POLLIN, 0};
  while (!done_) {
    if (::poll(&p, 1, 50) <= 0 || !urgent_stop_requested()) continue;
    auto deadline = std::chrono::steady_clock::now() + grace_;
    bool extended = false;
    while (std::chrono::steady_clock::now() < deadline) {
      if (disarmed_ || done_) return;
      if (reaching_ && !extended) {
        deadline = std::chrono::steady_clock::now() + 5 * grace_;
        extended = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (disarmed_ || done_) return;
    action_();
    _exit(128 + stop_signal());
  }
}

}  // namespace aeqlab
