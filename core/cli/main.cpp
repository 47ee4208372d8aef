// aeqlab: train physical systems with Agnostic Equilibrium Propagation, hardware in the loop.

#include <csignal>
#include <functional>
#include <iostream>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/cli/subcommands.hpp"
#include "core/error.hpp"
#include "core/stop_request.hpp"

int main(int argc, char** argv) {
  // A file-size limit (ulimit -f) would otherwise kill the program mid-write with SIGXFSZ; as
  // an error (EFBIG) it is reported like a full disk, and the run stops cleanly.
  std::signal(SIGXFSZ, SIG_IGN);
  // Output piped into a program that quits (`| head`) must not kill a run with the bench live.
  std::signal(SIGPIPE, SIG_IGN);

  CLI::App app{"aeqlab: train physical systems with Agnostic Equilibrium Propagation"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "aeqlab 0.1.0");

  // Every command registered in core/cli/subcommand_list.cpp, with what runs it once parsed.
  std::vector<std::pair<CLI::App*, std::function<int()>>> commands;
  for (const auto& c : aeqlab::cli::subcommands()) {
    CLI::App* command = app.add_subcommand(c.name, c.description);
    commands.emplace_back(command, c.add(*command));
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and version are "errors" to CLI11 that exit 0; anything else is a usage error: 2.
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  try {
    for (const auto& [command, run] : commands)
      if (*command) return run();
  } catch (const aeqlab::Interrupted& e) {
    // Stopped by Ctrl-C or SIGTERM (eval, report, probe): the shell's convention, 128 + signal,
    // as a stopped `train` exits.
    std::cerr << "aeqlab: stopped: " << e.what() << "\n";
    return 128 + (aeqlab::stop_signal() ? aeqlab::stop_signal() : SIGINT);
  } catch (const aeqlab::ConfigError& e) {
    std::cerr << "aeqlab: config error: " << e.what() << "\n";
    return 2;
  } catch (const aeqlab::DataError& e) {
    std::cerr << "aeqlab: data error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "aeqlab: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
