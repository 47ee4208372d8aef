#pragma once
// Configuration: JSON, resolved from the embedded default, an optional file, and `--set k=v`
// overrides, in that order. Every error names the file, the key and the reason.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <spdlog/fmt/fmt.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace aeqlab {

// Keys in `given` that `schema` does not have are errors (a typo must not silently fall back to a
// default). Objects are checked recursively; `open_keys` lists dotted paths whose content another
// part validates (e.g. "device", whose keys depend on its type).
void require_known_keys(const nlohmann::json& given, const nlohmann::json& schema,
                        const std::string& prefix, const std::vector<std::string>& open_keys = {});
// The open keys of the whole config: "device", "trainer.learning_rates", "trainer.feedback.probe".
const std::vector<std::string>& open_keys();

// Merge `overlay` into `base`, objects key by key, anything else replaced.
void merge_config(nlohmann::json& base, const nlohmann::json& overlay);

// How deep a config, bench or profile may nest: far beyond any real one (they nest 4 levels), far
// below what would exhaust the stack of anything that walks the tree.
inline constexpr std::size_t kMaxJsonDepth = 64;
// The largest count or index a config may give (2^31 - 1): every count fits an int, and no product
// of a few of them overflows a size_t. Seeds are read with ConfigReader::seed (any 64-bit value).
inline constexpr std::uint64_t kMaxCount = 2147483647;

// The offset in `text` where JSON nesting first goes deeper than kMaxJsonDepth (outside strings),
// or nothing: one pass, checked before any parse.
std::optional<std::size_t> json_too_deep_at(std::string_view text);

// Parses JSON text from `source` (a file name or "--set key"), refusing nesting deeper than
// kMaxJsonDepth before anything recursive sees it; errors name the source and line.
nlohmann::json parse_json_text(std::string_view text, const std::string& source);

// The largest JSON file read as a config, bench or profile (they are kB; an inlined bench MB).
inline constexpr std::uint64_t kMaxJsonFileBytes = 64ull << 20;

// Reads a JSON file of at most kMaxJsonFileBytes; a parse error names the file, line and column.
nlohmann::json read_json_file(const std::filesystem::path& file);

// A physical setting against its stated range (docs/config-reference.md, "Physical ranges"):
// ConfigError "KEY: must lie in [LOW, HIGH] UNIT, got VALUE" otherwise (NaN and infinities too).
void require_range(const std::string& key, double value, double low, double high,
                   std::string_view unit);

// Applies `key.path=value` (value parsed as JSON, else taken as a string).
void apply_setting(nlohmann::json& config, const std::string& assignment);

nlohmann::json resolve_config(const nlohmann::json& defaults,
                              const std::optional<std::filesystem::path>& file,
                              const std::vector<std::string>& settings);
// The same from a config given as data (from Python): errors name the key and the reason.
nlohmann::json resolve_config_data(const nlohmann::json& defaults, const nlohmann::json& given,
                                   const std::vector<std::string>& settings);

// Typed access to one section, with errors that say which key and what was expected.
class ConfigReader {
 public:
  ConfigReader(const nlohmann::json& section, std::string prefix)
      : section_(section), prefix_(std::move(prefix)) {}

  template <typename V>
  V get(const std::string& key) const {
    if (!section_.contains(key)) throw ConfigError(fmt::format("{}: missing key", path(key)));
    const auto& j = section_.at(key);
    // nlohmann converts -1 to a huge count, 2.5 to 2 and 2^32 to 0; a config must say what it
    // means, and a count must be one this machine can hold (docs/config-reference.md, "Numbers").
    if constexpr (std::is_integral_v<V> && std::is_unsigned_v<V> && !std::is_same_v<V, bool>) {
      if (!j.is_number_unsigned() || j.get<std::uint64_t>() > max_count<V>())
        throw ConfigError(fmt::format("{}: expected a whole number in [0, {}], got {}", path(key),
                                      max_count<V>(), j.dump()));
    } else if constexpr (std::is_integral_v<V> && !std::is_same_v<V, bool>) {
      if (!j.is_number_integer() ||
          (j.is_number_unsigned() && j.get<std::uint64_t>() > max_count<V>()) ||
          (!j.is_number_unsigned() && j.get<std::int64_t>() < -std::int64_t(max_count<V>())))
        throw ConfigError(fmt::format("{}: expected a whole number in [-{}, {}], got {}", path(key),
                                      max_count<V>(), max_count<V>(), j.dump()));
    } else if constexpr (std::is_floating_point_v<V>) {
      if (!j.is_number() || !std::isfinite(j.get<double>()))
        throw ConfigError(fmt::format("{}: expected a number, got {}", path(key), j.dump()));
    } else if constexpr (std::is_same_v<V, std::vector<std::size_t>>) {
      if (!j.is_array())
        throw ConfigError(fmt::format("{}: expected a list, got {}", path(key), j.dump()));
      for (const auto& e : j)
        if (!e.is_number_unsigned() || e.get<std::uint64_t>() > kMaxCount)
          throw ConfigError(fmt::format("{}: expected whole numbers in [0, {}], got {}", path(key),
                                        kMaxCount, excerpt(j)));
    } else if constexpr (std::is_same_v<V, std::vector<double>>) {
      if (!j.is_array())
        throw ConfigError(fmt::format("{}: expected a list, got {}", path(key), j.dump()));
      for (const auto& e : j)
        if (!e.is_number() || !std::isfinite(e.get<double>()))
          throw ConfigError(
              fmt::format("{}: expected finite numbers, got {}", path(key), excerpt(j)));
    }
    try {
      return j.get<V>();
    } catch (const nlohmann::json::exception&) {
      throw ConfigError(
          fmt::format("{}: has the wrong type ({})", path(key), section_.at(key).dump()));
    }
  }
  // A seed: any whole number in [0, 2^64 - 1].
  std::uint64_t seed(const std::string& key) const;
  // A count in [low, high] (high at most kMaxCount).
  std::size_t count(const std::string& key, std::size_t low, std::size_t high) const;
  double positive(const std::string& key) const;
  double in_range(const std::string& key, double low, double high) const;
  std::string one_of(const std::string& key, const std::vector<std::string>& choices) const;
  std::string path(const std::string& key) const { return prefix_ + "." + key; }
  const nlohmann::json& section() const { return section_; }

 private:
  template <typename V>
  static constexpr std::uint64_t max_count() {
    return std::min<std::uint64_t>(kMaxCount, std::uint64_t(std::numeric_limits<V>::max()));
  }
  // A value for an error message: a list of a million numbers must not become the message.
  static std::string excerpt(const nlohmann::json& j) {
    std::string s = j.dump();
    if (s.size() > 80) s = s.substr(0, 77) + "...";
    return s;
  }
  const nlohmann::json& section_;
  std::string prefix_;
};

}  // namespace aeqlab
