#pragma once
// Configuration: JSON, resolved from the embedded default, an optional file, and `--set k=v`
// overrides, in that order. Every error names the file, the key and the reason.

#include <filesystem>
#include <optional>
#include <string>
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

// Merge `overlay` into `base`, objects key by key, anything else replaced.
void merge_config(nlohmann::json& base, const nlohmann::json& overlay);

// Reads a JSON file; a parse error names the file, line and column.
nlohmann::json read_json_file(const std::filesystem::path& file);

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
    // nlohmann converts -1 to a huge count and 2.5 to 2; a config must say what it means.
    if constexpr (std::is_integral_v<V> && std::is_unsigned_v<V> && !std::is_same_v<V, bool>) {
      if (!j.is_number_unsigned())
        throw ConfigError(
            fmt::format("{}: expected a whole number >= 0, got {}", path(key), j.dump()));
    } else if constexpr (std::is_integral_v<V> && !std::is_same_v<V, bool>) {
      if (!j.is_number_integer())
        throw ConfigError(fmt::format("{}: expected a whole number, got {}", path(key), j.dump()));
    } else if constexpr (std::is_floating_point_v<V>) {
      if (!j.is_number())
        throw ConfigError(fmt::format("{}: expected a number, got {}", path(key), j.dump()));
    } else if constexpr (std::is_same_v<V, std::vector<std::size_t>>) {
      for (const auto& e : j)
        if (!e.is_number_unsigned())
          throw ConfigError(
              fmt::format("{}: expected whole numbers >= 0, got {}", path(key), j.dump()));
    }
    try {
      return j.get<V>();
    } catch (const nlohmann::json::exception&) {
      throw ConfigError(
          fmt::format("{}: has the wrong type ({})", path(key), section_.at(key).dump()));
    }
  }
  double positive(const std::string& key) const;
  double in_range(const std::string& key, double low, double high) const;
  std::string one_of(const std::string& key, const std::vector<std::string>& choices) const;
  std::string path(const std::string& key) const { return prefix_ + "." + key; }
  const nlohmann::json& section() const { return section_; }

 private:
  const nlohmann::json& section_;
  std::string prefix_;
};

}  // namespace aeqlab
