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
  std::string bench;
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
            cmd.add_option("--bench", g->bench,
                           "re-point the session's recorded bench at this file's addresses "
                           "(the channel map must match)")
                ->check(CLI::ExistingFile);
            return [g] {
              return eval_command(
                  g->session, g->settings,
                  g->bench.empty() ? std::nullopt : std::optional<std::filesystem::path>(g->bench));
            };
          }};
}

}  // namespace aeqlab::cli
