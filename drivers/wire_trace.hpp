#pragma once
// The SCPI wire trace: every message to and from every instrument, with timestamps, as JSON lines
// (session.wire_trace; docs/bench.md, "The wire trace"). For debugging a bench and for writing a
// new instrument profile. Process-wide: the transports note what they send and receive here, so
// the trace sees every conversation whoever holds it (bench, reset, probe).

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace aeqlab::drivers {

class WireTrace {
 public:
  // `names`: instrument name by address, so each line names its instrument.
  explicit WireTrace(std::map<std::string, std::string> names);
  ~WireTrace();
  WireTrace(const WireTrace&) = delete;
  WireTrace& operator=(const WireTrace&) = delete;

  // Lines noted before go into `file` first; from then on each line is written as it comes.
  void attach(const std::filesystem::path& file);
  // `to_instrument`: sent (true) or received.
  void note(const std::string& address, bool to_instrument, std::string_view bytes);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The trace the transports note into (nullptr: none, the default).
void set_wire_trace(std::shared_ptr<WireTrace> trace);
// Called by the transports; does nothing without a trace.
void trace_wire(const std::string& address, bool to_instrument, std::string_view bytes);

}  // namespace aeqlab::drivers
