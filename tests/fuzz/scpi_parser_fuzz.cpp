// Fuzz target: the virtual instruments' SCPI text layer (sim/virtual_bench/virtual_scpi_parser):
// a byte stream framed in slices under small limits, every message split, parsed, and each
// parameter read as a channel list, a number, a keyword and a block. Besides "no crash", the
// limits are checked as properties: nothing buffered or framed beyond them, no channel list
// longer than the instrument. docs/fuzzing.md.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sim/virtual_bench/virtual_scpi_parser.hpp"

namespace scpi = aeqlab::sim::scpi;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  constexpr std::size_t kMessage = 256, kBlock = 64, kChannels = 16;
  const std::size_t slice = 1 + data[0] % 64;  // how the bytes arrive
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  scpi::Framer framer(scpi::FramerLimits{kMessage, kBlock});
  const scpi::HeaderPattern pattern("[SOURce:]VOLTage[:LEVel]");
  while (!in.empty()) {
    const std::size_t n = std::min(slice, in.size());
    framer.feed(in.substr(0, n));
    in.remove_prefix(n);
    if (framer.buffered() > kMessage + 64 * 1024) __builtin_trap();
  }
  while (auto message = framer.next()) {
    if (message->size() > kMessage) __builtin_trap();
    for (const auto text : scpi::split_commands(*message)) {
      try {
        const auto command = scpi::parse_command(text);
        (void)pattern.matches(command.header);
        for (const auto p : command.params) {
          (void)scpi::numeric_keyword(p);
          try {
            if (scpi::parse_channels(p, kChannels).size() > kChannels) __builtin_trap();
          } catch (const scpi::Error&) {
          }
          try {
            (void)scpi::parse_number(p);
          } catch (const scpi::Error&) {
          }
          try {
            const auto payload = scpi::parse_block(p);
            if (scpi::parse_block(scpi::format_block(payload)) != payload) __builtin_trap();
            (void)scpi::unpack_f64le(payload);
          } catch (const scpi::Error&) {
          }
        }
      } catch (const scpi::Error&) {
      }
    }
  }
  while (framer.next_refusal()) {
  }
  return 0;
}
