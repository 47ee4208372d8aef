#include "instruments/profile.hpp"

#include <cstdlib>
#include <filesystem>

#include <spdlog/fmt/fmt.h>

#include "core/config.hpp"
#include "core/error.hpp"

#ifndef AEQLAB_PROFILE_DIR
#define AEQLAB_PROFILE_DIR "instruments/profiles"
#endif

namespace aeqlab::instruments {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string str(const json& j, const char* key, const std::string& fallback, const std::string& w) {
  if (!j.contains(key)) return fallback;
  if (!j.at(key).is_string())
    throw ConfigError(fmt::format("{}.{}: expected a string, got {}", w, key, j.at(key).dump()));
  return j.at(key).get<std::string>();
}

std::size_t count(const json& j, const char* key, const std::string& w) {
  if (!j.contains(key)) return 0;
  if (!j.at(key).is_number_unsigned() || j.at(key).get<std::uint64_t>() > kMaxCount)
    throw ConfigError(fmt::format("{}.{}: expected a whole number in [0, {}], got {}", w, key,
                                  kMaxCount, j.at(key).dump()));
  return j.at(key).get<std::size_t>();
}

std::vector<std::string> strings(const json& j, const char* key, const std::string& w) {
  std::vector<std::string> out;
  if (!j.contains(key)) return out;
  if (!j.at(key).is_array())
    throw ConfigError(fmt::format("{}.{}: expected a list of commands", w, key));
  for (const auto& s : j.at(key)) {
    if (!s.is_string())
      throw ConfigError(fmt::format("{}.{}: {} is not a command", w, key, s.dump()));
    out.push_back(s.get<std::string>());
  }
  return out;
}

void known(const json& j, std::initializer_list<const char*> keys, const std::string& w) {
  if (!j.is_object()) throw ConfigError(w + ": expected an object");
  for (const auto& [k, v] : j.items()) {
    bool ok = false;
    for (const char* key : keys) ok = ok || k == key;
    if (!ok) throw ConfigError(fmt::format("{}.{}: unknown key", w, k));
  }
}

}  // namespace

std::vector<std::string> profile_search_path() {
  std::vector<std::string> path;
  if (const char* env = std::getenv("AEQLAB_PROFILE_PATH")) {
    std::string s = env;
    std::size_t at = 0;
    while (at <= s.size()) {
      std::size_t colon = s.find(':', at);
      if (colon == std::string::npos) colon = s.size();
      if (colon > at) path.push_back(s.substr(at, colon - at));
      at = colon + 1;
    }
  }
  path.push_back(AEQLAB_PROFILE_DIR);
  return path;
}

Profile load_profile(const std::string& name_or_path) {
  fs::path file;
  std::string name = name_or_path;
  if (name_or_path.size() > 5 && name_or_path.ends_with(".json")) {
    file = name_or_path;
    name = file.stem().string();
  } else {
    for (const auto& dir : profile_search_path()) {
      fs::path candidate = fs::path(dir) / (name_or_path + ".json");
      if (fs::exists(candidate)) {
        file = candidate;
        break;
      }
    }
    if (file.empty()) {
      std::string dirs;
      for (const auto& dir : profile_search_path()) dirs += (dirs.empty() ? "" : ", ") + dir;
      throw ConfigError(
          fmt::format("instrument profile \"{}\": no {}.json in {} (set "
                      "AEQLAB_PROFILE_PATH, or give a path ending in .json)",
                      name_or_path, name_or_path, dirs));
    }
  }
  return parse_profile(read_json_file(file), name, file.string());
}

