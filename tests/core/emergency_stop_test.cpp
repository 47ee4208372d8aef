// The second Ctrl-C while the device is stuck in a call: the emergency stop brings it to its safe
// state from outside the run, records the stop, and ends the process. Run in a child process,
// since the point is that the process exits.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "core/session.hpp"
#include "core/stop_request.hpp"
#include "core/toy_tasks.hpp"
#include "core/training_run.hpp"
#include "temp_dir.hpp"
#include "test_devices.hpp"

using namespace aeqlab;
using namespace aeqlab::test_devices;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

namespace {

// A device whose third settle never returns (an instrument that stopped answering), and which
// leaves a mark when it is brought to its safe state.
class StuckDevice final : public ForwardingDevice {
 public:
  StuckDevice(Device& inner, fs::path dir) : ForwardingDevice(inner), dir_(std::move(dir)) {}

 private:
  SettleReport do_settle() override {
    if (++settles_ == 3) {
      std::ofstream(dir_ / "stuck") << "stuck";
      std::this_thread::sleep_for(std::chrono::seconds(60));
    }
    return inner_.settle();
  }
  // Like hardware, it acts beside the stuck call: the inner device is not the one stuck.
  void do_safe_state(bool) override {
    std::ofstream(dir_ / "safe") << "safe";
    inner_.safe_state();
  }

  fs::path dir_;
  int settles_ = 0;
};

}  // namespace

TEST(EmergencyStop, ASecondInterruptSafesADeviceStuckInACallAndEndsTheRun) {
  test_support::TempDir tmp;
  const fs::path session_dir = tmp / "run";
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    spdlog::set_level(spdlog::level::off);
    install_stop_handlers();
    TinyHopfield inner(TinyHopfieldSpec{});
    StuckDevice device(inner, tmp.path());
    Session session(session_dir);
    TrainerSettings s;
    s.epochs = 50;
    s.batch_size = 4;
    s.compliance_decay = 1.0;
    run_training(s, device, xor_task(), session);
    _exit(0);  // the run returned: the emergency stop did not take over
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!fs::exists(tmp / "stuck") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(fs::exists(tmp / "stuck")) << "the device never got stuck";
  EXPECT_FALSE(fs::exists(tmp / "safe"));

  kill(child, SIGINT);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  kill(child, SIGINT);
  int raw = 0;
  pid_t done = 0;
  while ((done = waitpid(child, &raw, WNOHANG)) == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (done == 0) {
    kill(child, SIGKILL);
    waitpid(child, &raw, 0);
    FAIL() << "the run did not end after the second interrupt";
  }
  ASSERT_TRUE(WIFEXITED(raw)) << "killed by signal " << WTERMSIG(raw);
  EXPECT_EQ(WEXITSTATUS(raw), 128 + SIGINT);
  EXPECT_TRUE(fs::exists(tmp / "safe")) << "the stuck device was not brought to its safe state";

  // The stop is on record, as the last line of the log.
  std::ifstream log(session_dir / "events.jsonl");
  std::string line, last;
  while (std::getline(log, line)) last = line;
  // value(): a key missing from a damaged last line fails the check, never reads past the object.
  const auto stop = nlohmann::json::parse(last, nullptr, false);
  ASSERT_TRUE(stop.is_object()) << "the last line is not a record: " << last;
  EXPECT_EQ(stop.value("event", ""), "run_stop");
  EXPECT_EQ(stop.value("status", ""), "aborted");
  EXPECT_THAT(stop.value("reason", ""), HasSubstr("emergency stop"));
  EXPECT_EQ(stop.value("safe_state", ""), "reached (emergency stop)");
}
