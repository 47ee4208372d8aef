#include "core/safe_range.hpp"

#include <cmath>

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"

namespace aeqlab {

void require_in_range(const ChannelGroup& group, std::span<const double> values, const char* role) {
  // Fast path for the common case, branch-free so it vectorises; NaN fails both comparisons.
  bool all_inside = true;
  for (const double v : values)
    all_inside &= (v >= group.safe.low) & (v <= group.safe.high) & std::isfinite(v);
  if (all_inside) return;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    if (!std::isfinite(v) || !group.safe.contains(v)) {
      throw SafeRangeError(
          fmt::format("{} channel {}[{}] refused {} {}: outside its safe range [{}, {}] {}", role,
                      group.name, group.count ? i % group.count : i, v, group.unit, group.safe.low,
                      group.safe.high, group.unit));
    }
  }
}

void require_in_range(const SafeRange& range, double value, const char* what) {
  if (!std::isfinite(value) || !range.contains(value)) {
    throw SafeRangeError(fmt::format("{} refused {}: outside its safe range [{}, {}]", what, value,
                                     range.low, range.high));
  }
}

}  // namespace aeqlab
