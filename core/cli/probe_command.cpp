#include "core/cli/probe_command.hpp"

#include <chrono>
#include <iostream>
#include <map>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include <spdlog/fmt/fmt.h>
#include <nlohmann/json.hpp>

#include "drivers/address.hpp"
#include "drivers/errors.hpp"
#include "drivers/scpi_session.hpp"
#include "drivers/serial_ports.hpp"
#include "instruments/bench_config.hpp"
#include "instruments/profile.hpp"

namespace aeqlab::cli {

namespace {

struct Target {
  std::string name;
  std::string address;
  drivers::ScpiOptions options;
};

// What a peer sent, as it may reach a terminal or a JSON line: control bytes (ESC, BEL...) and
// bytes beyond ASCII escaped, and cut short (a peer may answer megabytes).
constexpr std::size_t kShown = 200;
std::string shown(std::string_view peer_bytes) {
  return drivers::ScpiSession::printable(peer_bytes, kShown);
}
// An error message: already escaped where it quotes the wire, but made safe whatever it holds
// (no control bytes; nothing that is not ASCII, which a JSON line could not carry).
std::string safe(std::string_view message) {
  std::string out;
  for (const char c : message) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f)
      out += fmt::format("\\x{:02x}", u);
    else
      out += c;
  }
  return out;
}

// The identity first, then the error queue: a peer that answers one and not the other is
// reported with what it did answer ("partial").
nlohmann::json probe(const Target& t) {
  nlohmann::json r = {{"address", t.address}};
  if (!t.name.empty()) r["instrument"] = t.name;
  std::optional<drivers::ScpiSession> scpi;
  try {
    const auto address = drivers::parse_address(t.address);
    scpi.emplace(t.name.empty() ? t.address : t.name,
                 drivers::open_transport(address, t.options.timeout), t.options);
    r["idn"] = shown(scpi->identify());
  } catch (const std::exception& e) {
    r["ok"] = false;
    r["error"] = safe(e.what());
    return r;
  }
  try {
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& e : scpi->drain_errors())
      errors.push_back({{"code", e.code}, {"text", shown(e.text)}});
    r["errors"] = errors;
    r["ok"] = true;
  } catch (const std::exception& e) {
    r["ok"] = false;
    r["partial"] = true;
    r["error"] = safe(e.what());
  }
  return r;
}

// Every address at once, as `train` opens a bench: six silent instruments cost one timeout, not
// six. Targets sharing an address (a serial port, one port listed twice) take turns; the results
// keep the targets' order.
std::vector<nlohmann::json> probe_all(const std::vector<Target>& targets) {
  std::vector<nlohmann::json> results(targets.size());
  std::map<std::string, std::vector<std::size_t>> by_address;
  for (std::size_t i = 0; i < targets.size(); ++i) by_address[targets[i].address].push_back(i);
  std::vector<std::thread> asking;
  for (const auto& [address, indices] : by_address)
    asking.emplace_back([&results, &targets, &indices = indices] {
      for (const auto i : indices) results[i] = probe(targets[i]);
    });
  for (auto& t : asking) t.join();
  return results;
}

}  // namespace

int probe_command(const ProbeOptions& options) {
  const auto ports = drivers::list_serial_ports();
  if (options.json) {
    for (const auto& p : ports) {
      nlohmann::json j = {{"port", p.path},           {"description", p.description},
                          {"transport", p.transport}, {"manufacturer", p.manufacturer},
                          {"product", p.product},     {"serial_number", p.serial_number}};
      if (p.usb_vendor >= 0) j["usb"] = fmt::format("{:04x}:{:04x}", p.usb_vendor, p.usb_product);
      std::cout << j.dump() << "\n";
    }
  } else {
    std::cout << (ports.empty() ? "no serial ports found\n" : "serial ports:\n");
    for (const auto& p : ports) {
      std::cout << "  " << p.path << "  " << p.description;
      if (p.usb_vendor >= 0)
        std::cout << fmt::format("  [usb {:04x}:{:04x}", p.usb_vendor, p.usb_product)
                  << (p.manufacturer.empty() ? "" : " " + p.manufacturer)
                  << (p.product.empty() ? "" : " " + p.product)
                  << (p.serial_number.empty() ? "" : " s/n " + p.serial_number) << "]";
      std::cout << "\n";
    }
  }

  std::vector<Target> targets;
  drivers::ScpiOptions base;
  base.timeout = std::chrono::milliseconds(static_cast<long>(options.timeout_s * 1000));
  base.retries = 0;
  base.reconnects = 0;
  // A *IDN? reply is a line of tens of bytes: a peer streaming more is not an instrument.
  base.max_reply_bytes = 64 * 1024;
  for (const auto& a : options.addresses) targets.push_back({"", a, base});
  if (!options.bench.empty()) {
    const auto bench = instruments::load_bench(options.bench);
    for (const auto& i : bench.instruments) {
      Target t{i.name, i.address, base};
      // The profile's terminators and error query: an instrument that wants CR must get CR.
      const auto profile = instruments::load_profile(i.profile);
      t.options.write_terminator = profile.write_terminator;
      t.options.read_terminator = profile.read_terminator;
      t.options.error_query = profile.error_query;
      t.options.max_reply_bytes = profile.max_reply_bytes;
      t.options.timeout = std::chrono::milliseconds(static_cast<long>(i.timeout_s * 1000));
      targets.push_back(t);
    }
  }
  const auto results = probe_all(targets);
  int failed = 0;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const auto& t = targets[i];
    const auto& r = results[i];
    if (!r["ok"].get<bool>()) ++failed;
    if (options.json) {
      std::cout << r.dump() << "\n";
      continue;
    }
    std::cout << (r.contains("instrument") ? r["instrument"].get<std::string>() + " at " : "")
              << t.address << ": ";
    if (r.value("partial", false)) {
      std::cout << r["idn"].get<std::string>()
                << "\n    PARTIAL ANSWER (identity only): " << r["error"].get<std::string>();
    } else if (r["ok"].get<bool>()) {
      std::cout << r["idn"].get<std::string>();
      if (r["errors"].empty()) std::cout << " (error queue empty)";
      for (const auto& e : r["errors"])
        std::cout << "\n    error " << e["code"].get<int>() << ": " << e["text"].get<std::string>();
    } else {
      std::cout << "NO ANSWER: " << r["error"].get<std::string>();
    }
    std::cout << "\n";
  }
  std::cout.flush();
  return failed == 0 ? 0 : 1;
}

}  // namespace aeqlab::cli
