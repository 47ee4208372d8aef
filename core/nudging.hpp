#pragma once
// The two nudgings of an AEqprop step (docs/algorithm.md §2): the homeostatic phase runs at
// `first`, the free-knob phase at `second`; the step is an SGD step of size eps * (second - first).

#include <string>

namespace aeqlab {

enum class NudgingMode { optimistic, pessimistic, centered };

struct Nudgings {
  double first = 0.0;
  double second = 0.0;
};

Nudgings nudgings_for(NudgingMode mode, double beta);
NudgingMode nudging_mode_from(const std::string& name);  // throws ConfigError
std::string to_string(NudgingMode mode);

}  // namespace aeqlab
