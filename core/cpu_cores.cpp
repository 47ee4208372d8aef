#include "core/cpu_cores.hpp"

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

namespace aeqlab {

namespace {

cpu_set_t affinity() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0 || CPU_COUNT(&set) == 0) {
    CPU_ZERO(&set);
    for (unsigned c = 0; c < std::max(1u, std::thread::hardware_concurrency()); ++c)
      CPU_SET(c, &set);
  }
  return set;
}

std::string read_text(const char* path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The whole processes the one-minute load average counts as running, on at most n cores.
std::size_t busy_by_load_average(std::size_t n) {
  std::ifstream in("/proc/loadavg");
  double load = 0.0;
  if (!(in >> load) || !(load >= 0.0)) return 0;
  return std::size_t(std::floor(std::min(load, double(n))));
}

}  // namespace

CpuTicks cpu_ticks(std::string_view proc_stat, const cpu_set_t& cpus) {
  CpuTicks t;
  std::istringstream in{std::string(proc_stat)};
  std::string line;
  while (std::getline(in, line)) {
    // "cpuN user nice system idle iowait irq softirq steal ...": the per-CPU lines only.
    if (line.size() < 4 || line.compare(0, 3, "cpu") != 0 || line[3] == ' ') continue;
    std::istringstream fields(line.substr(3));
    int cpu = -1;
    if (!(fields >> cpu) || cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &cpus)) continue;
    unsigned long long v[8] = {};
    for (auto& x : v)
      if (!(fields >> x)) break;
    const unsigned long long idle = v[3] + v[4];
    const unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    t.busy += busy;
    t.total += busy + idle;
  }
  return t;
}

std::size_t busy_cores_between(const CpuTicks& before, const CpuTicks& after, std::size_t n) {
  if (after.total <= before.total || after.busy < before.busy) return 0;
  const double share = double(after.busy - before.busy) / double(after.total - before.total);
  return std::min(n, std::size_t(std::lround(share * double(n))));
}

std::size_t cores_available() {
  const cpu_set_t set = affinity();
  std::size_t n = std::size_t(CPU_COUNT(&set));
  if (const char* text = std::getenv(kCoresVariable)) {
    char* end = nullptr;
    const long given = std::strtol(text, &end, 10);
    if (end != text && *end == '\0' && given >= 1) n = std::min(n, std::size_t(given));
  }
  return n;
}

std::size_t cores_idle() {
  // One figure per run: the thread choice and the log line that reports it read the same one.
  static std::mutex mutex;
  static std::chrono::steady_clock::time_point taken;
  static std::size_t kept = 0;
  const std::lock_guard lock(mutex);
  const auto now = std::chrono::steady_clock::now();
  if (kept != 0 && now - taken < std::chrono::seconds(2)) return kept;

  const std::size_t n = cores_available();
  std::size_t busy = busy_by_load_average(n);
  if (busy > 0) {
    // The load average trails a minute behind: a program that just ended still counts. What the
    // allowed CPUs did over the last tenth of a second says whether the cores are busy now.
    const cpu_set_t set = affinity();
    const CpuTicks before = cpu_ticks(read_text("/proc/stat"), set);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const CpuTicks after = cpu_ticks(read_text("/proc/stat"), set);
    if (after.total > before.total)
      busy = std::min(busy, busy_cores_between(before, after, std::size_t(CPU_COUNT(&set))));
  }
  kept = busy < n ? n - busy : 1;
  taken = std::chrono::steady_clock::now();
  return kept;
}

}  // namespace aeqlab
