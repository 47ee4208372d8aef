// device.threads: "auto" picks threads where they pay, within the idle cores shared by the ranks
// on the machine; a count overrides it; bad values are refused by name.

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../../core/test_support.hpp"
#include "core/cpu_cores.hpp"
#include "core/error.hpp"
#include "sim/hopfield/hopfield_spec.hpp"
#include "sim/hopfield/thread_choice.hpp"

using namespace aeqlab;

namespace {

sim::HopfieldSpec net(std::size_t hidden, std::size_t replicas = 32, bool dbl = false) {
  sim::HopfieldSpec s;
  s.layers = {784, hidden, 10};
  s.replicas = replicas;
  s.double_precision = dbl;
  return s;
}

}  // namespace

TEST(ThreadChoice, AutoSplitsLargeLayersOnlyAndWithinTheCoresLeft) {
  // 784-2048-10, batch 32: 1.38 M multiply-adds per sweep, two blocks of 16 rows: 2 threads.
  EXPECT_EQ(sim::choose_threads(net(2048), 2, 1), 2u);
  EXPECT_EQ(sim::choose_threads(net(2048), 8, 1), 2u);  // no more than the blocks of replicas
  EXPECT_EQ(sim::choose_threads(net(2048, 128), 8, 1), 8u);
  // 784-256-10: a sweep is too short to pay for a barrier.
  EXPECT_EQ(sim::choose_threads(net(256), 2, 1), 1u);
  // Ranks on the machine share its cores: they add to threads, never oversubscribe.
  EXPECT_EQ(sim::choose_threads(net(2048), 2, 2), 1u);
  EXPECT_EQ(sim::choose_threads(net(2048), 4, 2), 2u);
  EXPECT_EQ(sim::choose_threads(net(2048), 1, 1), 1u);
  // float64 blocks are 8 rows: a batch of 8 is one block.
  EXPECT_EQ(sim::choose_threads(net(2048, 8, true), 4, 1), 1u);
  // A count is taken as given.
  auto three = net(256);
  three.threads = 3;
  EXPECT_EQ(sim::choose_threads(three, 1, 4), 3u);
}

TEST(ThreadChoice, AutoIsTheDefaultAndBadValuesAreRefusedByName) {
  EXPECT_EQ(sim::hopfield_spec_from_json(nlohmann::json::object()).threads, 0u);
  EXPECT_EQ(sim::hopfield_spec_from_json({{"threads", "auto"}}).threads, 0u);
  EXPECT_EQ(sim::hopfield_spec_from_json({{"threads", 3u}}).threads, 3u);
  EXPECT_EQ(
      sim::hopfield_spec_to_json(sim::hopfield_spec_from_json({{"threads", "auto"}}))["threads"],
      "auto");
  for (const nlohmann::json& bad : {nlohmann::json("many"), nlohmann::json(0u), nlohmann::json(65u),
                                    nlohmann::json(-1), nlohmann::json(true)}) {
    const std::string e = test_support::error_text([&] {
      sim::hopfield_spec_from_json({{"threads", bad}});
    });
    EXPECT_NE(e.find("device.threads"), std::string::npos) << bad.dump() << ": " << e;
  }
}

TEST(ThreadChoice, AeqlabCoresCapsTheCoresAProcessCountsOn) {
  const char* before = std::getenv(kCoresVariable);
  const std::string kept = before ? before : "";
  ::unsetenv(kCoresVariable);
  const std::size_t all = cores_available();
  EXPECT_GE(all, 1u);
  ::setenv(kCoresVariable, "1", 1);
  EXPECT_EQ(cores_available(), 1u);
  EXPECT_EQ(cores_idle(), 1u);
  ::setenv(kCoresVariable, "nonsense", 1);  // ignored, not trusted
  EXPECT_EQ(cores_available(), all);
  if (before)
    ::setenv(kCoresVariable, kept.c_str(), 1);
  else
    ::unsetenv(kCoresVariable);
}

TEST(ThreadChoice, BusyCoresAreMeasuredFromTheTicksOfTheAllowedCpus) {
  // Two readings of /proc/stat, 100 ticks apart per CPU: cpu0 ran all along, cpu1 idled, cpu2
  // (outside the allowed set) ran too. iowait counts as idle; the aggregate "cpu " line is skipped.
  const char* before =
      "cpu  9 9 9 9 9 9 9 9 0 0\n"
      "cpu0 100 0 0 500 0 0 0 0 0 0\n"
      "cpu1 100 0 0 500 0 0 0 0 0 0\n"
      "cpu2 100 0 0 500 0 0 0 0 0 0\n"
      "intr 12345\n";
  const char* after =
      "cpu  1 1 1 1 1 1 1 1 0 0\n"
      "cpu0 170 10 20 500 0 0 0 0 0 0\n"
      "cpu1 100 0 0 590 10 0 0 0 0 0\n"
      "cpu2 200 0 0 500 0 0 0 0 0 0\n"
      "intr 12399\n";
  cpu_set_t two;
  CPU_ZERO(&two);
  CPU_SET(0, &two);
  CPU_SET(1, &two);
  const CpuTicks b = cpu_ticks(before, two), a = cpu_ticks(after, two);
  EXPECT_EQ(a.total - b.total, 200u);
  EXPECT_EQ(a.busy - b.busy, 100u);
  EXPECT_EQ(busy_cores_between(b, a, 2), 1u);
  cpu_set_t three = two;
  CPU_SET(2, &three);
  EXPECT_EQ(busy_cores_between(cpu_ticks(before, three), cpu_ticks(after, three), 3), 2u);
  // No ticks between the readings, or readings that go backwards: nothing measured as busy.
  EXPECT_EQ(busy_cores_between(a, a, 2), 0u);
  EXPECT_EQ(busy_cores_between(a, b, 2), 0u);
  EXPECT_EQ(cpu_ticks("garbage\ncpuX 1 2\n", two).total, 0u);
}

TEST(ThreadChoice, OnlyWorkWorthSeveralThreadsAsksForTheIdleCores) {
  EXPECT_EQ(sim::threads_worth(net(256)), 1u);
  EXPECT_EQ(sim::threads_worth(net(2048)), 2u);
  EXPECT_EQ(sim::threads_worth(net(2048, 128)), 8u);
  EXPECT_EQ(sim::choose_threads_here(net(256), 1), 1u);
  auto three = net(256);
  three.threads = 3;
  EXPECT_EQ(sim::choose_threads_here(three, 1), 3u);
  const std::size_t here = sim::choose_threads_here(net(2048), 1);
  EXPECT_GE(here, 1u);
  EXPECT_LE(here, std::min<std::size_t>(2, cores_available()));
}
