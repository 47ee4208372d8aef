// `aeqlab report SESSION...`: a thin entry over report_command (core/cli/report_command.cpp).

#include <memory>

#include <CLI/CLI.hpp>

#include "core/cli/report_command.hpp"
#include "core/cli/subcommands.hpp"

namespace aeqlab::cli {

namespace {

struct Given {
  std::vector<std::filesystem::path> sessions;
  std::string out;
};

}  // namespace

Subcommand report_subcommand() {
  return {
      "report", "plots (PNG) and an HTML page from session folders, side by side when several",
      [](CLI::App& cmd) -> std::function<int()> {
        auto g = std::make_shared<Given>();
        cmd.add_option("session", g->sessions, "session folder(s)")->required();
        cmd.add_option("--out", g->out,
                       "output folder (default: SESSION/report, or ./aeqlab-report for several)");
        return [g] {
          return report_command(g->sessions, g->out.empty()
                                                 ? std::nullopt
                                                 : std::optional<std::filesystem::path>(g->out));
        };
      }};
}

}  // namespace aeqlab::cli
