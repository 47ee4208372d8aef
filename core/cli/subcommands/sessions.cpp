// `aeqlab sessions [ROOT ...]`: a thin entry over sessions_command (core/cli/sessions_command.cpp).

#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "core/cli/sessions_command.hpp"
#include "core/cli/subcommands.hpp"

namespace aeqlab::cli {

Subcommand sessions_subcommand() {
  return {"sessions", "list past sessions with their status and results",
          [](CLI::App& cmd) -> std::function<int()> {
            auto o = std::make_shared<SessionsOptions>();
            cmd.add_option("root", o->roots,
                           "folders holding sessions, or session folders (default: sessions)");
            cmd.add_flag("--json", o->json, "one JSON object per session per line");
            return [o] { return sessions_command(*o, std::cout, std::cerr); };
          }};
}

}  // namespace aeqlab::cli
