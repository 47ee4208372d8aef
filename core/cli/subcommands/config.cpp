// `aeqlab config --print-default`: the embedded default config.

#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "core/cli/commands.hpp"
#include "core/cli/subcommands.hpp"

namespace aeqlab::cli {

Subcommand config_subcommand() {
  return {"config", "show configuration", [](CLI::App& cmd) -> std::function<int()> {
            auto print_default = std::make_shared<bool>(false);
            cmd.add_flag("--print-default", *print_default, "print the embedded default config");
            return [print_default, &cmd] {
              if (*print_default) return print_default_config();
              std::cerr << cmd.help();
              return 2;
            };
          }};
}

}  // namespace aeqlab::cli
