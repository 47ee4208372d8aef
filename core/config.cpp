#include "core/config.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace aeqlab {

static std::string type_name(const nlohmann::json& j) {
  if (j.is_number()) return "a number";
  const std::string name = j.type_name();
  return (name == "array" || name == "object" ? "an " : "a ") + name;
}

void require_known_keys(const nlohmann::json& given, const nlohmann::json& schema,
                        const std::string& prefix, const std::vector<std::string>& open_keys) {
  if (!given.is_object()) {
    throw ConfigError(fmt::format("{}: expected an object, got {}",
                                  prefix.empty() ? "config" : prefix, given.dump()));
  }
  for (const auto& [key, value] : given.items()) {
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    if (!schema.contains(key)) {
      std::string known;
      for (const auto& [k, v] : schema.items()) known += (known.empty() ? "" : ", ") + k;
      throw ConfigError(fmt::format("{}: unknown key (known here: {})", path, known));
    }
    const auto& expected = schema.at(key);
    if (std::find(open_keys.begin(), open_keys.end(), path) != open_keys.end()) continue;
    if (expected.is_object()) {
      require_known_keys(value, expected, path, open_keys);
    } else if (!expected.is_null() && type_name(expected) != type_name(value)) {
      throw ConfigError(
          fmt::format("{}: expected {}, got {}", path, type_name(expected), value.dump()));
    }
  }
}

void merge_config(nlohmann::json& base, const nlohmann::json& overlay) {
  if (!base.is_object() || !overlay.is_object()) {
    base = overlay;
    return;
  }
  for (const auto& [key, value] : overlay.items()) {
    if (base.contains(key) && base[key].is_object() && value.is_object())
      merge_config(base[key], value);
    else
      base[key] = value;
  }
}

nlohmann::json read_json_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw ConfigError(fmt::format("{}: cannot open the file", file.string()));
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is the offset of the failure: turn it into a line for a human.
    std::ifstream again(file);
    std::string text((std::istreambuf_iterator<char>(again)), std::istreambuf_iterator<char>());
    const std::size_t upto = std::min<std::size_t>(e.byte ? e.byte - 1 : 0, text.size());
    const auto line = 1 + std::count(text.begin(), text.begin() + upto, '\n');
    throw ConfigError(fmt::format("{}:{}: malformed JSON: {}", file.string(), line, e.what()));
  }
}

void apply_setting(nlohmann::json& config, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError(fmt::format("--set {}: expected key.path=value", assignment));
  const std::string key = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error&) {
    value = text;  // a bare word is a string: --set trainer.mode=centered
  }
  nlohmann::json* node = &config;
  std::stringstream parts(key);
  std::string part, walked;
  std::vector<std::string> path;
  while (std::getline(parts, part, '.')) path.push_back(part);
  for (std::size_t i = 0; i < path.size(); ++i) {
    walked += (i ? "." : "") + path[i];
    if (i + 1 == path.size()) {
      (*node)[path[i]] = value;
    } else {
      if (!node->contains(path[i]) || !(*node)[path[i]].is_object())
        throw ConfigError(fmt::format("--set {}: {} is not a section of the config", key, walked));
      node = &(*node)[path[i]];
    }
  }
}

// Keys whose content another part checks: the device section (its keys depend on its type) and
// trainer.learning_rates (one number, or an array of one per parameter group).
static const std::vector<std::string>& open_keys() {
  static const std::vector<std::string> keys = {"device", "trainer.learning_rates"};
  return keys;
}

nlohmann::json resolve_config(const nlohmann::json& defaults,
                              const std::optional<std::filesystem::path>& file,
                              const std::vector<std::string>& settings) {
  nlohmann::json config = defaults;
  if (file) {
    nlohmann::json given = read_json_file(*file);
    try {
      require_known_keys(given, defaults, "", open_keys());
    } catch (const ConfigError& e) {
      throw ConfigError(fmt::format("{}: {}", file->string(), e.what()));
    }
    // A device section replaces the default one whole when it names another type.
    if (given.contains("device") && given["device"].contains("type") &&
        given["device"]["type"] != defaults["device"]["type"]) {
      config["device"] = nlohmann::json::object();
    }
    merge_config(config, given);
  }
  for (const auto& s : settings) apply_setting(config, s);
  require_known_keys(config, defaults, "", open_keys());
  return config;
}

nlohmann::json resolve_config_data(const nlohmann::json& defaults, const nlohmann::json& given,
                                   const std::vector<std::string>& settings) {
  require_known_keys(given, defaults, "", open_keys());
  nlohmann::json config = defaults;
  if (given.contains("device") && given["device"].contains("type") &&
      given["device"]["type"] != defaults["device"]["type"])
    config["device"] = nlohmann::json::object();
  merge_config(config, given);
  for (const auto& s : settings) apply_setting(config, s);
  require_known_keys(config, defaults, "", open_keys());
  return config;
}

double ConfigReader::positive(const std::string& key) const {
  const double v = get<double>(key);
  if (!(v > 0)) throw ConfigError(fmt::format("{}: must be > 0, got {}", path(key), v));
  return v;
}

double ConfigReader::in_range(const std::string& key, double low, double high) const {
  const double v = get<double>(key);
  if (!(v >= low && v <= high))
    throw ConfigError(fmt::format("{}: must lie in [{}, {}], got {}", path(key), low, high, v));
  return v;
}

std::string ConfigReader::one_of(const std::string& key,
                                 const std::vector<std::string>& choices) const {
  const auto v = get<std::string>(key);
  if (std::find(choices.begin(), choices.end(), v) == choices.end()) {
    std::string list;
    for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
    throw ConfigError(fmt::format("{}: \"{}\" is not one of: {}", path(key), v, list));
  }
  return v;
}

}  // namespace aeqlab
