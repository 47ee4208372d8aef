#include "core/cli/serve_command.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <spdlog/fmt/fmt.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "core/cli/default_config.hpp"
#include "core/cli/device_factory.hpp"
#include "core/cli/device_types.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "instruments/bench_config.hpp"
#include "instruments/bench_layout.hpp"
#include "sim/virtual_bench/virtual_bench.hpp"

namespace aeqlab::cli {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// As a training config's device section is read: one that names another type replaces the
// default device whole (a circuit has none of the Hopfield network's keys).
void merge_device(json& base, const json& given) {
  if (given.contains("type") && given["type"] != base.value("type", json())) base = json::object();
  merge_config(base, given);
}

// SIGINT and SIGTERM are blocked in every thread and taken synchronously by the main thread
// (sigtimedwait): no handler runs inside the event loop, nothing async-signal-unsafe is called.
class BlockedSignals {
 public:
  BlockedSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
  }
  ~BlockedSignals() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  BlockedSignals(const BlockedSignals&) = delete;
  BlockedSignals& operator=(const BlockedSignals&) = delete;

  // The signal that arrived, or 0 after `timeout_ms` without one.
  int wait(long timeout_ms) const {
    const timespec t{timeout_ms / 1000, (timeout_ms % 1000) * 1000000};
    const int s = sigtimedwait(&set_, nullptr, &t);
    return s > 0 ? s : 0;
  }

 private:
  sigset_t set_{}, old_{};
};

void log_to_stderr() {
  // stdout carries the ready and stopped lines for scripts; the log must not mix into them.
  auto logger = spdlog::get("aeqlab");
  if (!logger) logger = spdlog::stderr_color_mt("aeqlab");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("[%H:%M:%S] %^%l%$ %v");
}

struct Loaded {
  instruments::BenchConfig bench;
  json device;  // the physics' device section
  std::string source;
  json overrides;  // without --bench: the --set keys to lay over the generated bench
};

Loaded load(const ServeOptions& o) {
  Loaded l;
  json j;
  if (!o.bench.empty()) {
    if (!o.config.empty())
      throw ConfigError("--config: give either a bench (--bench) or a config to lay out, not both");
    l.source = o.bench;
    j = read_json_file(o.bench);
    if (!j.is_object())
      throw ConfigError(fmt::format("{}: expected a bench (a JSON object)", o.bench));
  } else {
    l.source = o.config.empty() ? "the default bench" : o.config;
    j = json::object();
  }
  // --set virtual.x=... and virtual.device.x=... need their sections to exist.
  const bool had_virtual = j.contains("virtual");
  if (!had_virtual) j["virtual"] = json::object();
  const bool had_device = j["virtual"].is_object() && j["virtual"].contains("device");
  if (j["virtual"].is_object() && !had_device) j["virtual"]["device"] = json::object();
  if (o.bench.empty()) j["settle"] = json::object();
  for (const auto& s : o.settings) apply_setting(j, s);
  if (j["virtual"].is_object() && !had_device && j["virtual"]["device"] == json::object())
    j["virtual"].erase("device");
  if (!had_virtual && j["virtual"] == json::object()) j.erase("virtual");

  // The physics: the default device, with what a training config (--config) and the bench's
  // virtual.device change (as a training config's device section is read), one replica as on
  // hardware.
  l.device = default_config().at("device");
  if (!o.config.empty()) {
    const json config = read_json_file(o.config);
    if (config.contains("device")) merge_device(l.device, config.at("device"));
  }
  if (!o.bench.empty()) {
    l.bench = instruments::parse_bench(j, o.bench);
  } else {
    for (const auto& [key, value] : j.items())
      if (key != "virtual" && key != "settle")
        throw ConfigError(fmt::format(
            "--set {}...: without --bench only virtual.* and settle.* keys can be set", key));
    l.overrides = j;
    if (j.contains("virtual")) l.bench.virtual_section = j["virtual"];
  }
  const json& v = l.bench.virtual_section;
  if (v.is_object() && v.contains("device")) {
    if (!v["device"].is_object())
      throw ConfigError(
          fmt::format("{}: virtual.device: expected a device section (an object)", l.source));
    merge_device(l.device, v["device"]);
  }
  // An unknown type is left to make_device, which names the known ones.
  if (const DeviceType* type = find_device_type(l.device.value("type", ""));
      type && !type->servable)
    throw ConfigError(
        fmt::format("{}: virtual.device: the physics must be a simulated device, not a {}",
                    l.source, type->name));
  l.device["replicas"] = std::size_t{1};
  return l;
}

