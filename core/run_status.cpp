#include "core/run_status.hpp"

#include <array>
#include <ostream>
#include <utility>

namespace aeqlab {

namespace {

constexpr std::array<std::pair<RunStatus, const char*>, 6> kNames = {{
    {RunStatus::completed, "completed"},
    {RunStatus::aborted, "aborted"},
    {RunStatus::failed, "failed"},
    {RunStatus::running, "running"},
    {RunStatus::interrupted, "interrupted"},
    {RunStatus::unreadable, "unreadable"},
}};

}  // namespace

const char* to_string(RunStatus status) {
  for (const auto& [s, name] : kNames)
    if (s == status) return name;
  return "unknown";
}

std::optional<RunStatus> run_status_from(std::string_view name) {
  for (const auto& [s, n] : kNames)
    if (name == n) return s;
  return std::nullopt;
}

std::ostream& operator<<(std::ostream& out, RunStatus status) {
  return out << to_string(status);
}

}  // namespace aeqlab
