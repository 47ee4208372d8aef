// Fuzz target: the drivers reading what an instrument answers (drivers/scpi_session): the fuzzer's
// bytes are everything the peer ever sends, and the session asks it for numbers, a block, the
// error queue, a checked write and *OPC?. Whatever arrives, the session answers or throws a
// TransportError; a reply is never taken beyond max_reply_bytes. docs/fuzzing.md.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

#include "drivers/errors.hpp"
#include "drivers/scpi_session.hpp"
#include "drivers/transport.hpp"

namespace drivers = aeqlab::drivers;

namespace {

// A peer whose whole output is given up front, handed out in small pieces; once it is spent the
// peer is silent (a timeout).
class ScriptedPeer final : public drivers::Transport {
 public:
  ScriptedPeer(std::string_view output, std::size_t piece)
      : Transport("fuzz://peer"), output_(output), piece_(piece) {}

 protected:
  void do_open() override {}
  void do_close() override {}
  void do_write(std::string_view, std::chrono::milliseconds) override {}
  std::size_t do_read_some(char* buf, std::size_t n, std::chrono::milliseconds) override {
    if (output_.empty()) throw drivers::TimeoutError("fuzz://peer: no reply within 0 ms");
    n = std::min({n, output_.size(), piece_});
    std::memcpy(buf, output_.data(), n);
    output_.remove_prefix(n);
    return n;
  }
  std::size_t do_read_available(char*, std::size_t) override { return 0; }

 private:
  std::string_view output_;
  std::size_t piece_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t piece = 1 + data[0] % 32;
  const unsigned ops = data[1];
  const std::string_view output(reinterpret_cast<const char*>(data) + 2, size - 2);
  try {
    (void)drivers::ScpiSession::parse_error_entry(output.substr(0, 64), "fuzz");
  } catch (const drivers::ReplyError&) {
  }
  drivers::ScpiOptions options;
  options.retries = 0;
  options.reconnects = 0;
  options.max_reply_bytes = 4096;
  drivers::ScpiSession session("fuzz", std::make_unique<ScriptedPeer>(output, piece), options);
  for (int i = 0; i < 4; ++i) {
    try {
      switch ((ops >> (2 * i)) & 3) {
        case 0:
          (void)session.query_values("MEAS? (@1:4)", i % 2 ? 4 : 0);
          break;
        case 1:
          if (session.query_block("MEAS:BLOC? (@1:4)").size() > options.max_reply_bytes)
            __builtin_trap();
          break;
        case 2:
          (void)session.drain_errors();
          break;
        case 3:
          session.write("VOLT 1,(@1)");
          session.wait_complete();
          break;
      }
    } catch (const drivers::TransportError&) {
    }
  }
  return 0;
}
