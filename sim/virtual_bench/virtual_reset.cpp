// `*RST` on a virtual instrument: the physics and every instrument of the bench back to the state
// the server started in, so a dry run does not start from the previous session's trained state.
// docs/virtual-bench.md, "*RST".
#include <sstream>

#include "sim/virtual_bench/virtual_physics.hpp"

namespace aeqlab::sim {

void VirtualPhysics::remember_initial_state() {
  if (!device_.describe().capabilities.snapshot) return;
  std::ostringstream out;
  device_.save_snapshot(out);
  initial_state_ = std::move(out).str();
}

bool VirtualPhysics::reset() {
  if (initial_state_.empty()) return false;
  std::istringstream in(initial_state_);
  device_.restore_snapshot(in);
  for (auto& role : roles_) {
    if (role.measured) {
      role.target_valid = role.from_valid = false;
    } else {
      role.staged.assign(role.staged.size(), role.config->group.safe_value);
      role.written.assign(role.written.size(), 0);
      role.dirty = false;
    }
  }
  for (auto& ins : instruments_) ins.loose.assign(ins.loose.size(), 0.0);
  dirty_ = changed_ = false;
  ++resets_;
  return true;
}

}  // namespace aeqlab::sim
