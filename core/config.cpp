#include "core/config.hpp"

#include <algorithm>
#include <fstream>

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

namespace {

std::size_t line_at(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + offset, '\n'));
}

void check_depth(std::string_view text, const std::string& source) {
  if (const auto at = json_too_deep_at(text))
    throw ConfigError(fmt::format("{}:{}: nested deeper than {} levels", source, line_at(text, *at),
                                  kMaxJsonDepth));
}

}  // namespace

// One pass over the text, outside strings: the deepest nesting, checked before parsing, so that
// nothing recursive (merging, key checks, printing, copying) ever walks a tree deeper than
// kMaxJsonDepth.
std::optional<std::size_t> json_too_deep_at(std::string_view text) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::nullopt;
}

nlohmann::json parse_json_text(std::string_view text, const std::string& source) {
  check_depth(text, source);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is the offset of the failure: turn it into a line for a human.
    throw ConfigError(fmt::format("{}:{}: malformed JSON: {}", source,
                                  line_at(text, e.byte ? e.byte - 1 : 0), e.what()));
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(fmt::format("{}: {}", source, e.what()));  // e.g. a number beyond a double
  }
}

nlohmann::json read_json_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("{}: cannot open the file", file.string()));
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  if (!ec && size > kMaxJsonFileBytes)
    throw ConfigError(
        fmt::format("{}: {} bytes, more than the {} a JSON file read by aeqlab may "
                    "hold; not read",
                    file.string(), size, kMaxJsonFileBytes));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw ConfigError(fmt::format("{}: cannot read the file", file.string()));
  return parse_json_text(text, file.string());
}

void apply_setting(nlohmann::json& config, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError(fmt::format("--set {}: expected key.path=value", assignment));
  const std::string key = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  // The config is JSON, which holds UTF-8 text only: anything else would fail later, far from
  // the --set that brought it (when the session's config.json is written).
  try {
    (void)nlohmann::json(assignment).dump();
  } catch (const nlohmann::json::type_error&) {
    throw ConfigError("--set: an assignment is not UTF-8 text");
  }
  // Every part of the key names something: "a..b", ".x", "x." and "." name nothing.
  std::vector<std::string> path;
  for (std::size_t at = 0;;) {
    const auto dot = key.find('.', at);
    path.push_back(key.substr(at, dot == std::string::npos ? dot : dot - at));
    if (path.back().empty())
      throw ConfigError(
          fmt::format("--set {}: \"{}\" is not a key (expected key.path=value, "
                      "e.g. trainer.epochs=5)",
                      assignment, key));
    if (dot == std::string::npos) break;
    at = dot + 1;
  }
  nlohmann::json value;
  check_depth(text, "--set " + key);
  try {
    value = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error&) {
    value = text;  // a bare word is a string: --set trainer.mode=centered
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(fmt::format("--set {}: {}", key, e.what()));  // e.g. 1e400
  }
  nlohmann::json* node = &config;
  std::string walked;
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

// Keys whose content another part checks: the device section (its keys depend on its type),
// trainer.learning_rates (one number, or an array of one per parameter group) and
// trainer.feedback.probe ("auto", "off" or a number).
const std::vector<std::string>& open_keys() {
  static const std::vector<std::string> keys = {"device", "trainer.learning_rates",
                                                "trainer.feedback.probe"};
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

std::uint64_t ConfigReader::seed(const std::string& key) const {
  if (!section_.contains(key)) throw ConfigError(fmt::format("{}: missing key", path(key)));
  const auto& j = section_.at(key);
  if (!j.is_number_unsigned())
    throw ConfigError(fmt::format("{}: expected a whole number in [0, {}], got {}", path(key),
                                  std::numeric_limits<std::uint64_t>::max(), j.dump()));
  return j.get<std::uint64_t>();
}

std::size_t ConfigReader::count(const std::string& key, std::size_t low, std::size_t high) const {
  const auto v = get<std::size_t>(key);
  if (v < low || v > high)
    throw ConfigError(fmt::format("{}: must lie in [{}, {}], got {}", path(key), low, high, v));
  return v;
}

double ConfigReader::positive(const std::string& key) const {
  const double v = get<double>(key);
  if (!(v > 0)) throw ConfigError(fmt::format("{}: must be > 0, got {}", path(key), v));
  return v;
}

void require_range(const std::string& key, double value, double low, double high,
                   std::string_view unit) {
  if (!(value >= low && value <= high))
    throw ConfigError(fmt::format("{}: must lie in [{:g}, {:g}]{}{}, got {:g}", key, low, high,
                                  unit.empty() ? "" : " ", unit, value));
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
