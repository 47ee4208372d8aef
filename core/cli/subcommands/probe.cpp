// `aeqlab probe`: the options; probing is probe_command (core/cli/probe_command.cpp).

#include <memory>

#include <CLI/CLI.hpp>

#include "core/cli/probe_command.hpp"
#include "core/cli/subcommands.hpp"

namespace aeqlab::cli {

Subcommand probe_subcommand() {
  return {"probe",
          "list serial ports; ask instruments at addresses (or a bench's) *IDN? and errors",
          [](CLI::App& cmd) -> std::function<int()> {
            auto o = std::make_shared<ProbeOptions>();
            cmd.add_option("address", o->addresses, "tcp://host:port or serial:///dev/...");
            cmd.add_option("--bench", o->bench, "probe every instrument of this bench file")
                ->check(CLI::ExistingFile);
            cmd.add_option("--timeout", o->timeout_s, "seconds to wait for each answer");
            cmd.add_flag("--json", o->json, "one JSON object per line");
            return [o] { return probe_command(*o); };
          }};
}

}  // namespace aeqlab::cli
