#pragma once
// The virtual bench: simulated physics behind virtual instruments (DACs, ADCs, resistor arrays)
// that speak SCPI over loopback TCP and over pseudo-terminals, so the very drivers and wire
// protocol a real bench uses can be exercised without hardware. The instruments and their
// channels come from a bench file (instruments/bench_config); the physics is any Device.
// Wire protocol: docs/virtual-bench.md.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/device.hpp"
#include "instruments/bench_config.hpp"

namespace aeqlab::sim {

// A misbehaviour injected into one instrument, for rehearsing faults.
struct VirtualFault {
  std::string instrument;
  std::string kind;       // "no_reply", "garbled", "disconnect", "error", "no_verify"
  std::size_t after = 0;  // messages the instrument answers normally first
  std::size_t count = 1;  // messages affected (0 = every one from then on)
  int code = -300;        // for "error": the entry pushed into the error queue
  std::string text = "Device-specific error";
};

struct VirtualOptions {
  double latency_s = 0.0;  // processing time of each received message before it takes effect
  double settle_s = 0.0;   // time the physics takes to settle after a change
  double noise = 0.0;      // standard deviation added to every measured value
  int dac_bits = 0;        // quantisation of set values over each role's safe range (0 = none)
  int adc_bits = 0;        // quantisation of measured values over each role's safe range
  std::uint64_t seed = 1;  // noise
  std::string bind = "127.0.0.1";
  // Listening on anything but loopback serves the bench, which has no authentication, to the
  // network: only with allow_remote (docs/virtual-bench.md, "Listening beyond this machine").
  bool allow_remote = false;
  // Bounds per connection (docs/virtual-bench.md, "Limits"): one message's bytes (blocks
  // included; a block may also announce no more than 8 bytes per channel of its instrument),
  // replies queued for a client that does not read them (reading from it pauses beyond), and
  // connections per instrument (more are closed and logged).
  std::size_t max_message_bytes = std::size_t{4} << 20;
  std::size_t max_unread_reply_bytes = std::size_t{4} << 20;
  std::size_t max_connections = 16;
  bool tcp = true;
  bool pty = true;
  std::vector<VirtualFault> faults;
};

// The `virtual` section of a bench file (everything optional). ConfigError names the key.
VirtualOptions parse_virtual_options(const nlohmann::json& section, const std::string& source);

struct ServedInstrument {
  std::string name;
  std::string idn;
  std::string tcp;   // tcp://127.0.0.1:PORT (a usable address of this host when bound to
                     // 0.0.0.0 or ::), empty when TCP is off
  std::string pty;   // /dev/pts/N, empty when PTYs are off
  std::string link;  // the bench's serial:// path, made a symlink to the PTY; empty if none
};

// What crossed the wire, for checking that nothing outside a safe range ever arrived.
struct WireTally {
  std::uint64_t messages = 0;
  std::uint64_t writes = 0;        // set commands received
  std::uint64_t values = 0;        // values those commands carried
  std::uint64_t out_of_range = 0;  // values outside their role's safe range (refused)
  std::uint64_t settles = 0;       // times the physics settled
};

class VirtualBench {
 public:
  // `physics` must have one replica and the counts the bench's roles give.
  VirtualBench(Device& physics, instruments::BenchConfig bench, VirtualOptions options);
  ~VirtualBench();

  // Opens the listening sockets and PTYs; once it returns, every instrument answers.
  std::vector<ServedInstrument> start();
  // Serves until stop() is called (from a signal watcher or another thread).
  void run();
  void stop();
  WireTally tally() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aeqlab::sim
