#pragma once
// An instrument model's command set as data (instruments/profiles/<name>.json), in the manner of
// libsigrok's per-model tables and pyvisa-sim's dialogues: a new instrument model is a new
// profile file, not new C++. Templates use {value}, {values}, {channels} (a channel list in the
// profile's syntax, e.g. "(@101:110)") and {channel} (one command per channel). See
// docs/instrument-profiles.md.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace aeqlab::instruments {

struct ChannelListSyntax {
  std::string prefix = "(@";
  std::string suffix = ")";
  std::string separator = ",";
  std::string range = ":";  // empty: the instrument takes no ranges, list every channel
};

// Binary blocks (IEEE 488.2 definite length) carrying one number per channel.
enum class BlockFormat { f64_le, f64_be, f32_le, f32_be };

struct SourceCommands {   // setting values on channels (DAC, resistor array, SMU source)
  std::string one;        // one value on the listed channels: "SOUR:VOLT {value},{channels}"
  std::string each;       // one value per channel: "SOUR:VOLT:LIST {values},{channels}"
  std::string block;      // prefix of a block write: "SOUR:VOLT:BLOC {channels},"
  std::string get;        // setpoints back: "SOUR:VOLT? {channels}"
  std::string get_block;  // setpoints back as a block
  // Incremental-only parts: signed whole steps per channel, "SOUR:RES:STEP {values},{channels}"
  // (docs/pot-bench.md, "Incremental-only parts").
  std::string step;
  std::size_t max_channels = 0;  // per command; 0 = no limit
};

struct MeasureCommands {  // reading channels (ADC/DMM scan list, SMU measure)
  std::string configure;  // sent when the channel list changes: "ROUT:SCAN {channels}"
  std::string query;      // "MEAS:VOLT:DC? {channels}" or "READ?" after a configure
  std::string block;      // the same as a block query
  std::size_t max_channels = 0;
};

struct Profile {
  std::string name;      // the file's stem
  std::string model;     // what it is, for people
  std::string identify;  // expected in the *IDN? reply (a warning when it is not)
  std::string manual;    // where the command strings come from
  std::string write_terminator = "\n";
  std::string read_terminator = "\n";
  std::string error_query = "SYST:ERR?";
  std::string chain = ";:";  // joins commands into one message; empty = one command per message
  std::size_t max_reply_bytes = std::size_t{64} << 20;  // longest reply (line or block) taken
  ChannelListSyntax channel_list;
  int digits = 17;  // significant digits of values sent as text
  BlockFormat block_format = BlockFormat::f64_le;
  std::vector<std::string> init;      // after connecting (e.g. "*CLS", "FORM:READ:CHAN OFF")
  std::vector<std::string> shutdown;  // after the safe values, at safe state (e.g. "OUTP OFF")
  std::optional<SourceCommands> source;
  std::optional<MeasureCommands> measure;
};

// A profile by name (looked up in the folders of AEQLAB_PROFILE_PATH, then the shipped
// instruments/profiles) or by path (when `name_or_path` ends in .json). ConfigError names the
// file and key.
Profile load_profile(const std::string& name_or_path);
Profile parse_profile(const nlohmann::json& j, const std::string& name, const std::string& source);
// The folders searched, in order.
std::vector<std::string> profile_search_path();

// "(@1:8,10)" in the profile's syntax; ranges where numbers run consecutively.
std::string format_channel_list(const ChannelListSyntax& syntax, const std::vector<int>& channels);
// Fills {value}, {values}, {channels}, {channel} in a command template.
std::string render(const std::string& pattern, const std::string& value, const std::string& values,
                   const std::string& channels, const std::string& channel);

}  // namespace aeqlab::instruments
