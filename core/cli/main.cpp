// aeqlab: train physical systems with Agnostic Equilibrium Propagation, hardware in the loop.

#include <csignal>
#include <iostream>

#include <CLI/CLI.hpp>

#include "core/cli/circuit_command.hpp"
#include "core/cli/commands.hpp"
#include "core/cli/probe_command.hpp"
#include "core/cli/report_command.hpp"
#include "core/cli/serve_command.hpp"
#include "core/cli/sessions_command.hpp"
#include "core/error.hpp"

int main(int argc, char** argv) {
  // A file-size limit (ulimit -f) would otherwise kill the program mid-write with SIGXFSZ; as
  // an error (EFBIG) it is reported like a full disk, and the run stops cleanly.
  std::signal(SIGXFSZ, SIG_IGN);
  // Output piped into a program that quits (`| head`) must not kill a run with the bench live.
  std::signal(SIGPIPE, SIG_IGN);

  CLI::App app{"aeqlab: train physical systems with Agnostic Equilibrium Propagation"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "aeqlab 0.1.0");

  aeqlab::cli::TrainOptions train;
  std::string train_config, train_out;
  auto* train_cmd = app.add_subcommand(
      "train", "train a device (default: the simulated Hopfield network on MNIST)");
  train_cmd->add_option("--config", train_config, "JSON config file (defaults fill what it omits)")
      ->check(CLI::ExistingFile);
  train_cmd->add_option("--set", train.settings, "override a key: --set trainer.epochs=5");
  train_cmd->add_option("--out", train_out, "session folder (default: sessions/<time>)");
  std::string train_bench;
  train_cmd
      ->add_option("--bench", train_bench,
                   "train on the bench this file describes (instruments and channel map)")
      ->check(CLI::ExistingFile);
  std::string train_resume;
  train_cmd
      ->add_option("--resume", train_resume,
                   "continue an interrupted session from its newest checkpoint")
      ->check(CLI::ExistingDirectory);

  std::string eval_session;
  std::vector<std::string> eval_settings;
  auto* eval_cmd = app.add_subcommand("eval", "evaluate a session's final parameters on its data");
  eval_cmd->add_option("session", eval_session, "session folder")
      ->required()
      ->check(CLI::ExistingDirectory);
  eval_cmd->add_option("--set", eval_settings, "override a key of the session's config");

  bool print_default = false;
  auto* config_cmd = app.add_subcommand("config", "show configuration");
  config_cmd->add_flag("--print-default", print_default, "print the embedded default config");

  aeqlab::cli::SessionsOptions sessions;
  auto* sessions_cmd =
      app.add_subcommand("sessions", "list past sessions with their status and results");
  sessions_cmd->add_option("root", sessions.roots,
                           "folders holding sessions, or session folders (default: sessions)");
  sessions_cmd->add_flag("--json", sessions.json, "one JSON object per session per line");

  std::vector<std::filesystem::path> report_sessions;
  std::string report_out;
  auto* report_cmd = app.add_subcommand(
      "report", "plots (PNG) and an HTML page from session folders, side by side when several");
  report_cmd->add_option("session", report_sessions, "session folder(s)")->required();
  report_cmd->add_option("--out", report_out,
                         "output folder (default: SESSION/report, or ./aeqlab-report for several)");

  aeqlab::cli::ServeOptions serve;
  auto* serve_cmd = app.add_subcommand(
      "serve", "the virtual bench: simulated physics behind SCPI instruments on TCP and PTYs");
  serve_cmd
      ->add_option("--bench", serve.bench, "bench file (default: a bench over the default device)")
      ->check(CLI::ExistingFile);
  serve_cmd
      ->add_option("--config", serve.config,
                   "without --bench: serve this training config's device, laid out on instruments")
      ->check(CLI::ExistingFile);
  serve_cmd->add_option("--bench-out", serve.bench_out,
                        "write the bench with the served addresses here, for train --bench");
  serve_cmd->add_option("--transport", serve.transport, "addresses --bench-out uses: tcp or serial")
      ->check(CLI::IsMember({"tcp", "serial"}));
  serve_cmd->add_option("--set", serve.settings,
                        "override a bench key: --set virtual.latency_ms=1");

  aeqlab::cli::ProbeOptions probe;
  auto* probe_cmd = app.add_subcommand(
      "probe", "list serial ports; ask instruments at addresses (or a bench's) *IDN? and errors");
  probe_cmd->add_option("address", probe.addresses, "tcp://host:port or serial:///dev/...");
  probe_cmd->add_option("--bench", probe.bench, "probe every instrument of this bench file")
      ->check(CLI::ExistingFile);
  probe_cmd->add_option("--timeout", probe.timeout_s, "seconds to wait for each answer");
  probe_cmd->add_flag("--json", probe.json, "one JSON object per line");

  auto* circuit_cmd = app.add_subcommand(
      "circuit",
      "solve a SPICE netlist (R, D, V, I): operating point, DC sweep; export a trained circuit");
  circuit_cmd->require_subcommand(1);
  std::string circuit_op_file;
  auto* circuit_op_cmd =
      circuit_cmd->add_subcommand("op", "print every node's DC voltage, one per line");
  circuit_op_cmd->add_option("netlist", circuit_op_file, "SPICE netlist (.cir)")
      ->required()
      ->check(CLI::ExistingFile);
  aeqlab::cli::CircuitDcOptions circuit_dc;
  std::string circuit_dc_file;
  auto* circuit_dc_cmd = circuit_cmd->add_subcommand(
      "dc", "sweep one source like ngspice's .dc: a header, then one row per point");
  circuit_dc_cmd->add_option("netlist", circuit_dc_file, "SPICE netlist (.cir)")
      ->required()
      ->check(CLI::ExistingFile);
  circuit_dc_cmd->add_option("source", circuit_dc.source, "V or I element to sweep")->required();
  circuit_dc_cmd->add_option("start", circuit_dc.start, "first value (SPICE number)")->required();
  circuit_dc_cmd->add_option("stop", circuit_dc.stop, "last value, included")->required();
  circuit_dc_cmd->add_option("step", circuit_dc.step, "increment")->required();
  std::string circuit_export_session, circuit_export_out;
  auto* circuit_export_cmd = circuit_cmd->add_subcommand(
      "export", "write the circuit a session trained as a SPICE netlist");
  circuit_export_cmd->add_option("session", circuit_export_session, "session folder")
      ->required()
      ->check(CLI::ExistingDirectory);
  circuit_export_cmd->add_option("--out,-o", circuit_export_out, "netlist file (default: stdout)");
  circuit_dc_cmd->add_flag(
      "--time", circuit_dc.time,
      "print the solve loop's time on stderr: solves N seconds S per_solve_us U");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and version are "errors" to CLI11 that exit 0; anything else is a usage error: 2.
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  try {
    if (*train_cmd) {
      if (!train_config.empty()) train.config = train_config;
      if (!train_out.empty()) train.out = train_out;
      if (!train_resume.empty()) train.resume = train_resume;
      if (!train_bench.empty()) train.bench = train_bench;
      return aeqlab::cli::train_command(train);
    }
    if (*serve_cmd) return aeqlab::cli::serve_command(serve);
    if (*probe_cmd) return aeqlab::cli::probe_command(probe);
    if (*eval_cmd) return aeqlab::cli::eval_command(eval_session, eval_settings);
    if (*report_cmd)
      return aeqlab::cli::report_command(
          report_sessions,
          report_out.empty() ? std::nullopt : std::optional<std::filesystem::path>(report_out));
    if (*circuit_op_cmd)
      return aeqlab::cli::circuit_op_command(circuit_op_file, std::cout, std::cerr);
    if (*circuit_dc_cmd) {
      circuit_dc.netlist = circuit_dc_file;
      return aeqlab::cli::circuit_dc_command(circuit_dc, std::cout, std::cerr);
    }
    if (*circuit_export_cmd)
      return aeqlab::cli::circuit_export_command(
          circuit_export_session,
          circuit_export_out.empty() ? std::nullopt
                                     : std::optional<std::filesystem::path>(circuit_export_out),
          std::cout);
    if (*sessions_cmd) return aeqlab::cli::sessions_command(sessions, std::cout, std::cerr);
    if (*config_cmd) {
      if (print_default) return aeqlab::cli::print_default_config();
      std::cerr << config_cmd->help();
      return 2;
    }
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
