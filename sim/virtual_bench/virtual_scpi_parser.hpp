#pragma once
// The SCPI text the virtual instruments read: messages cut out of a byte stream (an IEEE 488.2
// definite-length block may carry any byte, "\n" and ";" included), commands, headers with
// long/short forms and optional nodes, numbers, channel lists and blocks. No I/O here, so every
// rule can be tested byte by byte.

#include <cstddef>
#include <deque>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace aeqlab::sim::scpi {

// What a command earns when it cannot be carried out: the entry pushed into the instrument's
// error queue, e.g. {-222, "Data out of range; channel 5 value 3.2 outside [0, 1]"}.
struct Error : std::runtime_error {
  Error(int code, const std::string& text) : std::runtime_error(text), code(code) {}
  int code;
};

// The header "#<n><len>" of a definite-length block starting at text[at] (which must be '#').
struct BlockHeader {
  enum class State { none, partial, complete } state = State::none;
  std::size_t header = 0;  // bytes of "#<n><len>"
  std::size_t length = 0;  // payload bytes announced
};
BlockHeader read_block_header(std::string_view text, std::size_t at);

// Size of the definite-length block "#<n><len><payload>" starting at text[at] (which must be
// '#'): 0 when no well-formed block header starts there (or it announces more than 256 MiB),
// npos when more bytes are needed.
std::size_t block_extent(std::string_view text, std::size_t at);

// What one connection may send (docs/virtual-bench.md, "Limits").
struct FramerLimits {
  std::size_t max_message = std::size_t{4} << 20;  // bytes of one message, blocks included
  std::size_t max_block = std::size_t{4} << 20;    // payload bytes one block may announce
};

// Cuts a byte stream into messages: each ends with "\n" (a "\r" before it is dropped) outside
// quotes and blocks; a block is stepped over by its announced length, whatever its bytes. Empty
// lines are not messages. A message longer than max_message, or a block announcing more than
// max_block, is never buffered whole: it is dropped up to its terminator (a block's announced
// bytes are counted, not stored) and a refusal text is queued for the error queue (-223).
class Framer {
 public:
  Framer() = default;
  explicit Framer(FramerLimits limits) : limits_(limits) {}
  void feed(std::string_view bytes);
  std::optional<std::string> next();
  // A refusal ("Too much data; ...") for each dropped message, in order.
  std::optional<std::string> next_refusal();
  std::size_t buffered() const { return buffer_.size(); }

 private:
  // Cuts what buffer_ holds; returns the bytes after a dropped part that still need framing.
  std::optional<std::string> scan();
  void drop(std::string refusal);

  FramerLimits limits_;
  std::string buffer_;
  std::size_t scan_ = 0;         // bytes of buffer_ already known to hold no terminator
  std::size_t payload_end_ = 0;  // a "\r" before this belongs to a block payload: kept
  char quote_ = 0;
  std::size_t skip_ = 0;     // announced block bytes of a dropped message still to come
  bool discarding_ = false;  // dropping up to the next "\n"
  std::deque<std::string> ready_;
  std::deque<std::string> refusals_;
};

// The commands of one message, split at ";" outside quotes, parentheses and blocks, with
// surrounding blanks removed (empty ones dropped).
std::vector<std::string_view> split_commands(std::string_view message);

struct Command {
  std::string_view header;  // without a leading ':' and without the query '?'
  bool query = false;
  std::vector<std::string_view> params;  // split at top-level ','; blocks kept byte-exact
};

// Header and parameters of one command. Throws Error for an empty header.
Command parse_command(std::string_view text);

// A header pattern as SCPI manuals write it: "[SOURce:]VOLTage[:LEVel]" or "*IDN". Upper-case
// letters of a mnemonic are its short form; bracketed nodes may be omitted.
class HeaderPattern {
 public:
  explicit HeaderPattern(std::string_view pattern);
  bool matches(std::string_view header) const;
  const std::string& text() const { return text_; }

 private:
  struct Node {
    std::string long_form;   // upper case
    std::string short_form;  // upper case
    bool optional = false;
  };
  bool match_from(std::size_t node, const std::vector<std::string_view>& tokens,
                  std::size_t token) const;

  std::string text_;
  std::vector<Node> nodes_;
};

double parse_number(std::string_view text);
// SCPI's numeric keywords: MINimum, MAXimum, DEFault (any case); none for anything else.
enum class NumericKeyword { none, minimum, maximum, fallback };
NumericKeyword numeric_keyword(std::string_view text);
// "(@1:8)", "(@1,3,5:7)" (a range may run downwards). Channels outside 1..max_channel are
// refused (-221) before any range is expanded, and a list naming more channels in total than the
// instrument has is refused (-223), so no list can ask for more than the instrument holds.
std::vector<int> parse_channels(std::string_view text, int max_channel);
// The payload of a parameter that must be exactly one definite-length block (-160 otherwise).
std::string_view parse_block(std::string_view text);

// Replies: "%.17g" values joined by ",", and blocks "#<n><len><payload>".
std::string format_values(std::span<const double> values);
std::string format_block(std::string_view payload);
// float64 little-endian, the wire format of VOLTage:BLOCk and friends.
std::string pack_f64le(std::span<const double> values);
std::vector<double> unpack_f64le(std::string_view payload);

}  // namespace aeqlab::sim::scpi
