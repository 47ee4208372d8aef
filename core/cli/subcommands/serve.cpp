// `aeqlab serve`: the options of the virtual bench; serving is serve_command
// (core/cli/serve_command.cpp).

#include <memory>

#include <CLI/CLI.hpp>

#include "core/cli/serve_command.hpp"
#include "core/cli/subcommands.hpp"

namespace aeqlab::cli {

Subcommand serve_subcommand() {
  return {
      "serve", "the virtual bench: simulated physics behind SCPI instruments on TCP and PTYs",
      [](CLI::App& cmd) -> std::function<int()> {
        auto o = std::make_shared<ServeOptions>();
        cmd.add_option("--bench", o->bench, "bench file (default: a bench over the default device)")
            ->check(CLI::ExistingFile);
        cmd.add_option(
               "--config", o->config,
               "without --bench: serve this training config's device, laid out on instruments")
            ->check(CLI::ExistingFile);
        cmd.add_option("--bench-out", o->bench_out,
                       "write the bench with the served addresses here, for train --bench");
        cmd.add_option("--transport", o->transport, "addresses --bench-out uses: tcp or serial")
            ->check(CLI::IsMember({"tcp", "serial"}));
        cmd.add_option("--set", o->settings, "override a bench key: --set virtual.latency_ms=1");
        return [o] { return serve_command(*o); };
      }};
}

}  // namespace aeqlab::cli
