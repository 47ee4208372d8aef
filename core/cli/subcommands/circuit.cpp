// `aeqlab circuit op|dc|export`: the options; the work is in core/cli/circuit_command.cpp.

#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "core/cli/circuit_command.hpp"
#include "core/cli/subcommands.hpp"

namespace aeqlab::cli {

namespace {

struct Given {
  std::string op_file, op_factorisation = "auto";
  CircuitDcOptions dc;
  std::string dc_file;
  std::string export_session, export_out;
};

}  // namespace

Subcommand circuit_subcommand() {
  return {"circuit",
          "solve a SPICE netlist (R, D, V, I): operating point, DC sweep; export a trained circuit",
          [](CLI::App& cmd) -> std::function<int()> {
            auto g = std::make_shared<Given>();
            cmd.require_subcommand(1);
            auto* op = cmd.add_subcommand("op", "print every node's DC voltage, one per line");
            op->add_option("netlist", g->op_file, "SPICE netlist (.cir)")
                ->required()
                ->check(CLI::ExistingFile);
            const char* const factorisation_help =
                "the solver's factorisation: auto (by the topology), layered, sparse";
            op->add_option("--factorisation", g->op_factorisation, factorisation_help)
                ->check(CLI::IsMember({"auto", "layered", "sparse"}));
            auto* dc = cmd.add_subcommand(
                "dc", "sweep one source like ngspice's .dc: a header, then one row per point");
            dc->add_option("netlist", g->dc_file, "SPICE netlist (.cir)")
                ->required()
                ->check(CLI::ExistingFile);
            dc->add_option("source", g->dc.source, "V or I element to sweep")->required();
            dc->add_option("start", g->dc.start, "first value (SPICE number)")->required();
            dc->add_option("stop", g->dc.stop, "last value, included")->required();
            dc->add_option("step", g->dc.step, "increment")->required();
            auto* exported = cmd.add_subcommand(
                "export", "write the circuit a session trained as a SPICE netlist");
            exported->add_option("session", g->export_session, "session folder")
                ->required()
                ->check(CLI::ExistingDirectory);
            exported->add_option("--out,-o", g->export_out, "netlist file (default: stdout)");
            dc->add_flag("--time", g->dc.time,
                         "print the solve loop's time on stderr: solves N seconds S per_solve_us U "
                         "factorisation F");
            dc->add_option("--factorisation", g->dc.factorisation, factorisation_help)
                ->check(CLI::IsMember({"auto", "layered", "sparse"}));
            return [g, op, dc, exported] {
              if (*op)
                return circuit_op_command(g->op_file, std::cout, std::cerr, g->op_factorisation);
              if (*dc) {
                CircuitDcOptions o = g->dc;
                o.netlist = g->dc_file;
                return circuit_dc_command(o, std::cout, std::cerr);
              }
              if (*exported)
                return circuit_export_command(
                    g->export_session,
                    g->export_out.empty() ? std::nullopt
                                          : std::optional<std::filesystem::path>(g->export_out),
                    std::cout);
              return 0;
            };
          }};
}

}  // namespace aeqlab::cli
