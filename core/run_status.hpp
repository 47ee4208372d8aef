#pragma once
// How a run stands, as summary.json, the run_stop event and `aeqlab sessions` name it. The names
// are part of the session's public format: to_string and run_status_from are the one place they
// are spelled.

#include <iosfwd>
#include <optional>
#include <string_view>

namespace aeqlab {

enum class RunStatus {
  // How a run ends (summary.json, run_stop):
  completed,  // every epoch trained, the record whole
  aborted,    // stopped on request (a signal); resumable
  failed,     // a fault, a refused write or safe state not reached; resumable once fixed
  // What the listing of sessions adds for a session that has not ended:
  running,      // a live process holds its lock
  interrupted,  // the process died mid-run: resumable with `aeqlab train --resume DIR`
  unreadable,   // the folder could not be read at all
};

const char* to_string(RunStatus status);
// The status a record names; nothing for a name it does not know.
std::optional<RunStatus> run_status_from(std::string_view name);

// A status equals its name as the record writes it.
inline bool operator==(RunStatus status, std::string_view name) {
  return to_string(status) == name;
}
std::ostream& operator<<(std::ostream& out, RunStatus status);

}  // namespace aeqlab
