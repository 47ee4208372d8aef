#pragma once
// `aeqlab serve`: the simulated physics behind virtual SCPI instruments on TCP and PTYs, so the
// very drivers and bench file a lab uses can be rehearsed without hardware.
// See docs/virtual-bench.md.

#include <string>
#include <vector>

namespace aeqlab::cli {

struct ServeOptions {
  std::string bench;      // bench file; empty: every role of the device on its own instrument
  std::string config;     // without --bench: a training config whose device section is served
  std::string bench_out;  // where to write the served bench (addresses filled in); empty: none
  std::string transport = "tcp";      // which address bench_out gives each instrument: tcp|serial
  std::vector<std::string> settings;  // --set virtual.latency_ms=1 overrides on the bench JSON
};

// Serves until SIGINT or SIGTERM. Prints one JSON line per instrument once every one answers,
// then {"event":"ready",...}, and a {"event":"stopped",...} line with the wire tally at the end.
// Returns 0, or 1 after a message on stderr naming the culprit (bad bench file, port in use...).
int serve_command(const ServeOptions& options);

}  // namespace aeqlab::cli
