// Fuzz target: the bench file (instruments/bench_config) and its `virtual` section
// (sim/virtual_bench/virtual_options): any text as a bench, and as a channel list. Taken or
// refused with a ConfigError; a channel list never names more than its bound, each channel an
// exact number. docs/fuzzing.md.

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/config.hpp"
#include "core/error.hpp"
#include "instruments/bench_config.hpp"
#include "sim/virtual_bench/virtual_bench.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  nlohmann::json j;
  try {
    j = aeqlab::parse_json_text(text, "bench.json");
  } catch (const aeqlab::ConfigError&) {
    // Not JSON: still a channel list as a string.
    try {
      for (const int c : aeqlab::instruments::parse_channel_list(text, "channels"))
        if (c < 0) __builtin_trap();
    } catch (const aeqlab::ConfigError&) {
    }
    return 0;
  }
  try {
    for (const int c : aeqlab::instruments::parse_channel_list(j, "channels"))
      if (c < 0) __builtin_trap();
  } catch (const aeqlab::ConfigError&) {
  }
  try {
    (void)aeqlab::instruments::parse_bench(j, "bench.json");
  } catch (const aeqlab::ConfigError&) {
  }
  try {
    if (j.is_object() && j.contains("virtual"))
      (void)aeqlab::sim::parse_virtual_options(j["virtual"], "bench.json");
  } catch (const aeqlab::ConfigError&) {
  }
  return 0;
}
