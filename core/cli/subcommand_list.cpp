// The commands of the `aeqlab` program, one registration line each, in the order `aeqlab --help`
// lists them. An explicit list rather than self-registering static objects: a static library
// drops an object file nothing refers to, and its registration with it.

#include "core/cli/subcommands.hpp"

namespace aeqlab::cli {

// Each defined in core/cli/subcommands/<name>.cpp.
Subcommand train_subcommand();
Subcommand eval_subcommand();
Subcommand config_subcommand();
Subcommand sessions_subcommand();
Subcommand report_subcommand();
Subcommand serve_subcommand();
Subcommand probe_subcommand();
Subcommand circuit_subcommand();
Subcommand sweep_subcommand();

const std::vector<Subcommand>& subcommands() {
  static const std::vector<Subcommand> all = {
      train_subcommand(),    eval_subcommand(),    config_subcommand(),
      sessions_subcommand(), report_subcommand(),  serve_subcommand(),
      probe_subcommand(),    circuit_subcommand(), sweep_subcommand(),
  };
  return all;
}

}  // namespace aeqlab::cli
