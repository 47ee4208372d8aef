#pragma once
// The commands of the `aeqlab` program (`aeqlab train`, `aeqlab serve`, ...): one entry each, in
// its own file under core/cli/subcommands/, and one registration line in
// core/cli/subcommand_list.cpp. main() adds them to the command line in that order and runs the
// one given (docs/architecture.md, "How to add a command").

#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace aeqlab::cli {

struct Subcommand {
  std::string name;         // as typed: `aeqlab <name>`
  std::string description;  // one line in `aeqlab --help`
  // Adds the command's options and arguments to its CLI11 subcommand, and returns what runs it
  // once the command line is parsed (by then the options hold what was given). The runner
  // returns the exit status; ConfigError and DataError escaping it exit 2, anything else 1.
  std::function<std::function<int()>(CLI::App& command)> add;
};

// Every registered command, in the order `aeqlab --help` lists them.
const std::vector<Subcommand>& subcommands();

}  // namespace aeqlab::cli
