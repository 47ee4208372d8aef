// `aeqlab sweep`: the options of a sweep; the sweep itself is sweep_command
// (core/cli/sweep_command.cpp).

#include <memory>

#include <CLI/CLI.hpp>

#include "core/cli/subcommands.hpp"
#include "core/cli/sweep_command.hpp"

namespace aeqlab::cli {

Subcommand sweep_subcommand() {
  return {
      "sweep", "run many sessions over a grid of settings and seeds (docs/sweeps.md)",
      [](CLI::App& cmd) -> std::function<int()> {
        auto o = std::make_shared<SweepOptions>();
        auto index = std::make_shared<long>(-1);
        cmd.add_option("spec", o->spec, "the sweep's SPEC file (JSON: base, grid, random, seeds)")
            ->required()
            ->check(CLI::ExistingFile);
        cmd.add_option("--out", o->out, "the sweep folder: one session per point, sweep.csv")
            ->required();
        cmd.add_option("--jobs", o->jobs, "points run at once on this machine (default 1)");
        cmd.add_option("--index", *index,
                       "run only this point (0-based; e.g. $SLURM_ARRAY_TASK_ID)")
            ->check(CLI::NonNegativeNumber);
        cmd.add_flag("--check", o->check_only, "check the SPEC and list its points; run nothing");
        return [o, index] {
          SweepOptions options = *o;
          if (*index >= 0) options.index = std::size_t(*index);
          return sweep_command(options);
        };
      }};
}

}  // namespace aeqlab::cli
