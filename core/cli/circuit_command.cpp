#include "core/cli/circuit_command.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <vector>

#include <fstream>

#include <spdlog/fmt/fmt.h>

#include "core/cli/default_config.hpp"
#include "core/cli/device_factory.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "sim/circuit/circuit_device.hpp"
#include "sim/circuit/circuit_netlist.hpp"
#include "sim/circuit/circuit_solver.hpp"

namespace aeqlab::cli {

namespace {

std::string format12(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.12g", v);
  return buffer;
}

std::vector<double> values_of(const sim::Circuit& circuit) {
  std::vector<double> values;
  values.reserve(circuit.elements.size());
  for (const auto& e : circuit.elements) values.push_back(e.value);
  return values;
}

std::string why_not_converged(const sim::SolveResult& r) {
  return "did not converge after " + std::to_string(r.iterations) +
         " iterations (largest current imbalance " + format12(r.residual) + " A)";
}

double sweep_argument(const std::string& text, const char* what) {
  double v = 0.0;
  if (!sim::parse_spice_number(text, v) || !std::isfinite(v))
    throw ConfigError(std::string("circuit dc: ") + what + " '" + text + "' is not a number");
  return v;
}

sim::SolveSettings settings_for(const std::string& factorisation) {
  sim::SolveSettings s;
  if (factorisation == "layered")
    s.factorisation = sim::Factorisation::layered;
  else if (factorisation == "sparse")
    s.factorisation = sim::Factorisation::sparse;
  else if (factorisation != "auto")
    throw ConfigError("circuit: --factorisation '" + factorisation +
                      "' is not one of auto, layered, sparse");
  return s;
}

}  // namespace

int circuit_op_command(const std::filesystem::path& netlist, std::ostream& out, std::ostream& err,
                       const std::string& factorisation) {
  const sim::SolveSettings settings = settings_for(factorisation);
  const sim::Circuit circuit = sim::load_netlist(netlist);
  sim::CircuitSolver solver(circuit, settings);
  const std::vector<double> values = values_of(circuit);
  std::vector<double> voltages(circuit.nodes.size(), 0.0);
  const auto result = solver.solve(values, voltages);
  if (!result.converged) {
    err << "aeqlab: circuit op: " << netlist.string() << ": " << why_not_converged(result) << "\n";
    return 1;
  }
  for (std::size_t n = 1; n < circuit.nodes.size(); ++n)
    out << circuit.nodes[n] << ' ' << format12(voltages[n]) << '\n';
  return 0;
}

int circuit_dc_command(const CircuitDcOptions& options, std::ostream& out, std::ostream& err) {
  const double start = sweep_argument(options.start, "START");
  const double stop = sweep_argument(options.stop, "STOP");
  const double step = sweep_argument(options.step, "STEP");
  if (step == 0.0) throw ConfigError("circuit dc: STEP must not be 0");
  // ngspice's rule: every point up to STOP, none beyond it; the slack only absorbs rounding, so
  // "0 1 0.1" ends on 1 and "0 1 0.35" on 0.7, as in ngspice.
  const double span = (stop - start) / step;
  if (span < -1e-9)
    throw ConfigError("circuit dc: STEP " + options.step + " leads away from STOP " + options.stop);
  constexpr double kMaxPoints = 1e8;
  if (span + 1 > kMaxPoints)
    throw ConfigError("circuit dc: " + options.start + " to " + options.stop + " by " +
                      options.step + " is more than 1e8 points");
  const auto points = static_cast<std::size_t>(std::floor(std::max(span, 0.0) + 1e-9)) + 1;

  const sim::Circuit circuit = sim::load_netlist(options.netlist);
  const auto swept = circuit.find_element(options.source);
  if (!swept)
    throw ConfigError("circuit dc: no element '" + options.source + "' in " +
                      options.netlist.string());
  const auto kind = circuit.elements[*swept].kind;
  if (kind != sim::ElementKind::voltage_source && kind != sim::ElementKind::current_source)
    throw ConfigError("circuit dc: '" + options.source + "' in " + options.netlist.string() +
                      " is not a voltage or current source");

  sim::CircuitSolver solver(circuit, settings_for(options.factorisation));
  std::vector<double> values = values_of(circuit);
  std::vector<double> voltages(circuit.nodes.size(), 0.0);

  std::string line = circuit.elements[*swept].name;
  for (std::size_t n = 1; n < circuit.nodes.size(); ++n) line += ' ' + circuit.nodes[n];
  out << line << '\n';

  // Only the solves are timed: parsing, the analysis in the constructor and printing are not
  // what a per-solve figure is for.
  std::chrono::steady_clock::duration solving{0};
  for (std::size_t k = 0; k < points; ++k) {
    // From START each time rather than by adding STEP, so no rounding accumulates.
    const double value = start + static_cast<double>(k) * step;
    values[*swept] = value;
    const auto t0 = std::chrono::steady_clock::now();
    // Only the swept source changes from one point to the next.
    const auto result = solver.solve(values, voltages, {}, k > 0);
    solving += std::chrono::steady_clock::now() - t0;
    if (!result.converged) {
      err << "aeqlab: circuit dc: " << options.netlist.string() << ": at " << options.source
          << " = " << format12(value) << ": " << why_not_converged(result) << "\n";
      return 1;
    }
    line = format12(value);
    for (std::size_t n = 1; n < circuit.nodes.size(); ++n) line += ' ' + format12(voltages[n]);
    out << line << '\n';
  }
  if (options.time) {
    const double seconds = std::chrono::duration<double>(solving).count();
    char buffer[128];
    std::snprintf(buffer, sizeof buffer,
                  "solves %zu seconds %.6f per_solve_us %.3f factorisation %s\n", points, seconds,
                  1e6 * seconds / static_cast<double>(points),
                  solver.factorisation() == sim::Factorisation::sparse ? "sparse" : "layered");
    err << buffer;
  }
  return 0;
}

int circuit_export_command(const std::filesystem::path& session_dir,
                           const std::optional<std::filesystem::path>& out_file,
                           std::ostream& out) {
  namespace fs = std::filesystem;
  const fs::path config_file = session_dir / "config.json";
  if (!fs::exists(config_file))
    throw ConfigError(
        fmt::format("{}: not a session folder (no config.json)", session_dir.string()));
  const auto config = resolve_config(default_config(), config_file, {});
  const auto& device_section = config.at("device");
  const std::string type = device_section.value("type", std::string());
  if (type != "circuit" && type != "netlist")
    throw ConfigError(fmt::format("{}: the session's device is \"{}\", not a circuit",
                                  session_dir.string(), type));
  // One replica is enough: the conductances are shared and the inputs are left at 0 V.
  auto device = make_device(device_section, 1);
  auto& circuit_device = dynamic_cast<sim::CircuitDevice&>(*device);
  const fs::path param_file = session_dir / "parameters.f64";
  std::ifstream in(param_file, std::ios::binary);
  if (!in)
    throw DataError(fmt::format("{}: cannot open the parameter file (the run wrote none yet)",
                                param_file.string()));
  std::vector<double> theta(device->describe().parameter_count());
  in.read(reinterpret_cast<char*>(theta.data()), std::streamsize(theta.size() * sizeof(double)));
  if (in.gcount() != std::streamsize(theta.size() * sizeof(double)) || in.peek() != EOF)
    throw DataError(fmt::format("{}: expected {} float64 values for {}", param_file.string(),
                                theta.size(), device->describe().model));
  device->write_parameters(theta);
  auto circuit = circuit_device.circuit(0);
  circuit.title = fmt::format("{} trained in {}", circuit.title, session_dir.string());
  if (out_file) {
    sim::save_netlist(circuit, *out_file);
  } else {
    sim::write_netlist(circuit, out);
  }
  return 0;
}

}  // namespace aeqlab::cli
