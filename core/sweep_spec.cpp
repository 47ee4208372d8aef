#include "core/sweep_spec.hpp"

#include <cmath>
#include <fstream>
#include <random>
#include <set>

#include <spdlog/fmt/fmt.h>

#include "core/config.hpp"
#include "core/error.hpp"

namespace aeqlab {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ordered = nlohmann::ordered_json;

namespace {

[[noreturn]] void refuse(const fs::path& file, const std::string& key, const std::string& why) {
  throw ConfigError(fmt::format("{}: {}: {}", file.string(), key, why));
}

// A dotted key names a place in the config: "trainer.nudging". Checked for shape here; whether the
// config has it is checked by point_config, against the config itself.
void check_key_shape(const fs::path& file, const std::string& where, const std::string& key) {
  if (key.empty() || key.front() == '.' || key.back() == '.' ||
      key.find("..") != std::string::npos || key.find('=') != std::string::npos)
    refuse(file, where,
           fmt::format("\"{}\" is not a dotted config key (e.g. trainer.nudging)", key));
  if (key == "trainer.seed" || key == "device.seed")
    refuse(file, fmt::format("{}.{}", where, key), "sweep seeds with the SPEC's \"seeds\" list");
}

std::string point_id(std::size_t index, std::size_t count) {
  const std::size_t width = std::max<std::size_t>(4, std::to_string(count).size());
  std::string n = std::to_string(index);
  return fmt::format("p{:0>{}}", n, width);
}

// Sets `key` (dotted) in `config`, naming the first part that is not a section.
void set_dotted(json& config, const std::string& key, const json& value, const fs::path& file) {
  json* node = &config;
  std::size_t start = 0;
  for (;;) {
    const auto dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? dot : dot - start);
    if (dot == std::string::npos) {
      (*node)[part] = value;
      return;
    }
    if (!node->contains(part) || !(*node)[part].is_object())
      refuse(file, key, fmt::format("{} is not a section of the config", key.substr(0, dot)));
    node = &(*node)[part];
    start = dot + 1;
  }
}

}  // namespace

std::vector<std::string> SweepSpec::swept_keys() const {
  std::vector<std::string> keys;
  for (const auto& [k, v] : grid) keys.push_back(k);
  for (const auto& r : random) keys.push_back(r.key);
  if (!seeds.empty()) keys.push_back("seed");
  return keys;
}

SweepSpec read_sweep_spec(const fs::path& file) {
  SweepSpec spec;
  spec.file = file;
  ordered given;
  {
    // Read in the SPEC's own order: the grid's first key is the outermost loop.
    std::ifstream in(file);
    if (!in) throw ConfigError(fmt::format("{}: cannot open the sweep SPEC", file.string()));
    try {
      given = ordered::parse(in);
    } catch (const ordered::parse_error& e) {
      throw ConfigError(fmt::format("{}: malformed JSON: {}", file.string(), e.what()));
    }
  }
  if (!given.is_object()) refuse(file, "SPEC", "expected an object with base, grid, random, seeds");
  for (const auto& [key, value] : given.items())
    if (key != "base" && key != "grid" && key != "random" && key != "seeds")
      refuse(file, key, "unknown key (known here: base, grid, random, seeds)");

  // base: a config object, or {"file": path} (relative to the SPEC's folder).
  if (!given.contains("base"))
    refuse(file, "base", "missing (a config object, or {\"file\": path})");
  const ordered& base = given["base"];
  if (!base.is_object()) refuse(file, "base", "expected an object");
  if (base.size() == 1 && base.contains("file")) {
    if (!base["file"].is_string()) refuse(file, "base.file", "expected a path");
    fs::path p = base["file"].get<std::string>();
    if (p.is_relative()) p = file.parent_path() / p;
    spec.base = read_json_file(p);
    if (!spec.base.is_object()) refuse(p, "config", "expected an object");
  } else {
    spec.base = json::parse(base.dump());
  }

  if (given.contains("grid")) {
    const ordered& grid = given["grid"];
    if (!grid.is_object()) refuse(file, "grid", "expected an object {\"dotted.key\": [values]}");
    for (const auto& [key, values] : grid.items()) {
      check_key_shape(file, "grid", key);
      if (!values.is_array() || values.empty())
        refuse(file, fmt::format("grid.{}", key), "expected a non-empty list of values");
      std::vector<json> list;
      for (const auto& v : values) list.push_back(json::parse(v.dump()));
      spec.grid.emplace_back(key, std::move(list));
    }
  }

  if (given.contains("random")) {
    const ordered& random = given["random"];
    if (!random.is_object()) refuse(file, "random", "expected an object");
    if (!random.contains("samples") || !random["samples"].is_number_unsigned() ||
        random["samples"].get<std::size_t>() == 0)
      refuse(file, "random.samples", "expected a whole number >= 1 (draws per grid point)");
    spec.samples = random["samples"].get<std::size_t>();
    for (const auto& [key, law] : random.items()) {
      if (key == "samples") continue;
      if (key == "seed") {
        if (!law.is_number_unsigned()) refuse(file, "random.seed", "expected a whole number >= 0");
        spec.random_seed = law.get<std::uint64_t>();
        continue;
      }
      check_key_shape(file, "random", key);
      const std::string where = fmt::format("random.{}", key);
      if (!law.is_object() || law.size() != 1 ||
          !(law.contains("uniform") || law.contains("log_uniform")))
        refuse(file, where,
               "expected {\"uniform\": [low, high]} or {\"log_uniform\": [low, high]}");
      RandomAxis axis;
      axis.key = key;
      axis.log_uniform = law.contains("log_uniform");
      const ordered& range = law.begin().value();
      const std::string law_key = fmt::format("{}.{}", where, law.begin().key());
      if (!range.is_array() || range.size() != 2 || !range[0].is_number() || !range[1].is_number())
        refuse(file, law_key, "expected [low, high]");
      axis.low = range[0].get<double>();
      axis.high = range[1].get<double>();
      if (!(axis.low <= axis.high) || !std::isfinite(axis.low) || !std::isfinite(axis.high))
        refuse(file, law_key, "expected finite low <= high");
      if (axis.log_uniform && !(axis.low > 0))
        refuse(file, law_key, "a log-uniform range needs low > 0");
      spec.random.push_back(axis);
    }
    if (spec.random.empty()) refuse(file, "random", "names no key to draw");
  }

  if (given.contains("seeds")) {
    const ordered& seeds = given["seeds"];
    if (!seeds.is_array() || seeds.empty()) refuse(file, "seeds", "expected a non-empty list");
    std::set<std::uint64_t> seen;
    for (const auto& s : seeds) {
      if (!s.is_number_unsigned()) refuse(file, "seeds", "expected whole numbers >= 0");
      if (!seen.insert(s.get<std::uint64_t>()).second)
        refuse(file, "seeds", fmt::format("{} is listed twice", s.dump()));
      spec.seeds.push_back(s.get<std::uint64_t>());
    }
  }

  std::set<std::string> keys;
  for (const auto& k : spec.swept_keys())
    if (!keys.insert(k).second) refuse(file, k, "swept twice (in grid and random)");
  return spec;
}

