// `aeqlab eval SESSION`: a thin entry over eval_command (core/cli/commands.cpp).

#include <memory>

#include <CLI/CLI.hpp>

#include "core/cli/commands.hpp"
#include "core/cli/subcommands.hpp"

namespace aeqlab::cli {

namespace {

struct Given {
  std::string session;
  std::vector<std::string> settings;
};

}  // namespace

Subcommand eval_subcommand() {
  return {"eval", "evaluate a session's final parameters on its data",
          [](CLI::App& cmd) -> std::function<int()> {
            auto g = std::make_shared<Given>();
            cmd.add_option("session", g->session, "session folder")
                ->required()
                ->check(CLI::ExistingDirectory);
            cmd.add_option("--set", g->settings, "override a key of the session's config");
            return [g] { return eval_command(g->session, g->settings); };
          }};
}

}  // namespace aeqlab::cli
