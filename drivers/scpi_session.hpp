#pragma once
// An SCPI conversation with one instrument over any transport: commands and queries with
// configurable terminators, IEEE 488.2 common commands, the error queue drained after writes,
// chained commands, and definite-length binary blocks. Timeouts are retried a bounded number of
// times and a dropped connection is reopened per the policy; what cannot be recovered is thrown
// with the instrument's name, its address and the command.

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "drivers/transport.hpp"

namespace aeqlab::drivers {

struct ScpiOptions {
  std::string write_terminator = "\n";
  std::string read_terminator = "\n";
  std::chrono::milliseconds timeout{2000};
  int retries = 2;     // extra attempts after a timeout (the reply is discarded first)
  int reconnects = 1;  // attempts to reopen a dropped connection before giving up
  std::chrono::milliseconds reconnect_delay{200};
  bool check_errors = true;  // after each write, ask SYST:ERR? until "0,..." and throw
  std::string error_query = "SYST:ERR?";
  std::string chain_separator = ";:";  // joins commands into one message
  // The longest reply taken (a line, or a block's payload); longer is a ReplyError.
  std::size_t max_reply_bytes = std::size_t{64} << 20;
};

struct ScpiError {
  int code = 0;
  std::string text;
};

class ScpiSession {
 public:
  ScpiSession(std::string name, std::unique_ptr<Transport> transport, ScpiOptions options);

  const std::string& name() const { return name_; }
  const std::string& address() const;
  const ScpiOptions& options() const { return options_; }

  // A command without a reply. With check_errors, the error queue is read in the same message
  // (`CMD;:SYST:ERR?`) so checking costs no extra round trip; an entry throws InstrumentError.
  void write(std::string_view command);
  // Several commands in one message (joined with chain_separator), checked as one write.
  void write_chained(std::span<const std::string> commands);
  // A query: the reply without its terminator.
  std::string query(std::string_view command);
  // A query whose reply is comma-separated numbers; ReplyError names the bad field.
  std::vector<double> query_values(std::string_view command, std::size_t expected_count);
  // A query answered with an IEEE 488.2 definite-length block (#<n><len><bytes>); returns the
  // payload. The reply terminator after the block is consumed.
  std::string query_block(std::string_view command);
  // Sends `command_prefix` followed by payload as a definite-length block.
  void write_block(std::string_view command_prefix, std::string_view payload);

  std::string identify();                 // *IDN?
  void wait_complete();                   // *OPC? (waits for "1")
  void clear();                           // *CLS
  std::vector<ScpiError> drain_errors();  // SYST:ERR? until code 0 (at most 100 entries)

  // Encoding helper for blocks: "#" + digits-of-length + length + payload.
  static std::string definite_length_block(std::string_view payload);
  // A peer's bytes as a person may see them: control bytes and non-ASCII escaped (\n, \x1b),
  // cut after `max` characters with "...".
  static std::string printable(std::string_view bytes, std::size_t max);
  // Parses "<code>,\"<text>\"" (also tolerates unquoted text); ReplyError if it cannot.
  static ScpiError parse_error_entry(std::string_view reply, std::string_view culprit);

 private:
  template <class F>
  auto with_recovery(std::string_view command, F&& body);
  std::string name_;
  std::unique_ptr<Transport> transport_;
  ScpiOptions options_;
};

}  // namespace aeqlab::drivers
