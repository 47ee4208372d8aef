#include "core/nudging.hpp"

#include "core/error.hpp"

namespace aeqlab {

Nudgings nudgings_for(NudgingMode mode, double beta) {
  switch (mode) {
    case NudgingMode::optimistic:
      return {0.0, beta};
    case NudgingMode::pessimistic:
      return {-beta, 0.0};
    case NudgingMode::centered:
      break;
  }
  return {-beta / 2, beta / 2};
}

NudgingMode nudging_mode_from(const std::string& name) {
  if (name == "optimistic") return NudgingMode::optimistic;
  if (name == "pessimistic") return NudgingMode::pessimistic;
  if (name == "centered") return NudgingMode::centered;
  throw ConfigError("trainer.mode: \"" + name +
                    "\" is not one of: optimistic, pessimistic, centered");
}

std::string to_string(NudgingMode mode) {
  switch (mode) {
    case NudgingMode::optimistic:
      return "optimistic";
    case NudgingMode::pessimistic:
      return "pessimistic";
    case NudgingMode::centered:
      break;
  }
  return "centered";
}

}  // namespace aeqlab