Profile parse_profile(const json& j, const std::string& name, const std::string& source) {
  known(j,
        {"model", "identify", "manual", "terminators", "error_query", "chain", "channel_list",
         "digits", "block_format", "init", "shutdown", "source", "measure", "notes",
         "max_reply_bytes"},
        source);
  Profile p;
  p.name = name;
  p.model = str(j, "model", name, source);
  p.identify = str(j, "identify", "", source);
  p.manual = str(j, "manual", "", source);
  if (j.contains("terminators")) {
    const auto& t = j.at("terminators");
    known(t, {"write", "read"}, source + ".terminators");
    p.write_terminator = str(t, "write", p.write_terminator, source + ".terminators");
    p.read_terminator = str(t, "read", p.read_terminator, source + ".terminators");
    if (p.read_terminator.empty())
      throw ConfigError(source + ".terminators.read: must not be empty (replies end with it)");
  }
  p.error_query = str(j, "error_query", p.error_query, source);
  p.chain = str(j, "chain", p.chain, source);
  if (j.contains("channel_list")) {
    const auto& c = j.at("channel_list");
    const std::string w = source + ".channel_list";
    known(c, {"prefix", "suffix", "separator", "range"}, w);
    p.channel_list.prefix = str(c, "prefix", p.channel_list.prefix, w);
    p.channel_list.suffix = str(c, "suffix", p.channel_list.suffix, w);
    p.channel_list.separator = str(c, "separator", p.channel_list.separator, w);
    p.channel_list.range = str(c, "range", p.channel_list.range, w);
  }
  if (j.contains("digits")) {
    if (!j.at("digits").is_number_unsigned() || j.at("digits").get<std::uint64_t>() < 1 ||
        j.at("digits").get<std::uint64_t>() > 17)
      throw ConfigError(source + ".digits: expected 1..17");
    p.digits = j.at("digits").get<int>();
  }
  if (j.contains("max_reply_bytes")) {
    // At least a short line; at most what a definite-length block can announce.
    const std::size_t m = count(j, "max_reply_bytes", source);
    if (m < 1024 || m > 999999999)
      throw ConfigError(
          fmt::format("{}.max_reply_bytes: must lie in [1024, 999999999], got {}", source, m));
    p.max_reply_bytes = m;
  }
  const std::string bf = str(j, "block_format", "f64_le", source);
  if (bf == "f64_le")
    p.block_format = BlockFormat::f64_le;
  else if (bf == "f64_be")
    p.block_format = BlockFormat::f64_be;
  else if (bf == "f32_le")
    p.block_format = BlockFormat::f32_le;
  else if (bf == "f32_be")
    p.block_format = BlockFormat::f32_be;
  else
    throw ConfigError(fmt::format(
        "{}.block_format: \"{}\" is not one of f64_le, f64_be, f32_le, f32_be", source, bf));
  p.init = strings(j, "init", source);
  p.shutdown = strings(j, "shutdown", source);
  if (j.contains("source")) {
    const auto& s = j.at("source");
    const std::string w = source + ".source";
    known(s, {"one", "each", "block", "get", "get_block", "step", "max_channels"}, w);
    SourceCommands c;
    c.one = str(s, "one", "", w);
    c.each = str(s, "each", "", w);
    c.block = str(s, "block", "", w);
    c.get = str(s, "get", "", w);
    c.get_block = str(s, "get_block", "", w);
    c.step = str(s, "step", "", w);
    c.max_channels = count(s, "max_channels", w);
    // `step` alone: parts that only take up/down steps (docs/pot-bench.md, "Incremental-only
    // parts"); the bench sets nothing else on them.
    if (c.one.empty() && c.each.empty() && c.block.empty() && c.step.empty())
      throw ConfigError(w + ": needs at least one of one, each, block, step");
    p.source = c;
  }
  if (j.contains("measure")) {
    const auto& m = j.at("measure");
    const std::string w = source + ".measure";
    known(m, {"configure", "query", "block", "max_channels"}, w);
    MeasureCommands c;
    c.configure = str(m, "configure", "", w);
    c.query = str(m, "query", "", w);
    c.block = str(m, "block", "", w);
    c.max_channels = count(m, "max_channels", w);
    if (c.query.empty() && c.block.empty()) throw ConfigError(w + ": needs query or block");
    p.measure = c;
  }
  if (!p.source && !p.measure)
    throw ConfigError(source + ": a profile needs a source or a measure section");
  return p;
}

std::string format_channel_list(const ChannelListSyntax& syntax, const std::vector<int>& channels) {
  std::string s = syntax.prefix;
  bool first = true;
  for (std::size_t i = 0; i < channels.size();) {
    std::size_t j = i;
    if (!syntax.range.empty())
      while (j + 1 < channels.size() && channels[j + 1] == channels[j] + 1) ++j;
    if (!first) s += syntax.separator;
    first = false;
    s += std::to_string(channels[i]);
    if (j > i) {
      s += syntax.range;
      s += std::to_string(channels[j]);
    }
    i = j + 1;
  }
  s += syntax.suffix;
  return s;
}

std::string render(const std::string& pattern, const std::string& value, const std::string& values,
                   const std::string& channels, const std::string& channel) {
  std::string out;
  out.reserve(pattern.size() + values.size() + channels.size() + 16);
  for (std::size_t i = 0; i < pattern.size();) {
    if (pattern[i] == '{') {
      const auto close = pattern.find('}', i);
      if (close != std::string::npos) {
        const std::string key = pattern.substr(i + 1, close - i - 1);
        const std::string* with = key == "value"      ? &value
                                  : key == "values"   ? &values
                                  : key == "channels" ? &channels
                                  : key == "channel"  ? &channel
                                                      : nullptr;
        if (with) {
          out += *with;
          i = close + 1;
          continue;
        }
      }
    }
    out += pattern[i++];
  }
  return out;
}

}  // namespace aeqlab::instruments
