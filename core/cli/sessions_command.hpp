#pragma once
// `aeqlab sessions [ROOT ...]`: the past sessions under each root, with status and results.

#include <iosfwd>
#include <string>
#include <vector>

namespace aeqlab::cli {

struct SessionsOptions {
  // Folders holding sessions, or session folders themselves; none: the default config's
  // session.root.
  std::vector<std::string> roots;
  bool json = false;  // one JSON object per session per line instead of a table
};

// Prints the table (or JSON lines) on `out`, warnings on `err`. A root that does not exist is a
// ConfigError naming it.
int sessions_command(const SessionsOptions& options, std::ostream& out, std::ostream& err);

}  // namespace aeqlab::cli