std::vector<SweepPoint> sweep_points(const SweepSpec& spec) {
  // The grid's product, first key outermost.
  std::vector<std::vector<std::pair<std::string, json>>> combos{{}};
  for (const auto& [key, values] : spec.grid) {
    std::vector<std::vector<std::pair<std::string, json>>> next;
    for (const auto& c : combos)
      for (const auto& v : values) {
        next.push_back(c);
        next.back().emplace_back(key, v);
      }
    combos = std::move(next);
  }
  // Random draws: one generator for the whole listing, so a draw depends only on the SPEC.
  if (spec.samples > 0) {
    std::mt19937_64 rng(spec.random_seed);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::vector<std::vector<std::pair<std::string, json>>> next;
    for (const auto& c : combos)
      for (std::size_t s = 0; s < spec.samples; ++s) {
        next.push_back(c);
        for (const auto& axis : spec.random) {
          const double u = unit(rng);
          const double v =
              axis.log_uniform
                  ? std::exp(std::log(axis.low) + u * (std::log(axis.high) - std::log(axis.low)))
                  : axis.low + u * (axis.high - axis.low);
          next.back().emplace_back(axis.key, v);
        }
      }
    combos = std::move(next);
  }
  std::vector<SweepPoint> points;
  const std::size_t per_combo = spec.seeds.empty() ? 1 : spec.seeds.size();
  const std::size_t count = combos.size() * per_combo;
  for (const auto& c : combos)
    for (std::size_t s = 0; s < per_combo; ++s) {
      SweepPoint p;
      p.index = points.size();
      p.id = point_id(p.index, count);
      p.values = c;
      p.overrides = json::object();
      for (const auto& [k, v] : c) p.overrides[k] = v;
      if (!spec.seeds.empty()) {
        p.values.emplace_back("seed", spec.seeds[s]);
        p.overrides["trainer.seed"] = spec.seeds[s];
        p.overrides["device.seed"] = spec.seeds[s];
      }
      points.push_back(std::move(p));
    }
  return points;
}

json point_config(const SweepSpec& spec, const SweepPoint& point, const json& defaults) {
  json config = defaults;
  try {
    require_known_keys(spec.base, defaults, "", open_keys());
  } catch (const ConfigError& e) {
    throw ConfigError(fmt::format("{}: base: {}", spec.file.string(), e.what()));
  }
  // As for a --config file: a device section naming another type replaces the default one whole.
  if (spec.base.contains("device") && spec.base["device"].contains("type") &&
      spec.base["device"]["type"] != defaults["device"]["type"])
    config["device"] = json::object();
  merge_config(config, spec.base);
  for (const auto& [key, value] : point.overrides.items()) {
    // A bench has no seed of its own: the seed then sets only the trainer's.
    if (key == "device.seed" && config["device"].value("type", "") == "bench") continue;
    set_dotted(config, key, value, spec.file);
  }
  try {
    require_known_keys(config, defaults, "", open_keys());
  } catch (const ConfigError& e) {
    throw ConfigError(fmt::format("{}: point {}: {}", spec.file.string(), point.id, e.what()));
  }
  return config;
}

}  // namespace aeqlab
