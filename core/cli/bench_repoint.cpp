#include "core/cli/bench_repoint.hpp"

#include <optional>
#include <set>
#include <string>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include "core/config.hpp"
#include "core/error.hpp"
#include "instruments/bench_config.hpp"

namespace aeqlab::cli {

namespace {

using nlohmann::json;

// How an instrument is reached: what a re-pointed bench may change.
const std::set<std::string> kConnectionKeys = {"address",    "timeout_s",         "retries",
                                               "reconnects", "reconnect_delay_s", "check_errors"};

struct Difference {
  std::string key;  // as a config path, e.g. channels.knobs[0].map[0].channels
  json recorded, given;
};

// The first key at which `a` and `b` differ, if any.
std::optional<Difference> first_difference(const json& a, const json& b, const std::string& at) {
  if (a.is_object() && b.is_object()) {
    std::set<std::string> keys;
    for (const auto& [k, v] : a.items()) keys.insert(k);
    for (const auto& [k, v] : b.items()) keys.insert(k);
    for (const auto& k : keys) {
      const std::string path = at.empty() ? k : at + "." + k;
      if (!a.contains(k) || !b.contains(k))
        return Difference{path, a.contains(k) ? a.at(k) : json("(absent)"),
                          b.contains(k) ? b.at(k) : json("(absent)")};
      if (auto d = first_difference(a.at(k), b.at(k), path)) return d;
    }
    return std::nullopt;
  }
  if (a.is_array() && b.is_array() && a.size() == b.size()) {
    for (std::size_t i = 0; i < a.size(); ++i)
      if (auto d = first_difference(a[i], b[i], fmt::format("{}[{}]", at, i))) return d;
    return std::nullopt;
  }
  if (a == b) return std::nullopt;
  return Difference{at, a, b};
}

}  // namespace

json repoint_bench(const json& recorded, const std::filesystem::path& file) {
  if (recorded.value("type", "") != "bench" || !recorded.contains("bench"))
    throw ConfigError(fmt::format(
        "--bench {}: the session was not recorded on a bench (device.type is {}); there is "
        "nothing to re-point",
        file.string(), recorded.value("type", json("hopfield")).dump()));
  // Both through the same reading and writing, so spellings ("1:4" or [1, 2, 3, 4]) compare equal.
  const json old_bench = instruments::bench_to_json(
      instruments::parse_bench(recorded.at("bench"), "the session's recorded bench"));
  const json new_bench =
      instruments::bench_to_json(instruments::parse_bench(read_json_file(file), file.string()));

  // Everything but how the instruments are reached, the bench's name and its virtual section.
  auto comparable = [](json b) {
    b.erase("name");
    b.erase("virtual");
    for (auto& ins : b["instruments"])
      for (const auto& k : kConnectionKeys) ins.erase(k);
    return b;
  };
  if (const auto d = first_difference(comparable(old_bench), comparable(new_bench), ""))
    throw ConfigError(fmt::format(
        "--bench {}: {} differs from the session's recorded bench (recorded {}, given {}); "
        "re-pointing may change only how each instrument is reached (address, timeout_s, "
        "retries, reconnects, reconnect_delay_s, check_errors)",
        file.string(), d->key, d->recorded.dump(), d->given.dump()));

  json out = recorded;
  json bench = old_bench;
  for (std::size_t i = 0; i < bench["instruments"].size(); ++i) {
    auto& ins = bench["instruments"][i];
    const auto& given = new_bench["instruments"][i];
    for (const auto& k : kConnectionKeys)
      if (given.contains(k)) ins[k] = given[k];
    if (ins.value("address", "") != old_bench["instruments"][i].value("address", ""))
      spdlog::info("instrument \"{}\": re-pointed from {} to {}", ins.value("name", ""),
                   old_bench["instruments"][i].value("address", ""), ins.value("address", ""));
  }
  if (old_bench.contains("virtual")) bench["virtual"] = old_bench["virtual"];
  out["bench"] = bench;
  return out;
}

}  // namespace aeqlab::cli
