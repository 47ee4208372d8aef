// `aeqlab train`: the options of a run; the run itself is train_command (core/cli/commands.cpp).

#include <memory>

#include <CLI/CLI.hpp>

#include <iostream>

#include "core/cli/commands.hpp"
#include "core/cli/mpi_world.hpp"
#include "core/cli/subcommands.hpp"
#include "core/error.hpp"

namespace aeqlab::cli {

namespace {

struct Given {
  TrainOptions train;
  std::string config, out, bench, resume, init_from;
  std::size_t epochs = 0;
};

}  // namespace

Subcommand train_subcommand() {
  return {"train", "train a device (default: the simulated Hopfield network on MNIST)",
          [](CLI::App& cmd) -> std::function<int()> {
            auto g = std::make_shared<Given>();
            cmd.add_option("--config", g->config, "JSON config file (defaults fill what it omits)")
                ->check(CLI::ExistingFile);
            cmd.add_option("--set", g->train.settings, "override a key: --set trainer.epochs=5");
            cmd.add_option("--out", g->out, "session folder (default: sessions/<time>)");
            cmd.add_option("--bench", g->bench,
                           "train on the bench this file describes (instruments and channel map)")
                ->check(CLI::ExistingFile);
            cmd.add_option("--epochs", g->epochs,
                           "with --resume: extend the session to this many epochs in all (a "
                           "completed session too)");
            cmd.add_option("--init-from", g->init_from,
                           "start from this session's final parameters (same device shape)")
                ->check(CLI::ExistingDirectory);
            cmd.add_option("--resume", g->resume,
                           "continue an interrupted session from its newest checkpoint (with "
                           "--bench: its recorded bench re-pointed at that file's addresses)")
                ->check(CLI::ExistingDirectory);
            return [g] {
              TrainOptions o = g->train;
              if (!g->config.empty()) o.config = g->config;
              if (!g->out.empty()) o.out = g->out;
              if (!g->resume.empty()) o.resume = g->resume;
              if (!g->bench.empty()) o.bench = g->bench;
              if (!g->init_from.empty()) o.init_from = g->init_from;
              if (g->epochs) {
                if (!o.resume)
                  throw ConfigError(
                      "--epochs extends a session: give it with --resume DIR "
                      "(a new session takes --set trainer.epochs=N)");
                o.extend_to = g->epochs;
              }
              try {
                return train_command(o);
              } catch (const ConfigError&) {
                throw;  // the same on every rank, found before any rank waits for another
              } catch (const DataError&) {
                throw;
              } catch (const std::exception& e) {
                // A fault on one rank of a data-parallel run would leave the others waiting for
                // it in a collective: end them all (docs/mpi.md).
                if (mpi::size() > 1) {
                  std::cerr << "aeqlab: rank " << mpi::rank() << ": error: " << e.what() << "\n";
                  mpi::abort(1);
                }
                throw;
              }
            };
          }};
}

}  // namespace aeqlab::cli
