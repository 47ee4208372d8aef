#pragma once
// Every value sent to a device passes through here first: out-of-range values and non-finite
// values are refused with an error naming the channel, and nothing of the request is applied.

#include <span>

#include "core/device.hpp"

namespace aeqlab {

void require_in_range(const ChannelGroup& group, std::span<const double> values, const char* role);
void require_in_range(const SafeRange& range, double value, const char* what);

}  // namespace aeqlab
