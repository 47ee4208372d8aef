#include "core/cpu_cores.hpp"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <thread>

namespace aeqlab {

std::size_t cores_available() {
  std::size_t n = std::max(1u, std::thread::hardware_concurrency());
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
    n = std::size_t(CPU_COUNT(&set));
  if (const char* text = std::getenv(kCoresVariable)) {
    char* end = nullptr;
    const long given = std::strtol(text, &end, 10);
    if (end != text && *end == '\0' && given >= 1) n = std::min(n, std::size_t(given));
  }
  return n;
}

std::size_t cores_idle() {
  const std::size_t n = cores_available();
  std::ifstream in("/proc/loadavg");
  double load = 0.0;
  if (!(in >> load) || !(load >= 0.0)) return n;
  const auto busy = std::size_t(std::floor(std::min(load, double(n))));
  return busy < n ? n - busy : 1;
}

}  // namespace aeqlab