// The bench as served, for `aeqlab train --bench`: written whole or not at all.
void write_bench_out(const ServeOptions& o, const instruments::BenchConfig& bench,
                     const std::vector<sim::ServedInstrument>& served) {
  json j = instruments::bench_to_json(bench);
  for (std::size_t i = 0; i < served.size(); ++i) {
    const auto& s = served[i];
    std::string address;
    if (o.transport == "serial") {
      if (s.pty.empty())
        throw ConfigError(
            "--transport serial: the bench serves no serial ports (virtual.pty is false)");
      address = "serial://" + s.pty;
    } else {
      if (s.tcp.empty())
        throw ConfigError("--transport tcp: the bench serves no TCP (virtual.tcp is false)");
      address = s.tcp;
    }
    for (auto& ij : j.at("instruments"))
      if (ij.at("name") == s.name) ij["address"] = address;
  }
  const fs::path target(o.bench_out);
  fs::path temp = target;
  temp += fmt::format(".tmp-{}", ::getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << j.dump(2) << "\n";
    out.flush();
    if (!out) {
      std::error_code ignored;
      fs::remove(temp, ignored);
      throw std::runtime_error(
          fmt::format("--bench-out {}: cannot write {}", o.bench_out, temp.string()));
    }
  }
  std::error_code ec;
  fs::rename(temp, target, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    throw std::runtime_error(fmt::format("--bench-out {}: {}", o.bench_out, ec.message()));
  }
}

int serve(const ServeOptions& o) {
  // Before anything starts a thread (the physics may), so every thread inherits the mask.
  const BlockedSignals signals;
  if (o.transport != "tcp" && o.transport != "serial")
    throw ConfigError(fmt::format("--transport {}: expected tcp or serial", o.transport));
  Loaded l = load(o);
  const sim::VirtualOptions options = sim::parse_virtual_options(l.bench.virtual_section, l.source);
  auto device = make_device(l.device, 1);
  if (o.bench.empty()) {
    // The layout waits the virtual settle time before it polls, so a bench written out with
    // --bench-out reads equilibria, not transients; --set settle.* says otherwise.
    // A device whose parameters are only set (digital potentiometers) is laid out as a resistor
    // array with its probes (docs/pot-bench.md).
    const auto& d = device->describe();
    const bool pots = d.knobs.empty() && d.capabilities.settable_parameters;
    json laid = instruments::bench_to_json(instruments::virtual_bench_layout(d, 65536, pots));
    laid["settle"]["wait_s"] = options.settle_s;
    merge_config(laid, l.overrides);
    l.bench = instruments::parse_bench(laid, l.source);
  }

  sim::VirtualBench server(*device, l.bench, options);
  const auto served = server.start();
  if (!o.bench_out.empty()) write_bench_out(o, l.bench, served);
  for (const auto& s : served) {
    nlohmann::ordered_json line = {
        {"instrument", s.name}, {"idn", s.idn}, {"tcp", s.tcp}, {"pty", s.pty}};
    if (!s.link.empty()) line["link"] = s.link;
    std::cout << line.dump() << "\n";
  }
  std::cout << nlohmann::ordered_json{{"event", "ready"}, {"instruments", served.size()}}.dump()
            << std::endl;
  spdlog::info("serving {} instruments for {} (Ctrl-C stops)", served.size(), l.bench.name);

  std::atomic<bool> loop_done{false};
  std::exception_ptr failure;
  std::thread loop([&] {
    try {
      server.run();
    } catch (...) {
      failure = std::current_exception();
    }
    loop_done = true;
  });
  while (!loop_done) {
    if (const int s = signals.wait(200)) {
      spdlog::info("{}: stopping", s == SIGINT ? "SIGINT" : "SIGTERM");
      break;
    }
  }
  server.stop();
  loop.join();

  const auto t = server.tally();
  nlohmann::ordered_json stopped = {
      {"event", "stopped"}, {"messages", t.messages},         {"writes", t.writes},
      {"values", t.values}, {"out_of_range", t.out_of_range}, {"settles", t.settles}};
  std::cout << stopped.dump() << std::endl;
  if (failure) std::rethrow_exception(failure);
  return 0;
}

}  // namespace

int serve_command(const ServeOptions& options) {
  log_to_stderr();
  try {
    return serve(options);
  } catch (const std::exception& e) {
    std::cerr << "aeqlab serve: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace aeqlab::cli
