#include "instruments/bench_config.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>

#include <spdlog/fmt/fmt.h>

#include "core/config.hpp"
#include "core/error.hpp"
#include "instruments/bench_options.hpp"
#include "instruments/bench_roles.hpp"

namespace aeqlab::instruments {

using nlohmann::json;

namespace {

const std::set<std::string> kTop = {"name",   "instruments", "channels",     "settle",   "virtual",
                                    "probes", "plasticity",  "write_verify", "setpoints"};
const std::set<std::string> kInstrument = {"name",         "profile",          "address",
                                           "timeout_s",    "retries",          "reconnects",
                                           "check_errors", "reconnect_delay_s"};
const std::set<std::string> kRole = {"name", "unit", "safe",    "safe_value",
                                     "map",  "ramp", "average", "compliance"};
const std::set<std::string> kSettle = {"wait_s", "stable_reads", "tolerance", "poll_interval_s",
                                       "timeout_s"};

void require_object(const json& j, const std::string& where) {
  if (!j.is_object())
    throw ConfigError(fmt::format("{}: expected an object, got {}", where, j.dump()));
}

void require_keys(const json& j, const std::set<std::string>& known, const std::string& where) {
  require_object(j, where);
  for (const auto& [k, v] : j.items()) {
    if (known.count(k)) continue;
    std::string list;
    for (const auto& n : known) {
      if (!list.empty()) list += ", ";
      list += n;
    }
    throw ConfigError(fmt::format("{}.{}: unknown key (known here: {})", where, k, list));
  }
}

double number(const json& j, const std::string& key, double fallback, const std::string& where) {
  if (!j.contains(key)) return fallback;
  const auto& v = j.at(key);
  if (!v.is_number() || !std::isfinite(v.get<double>()))
    throw ConfigError(fmt::format("{}.{}: expected a number, got {}", where, key, v.dump()));
  return v.get<double>();
}

double non_negative(const json& j, const std::string& key, double fallback,
                    const std::string& where) {
  const double v = number(j, key, fallback, where);
  if (v < 0) throw ConfigError(fmt::format("{}.{}: must be >= 0, got {}", where, key, v));
  return v;
}

std::size_t count(const json& j, const std::string& key, std::size_t fallback,
                  const std::string& where) {
  if (!j.contains(key)) return fallback;
  const auto& v = j.at(key);
  if (!v.is_number_integer() || v.get<long long>() < 0)
    throw ConfigError(
        fmt::format("{}.{}: expected a whole number >= 0, got {}", where, key, v.dump()));
  return static_cast<std::size_t>(v.get<long long>());
}

std::string text(const json& j, const std::string& key, const std::string& where,
                 std::optional<std::string> fallback = std::nullopt) {
  if (!j.contains(key)) {
    if (fallback) return *fallback;
    throw ConfigError(fmt::format("{}.{}: missing key", where, key));
  }
  if (!j.at(key).is_string())
    throw ConfigError(
        fmt::format("{}.{}: expected a string, got {}", where, key, j.at(key).dump()));
  return j.at(key).get<std::string>();
}

constexpr long kMaxChannel = 1000000000;

int parse_int(const std::string& s, const std::string& where) {
  std::size_t used = 0;
  long v = 0;
  try {
    v = std::stol(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != s.size() || v < 0 || v > kMaxChannel ||
      !std::isdigit(static_cast<unsigned char>(s.front())))
    throw ConfigError(fmt::format("{}: \"{}\" is not a channel number (a whole number in [0, {}])",
                                  where, s, kMaxChannel));
  return static_cast<int>(v);
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

ChannelRole parse_role(const json& j, const std::string& where, const std::string& default_name,
                       const BenchConfig& bench, bool with_compliance) {
  require_keys(j, kRole, where);
  ChannelRole r;
  r.group.name = text(j, "name", where, default_name);
  r.group.unit = text(j, "unit", where, std::string("V"));
  if (!j.contains("safe"))
    throw ConfigError(
        fmt::format("{}.safe: missing key (every channel needs a safe range [low, high])", where));
  const auto& safe = j.at("safe");
  if (!safe.is_array() || safe.size() != 2 || !safe[0].is_number() || !safe[1].is_number())
    throw ConfigError(fmt::format("{}.safe: expected [low, high], got {}", where, safe.dump()));
  r.group.safe = {safe[0].get<double>(), safe[1].get<double>()};
  if (!(r.group.safe.low <= r.group.safe.high))
    throw ConfigError(fmt::format("{}.safe: low {} is above high {}", where, r.group.safe.low,
                                  r.group.safe.high));
  const double fallback_safe = r.group.safe.contains(0.0) ? 0.0 : r.group.safe.low;
  if (j.contains("safe_value") && j.at("safe_value") == "hold") {
    r.hold_at_safe_state = true;
    r.group.safe_value = fallback_safe;
  } else {
    r.group.safe_value = number(j, "safe_value", fallback_safe, where);
  }
  if (!r.group.safe.contains(r.group.safe_value))
    throw ConfigError(fmt::format("{}.safe_value: {} lies outside the safe range [{}, {}]", where,
                                  r.group.safe_value, r.group.safe.low, r.group.safe.high));
  if (!j.contains("map") || !j.at("map").is_array() || j.at("map").empty())
    throw ConfigError(fmt::format(
        "{}.map: expected a list of {{\"instrument\": ..., \"channels\": ...}}", where));
  std::size_t i = 0;
  for (const auto& span : j.at("map")) {
    const std::string w = fmt::format("{}.map[{}]", where, i++);
    require_keys(span, {"instrument", "channels"}, w);
    ChannelSpan s;
    s.instrument = text(span, "instrument", w);
    bench.instrument(s.instrument);  // throws if unknown
    if (!span.contains("channels")) throw ConfigError(w + ".channels: missing key");
    s.channels = parse_channel_list(span.at("channels"), w + ".channels");
    r.group.count += s.channels.size();
    r.map.push_back(std::move(s));
  }
  if (j.contains("ramp")) {
    const auto& ramp = j.at("ramp");
    require_keys(ramp, {"step", "rate"}, where + ".ramp");
    r.ramp.step = non_negative(ramp, "step", 0.0, where + ".ramp");
    r.ramp.rate = non_negative(ramp, "rate", 0.0, where + ".ramp");
  }
  r.average = count(j, "average", 1, where);
  if (r.average == 0) throw ConfigError(where + ".average: must be at least 1");
  if (with_compliance) {
    r.compliance = number(j, "compliance", 0.0, where);
    if (!(r.compliance > 0))
      throw ConfigError(fmt::format(
          "{}.compliance: every parameter group needs its compliance > 0 (the coupling to its "
          "knob), got {}",
          where, r.compliance));
  } else if (j.contains("compliance")) {
    throw ConfigError(where + ".compliance: only parameter groups have a compliance");
  }
  return r;
}

std::vector<ChannelRole> parse_roles(const json& channels, const std::string& key,
                                     const std::string& where, const BenchConfig& bench,
                                     bool with_compliance) {
  std::vector<ChannelRole> roles;
  if (!channels.contains(key)) return roles;
  const auto& list = channels.at(key);
  if (!list.is_array())
    throw ConfigError(fmt::format("{}.{}: expected a list of groups", where, key));
  for (std::size_t i = 0; i < list.size(); ++i)
    roles.push_back(parse_role(list[i], fmt::format("{}.{}[{}]", where, key, i),
                               fmt::format("{}{}", key, i), bench, with_compliance));
  return roles;
}

void require_count(const ChannelRole& r, std::size_t n, const std::string& where,
                   const std::string& why) {
  if (r.group.count != n)
    throw ConfigError(fmt::format("{}: maps {} channel(s); {}", where, r.group.count, why));
}

// The keys directly under "channels": each role's key, or the group holding it ("nudge").
std::set<std::string> channel_keys() {
  std::set<std::string> keys;
  for (const auto& row : bench_roles()) keys.insert(row.group ? row.group : row.key);
  return keys;
}

// Whether a role's checks need the parameter groups (read later in table order than the knobs).
bool needs_parameters(const BenchRoleRow& row) {
  return row.count == RoleCount::as_parameters || row.count == RoleCount::per_parameter_group ||
         row.groups_why != nullptr;
}

// The counts a role's row asks for.
void check_role(const BenchConfig& b, const BenchRoleRow& row, const std::string& source) {
  const std::string where = source + ".channels";
  const auto groups = groups_of(b, row);
  const bool list = is_list(row);
  if (list && groups.empty() && row.at_least_one)
    throw ConfigError(fmt::format("{}.{}: {}", where, row.key, row.at_least_one));
  if (list && row.groups_why && !(groups.empty() && row.may_be_empty) &&
      groups.size() != b.parameters.size()) {
    const std::size_t given = groups.size(), parameters = b.parameters.size();
    throw ConfigError(
        fmt::vformat(row.groups_why, fmt::make_format_args(where, given, parameters)));
  }
  for (std::size_t k = 0; k < groups.size(); ++k) {
    std::size_t expected = 0;
    switch (row.count) {
      case RoleCount::any:
        continue;
      case RoleCount::one:
        expected = 1;
        break;
      case RoleCount::per_output:
        expected = b.outputs.group.count;
        break;
      case RoleCount::per_parameter_group:
        expected = b.parameters.size();
        break;
      case RoleCount::as_parameters:
        expected = b.parameters[k].group.count;
        break;
    }
    const std::string label = fmt::format(
        "{}.{}", source, role_label(row, list ? std::optional<std::size_t>(k) : std::nullopt));
    require_count(*groups[k], expected, label,
                  fmt::vformat(row.count_why, fmt::make_format_args(k, expected)));
  }
  if (!groups.empty() && row.check) row.check(b, where);
}

// The channel map, role by role as the table lists them. A role's counts are checked as soon as
// what they depend on is read, so the first mistake in the file is the one reported.
void parse_channels(const json& ch, const std::string& source, BenchConfig& b) {
  const std::string cw = source + ".channels";
  require_keys(ch, channel_keys(), cw);
  std::set<std::string> seen;
  for (const auto& row : bench_roles()) {
    const std::string top = row.group ? row.group : row.key;
    if (row.required && seen.insert(top).second && !ch.contains(top))
      throw ConfigError(fmt::format("{}.{}: missing key", cw, top));
  }
  std::set<std::string> opened;
  std::vector<const BenchRoleRow*> waiting;  // checks that need the parameters, not read yet
  bool parameters_read = false;
  for (const auto& row : bench_roles()) {
    const json* parent = &ch;
    std::string where = cw;
    if (row.group) {
      if (!ch.contains(row.group)) continue;
      parent = &ch.at(row.group);
      where = cw + "." + row.group;
      if (opened.insert(row.group).second) {
        std::set<std::string> keys;
        for (const auto& other : bench_roles())
          if (other.group && std::string(other.group) == row.group) keys.insert(other.key);
        require_keys(*parent, keys, where);
        for (const auto& other : bench_roles())
          if (other.group && std::string(other.group) == row.group && other.required &&
              !parent->contains(other.key))
            throw ConfigError(fmt::format("{}.{}: missing key", where, other.key));
      }
    }
    if (row.role == BenchRole::parameters && !parent->contains(row.key) &&
        parent->contains("parameter_setpoints")) {
      // Programmable resistors: the parameters are the set-points themselves.
      set_groups(b, row, parse_roles(*parent, "parameter_setpoints", where, b, false));
      b.parameters_from_setpoints = true;
    } else if (is_list(row)) {
      set_groups(b, row, parse_roles(*parent, row.key, where, b, row.with_compliance));
    } else if (parent->contains(row.key)) {
      set_groups(b, row,
                 {parse_role(parent->at(row.key), where + "." + row.key, row.default_name, b,
                             row.with_compliance)});
    }
    if (row.role == BenchRole::parameters) {
      parameters_read = true;
      for (const BenchRoleRow* w : waiting) check_role(b, *w, source);
      waiting.clear();
    }
    if (needs_parameters(row) && !parameters_read)
      waiting.push_back(&row);
    else
      check_role(b, row, source);
  }
  for (const BenchRoleRow* w : waiting) check_role(b, *w, source);
}

bool is_parameter_group(const BenchConfig& b, const ChannelRole* r) {
  for (const auto& p : b.parameters)
    if (&p == r) return true;
  return false;
}

}  // namespace

std::vector<int> parse_channel_list(const json& spec, const std::string& where) {
  // A channel number is an exact whole number in [0, 10^9] (what instruments number channels
  // with), never wrapped into an int; a list names at most kMaxListed channels, counted before
  // any range is expanded (docs/bench.md, "Channel lists").
  constexpr std::size_t kMaxListed = std::size_t{1} << 22;
  const auto channel = [&](const json& c) {
    if (!c.is_number_unsigned() || c.get<std::uint64_t>() > std::uint64_t(kMaxChannel))
      throw ConfigError(fmt::format("{}: {} is not a channel number (a whole number in [0, {}])",
                                    where, c.dump(), kMaxChannel));
    return static_cast<int>(c.get<std::uint64_t>());
  };
  const auto too_many = [&](std::size_t n) {
    return ConfigError(fmt::format("{}: names {} channels, more than the {} a list may hold", where,
                                   n, kMaxListed));
  };
  std::vector<int> out;
  // Every item as a range [first, last] (a single channel is [c, c]): duplicates are found among
  // the ranges, not among the channels they expand to (a range of 4 million channels is one
  // item to sort, not 4 million).
  std::vector<std::pair<int, int>> ranges;
  if (spec.is_number()) {
    out.push_back(channel(spec));
    ranges.emplace_back(out.back(), out.back());
  } else if (spec.is_array()) {
    if (spec.size() > kMaxListed) throw too_many(spec.size());
    for (const auto& c : spec) {
      out.push_back(channel(c));
      ranges.emplace_back(out.back(), out.back());
    }
  } else if (spec.is_string()) {
    std::string s = spec.get<std::string>();
    // Tolerate the SCPI form a lab copies from a manual: "(@101:110)".
    if (s.rfind("(@", 0) == 0 && !s.empty() && s.back() == ')') s = s.substr(2, s.size() - 3);
    std::size_t total = 0;
    std::size_t at = 0;
    while (at <= s.size()) {
      std::size_t comma = s.find(',', at);
      if (comma == std::string::npos) comma = s.size();
      const std::string item = trim(s.substr(at, comma - at));
      if (item.empty()) throw ConfigError(fmt::format("{}: empty item in \"{}\"", where, s));
      const auto colon = item.find(':');
      int first = 0, last = 0;
      if (colon == std::string::npos) {
        first = last = parse_int(item, where);
      } else {
        first = parse_int(trim(item.substr(0, colon)), where);
        last = parse_int(trim(item.substr(colon + 1)), where);
        if (last < first)
          throw ConfigError(fmt::format("{}: range \"{}\" runs backwards", where, item));
      }
      total += static_cast<std::size_t>(last - first) + 1;
      if (total > kMaxListed) throw too_many(total);
      ranges.emplace_back(first, last);
      at = comma + 1;
    }
    out.reserve(total);
    for (const auto& [first, last] : ranges)
      for (int c = first; c <= last; ++c) out.push_back(c);
  } else {
    throw ConfigError(
        fmt::format("{}: expected \"1:8\", \"101,102,105:110\" or a list of numbers, got {}", where,
                    spec.dump()));
  }
  if (out.empty()) throw ConfigError(where + ": no channels");
  // Sorted by first channel, a range that starts at or below the highest channel seen so far
  // overlaps: its first channel is the lowest one listed twice.
  std::sort(ranges.begin(), ranges.end());
  long long reach = -1;
  for (const auto& [first, last] : ranges) {
    if (first <= reach)
      throw ConfigError(fmt::format("{}: channel {} is listed twice", where, first));
    reach = std::max<long long>(reach, last);
  }
  return out;
}

const InstrumentConfig& BenchConfig::instrument(const std::string& n) const {
  for (const auto& i : instruments)
    if (i.name == n) return i;
  std::string known;
  for (const auto& i : instruments) {
    if (!known.empty()) known += ", ";
    known += i.name;
  }
  throw ConfigError(
      fmt::format("no instrument named \"{}\" on the bench (instruments: {})", n, known));
}

std::vector<const ChannelRole*> BenchConfig::roles() const {
  std::vector<const ChannelRole*> all;
  for (const auto& row : bench_roles())
    for (const ChannelRole* r : groups_of(*this, row)) all.push_back(r);
  return all;
}

BenchConfig parse_bench(const json& j, const std::string& source) {
  require_keys(j, kTop, source);
  BenchConfig b;
  b.name = text(j, "name", source, std::string("bench"));
  if (!j.contains("instruments") || !j.at("instruments").is_array() || j.at("instruments").empty())
    throw ConfigError(source + ".instruments: expected a list of instruments");
  std::size_t i = 0;
  for (const auto& ij : j.at("instruments")) {
    const std::string w = fmt::format("{}.instruments[{}]", source, i++);
    require_keys(ij, kInstrument, w);
    InstrumentConfig c;
    c.name = text(ij, "name", w);
    c.profile = text(ij, "profile", w);
    c.address = text(ij, "address", w);
    c.timeout_s = number(ij, "timeout_s", c.timeout_s, w);
    if (!(c.timeout_s > 0)) throw ConfigError(w + ".timeout_s: must be > 0");
    c.retries = static_cast<int>(count(ij, "retries", c.retries, w));
    c.reconnects = static_cast<int>(count(ij, "reconnects", c.reconnects, w));
    c.reconnect_delay_s = non_negative(ij, "reconnect_delay_s", c.reconnect_delay_s, w);
    if (ij.contains("check_errors")) {
      if (!ij.at("check_errors").is_boolean())
        throw ConfigError(w + ".check_errors: expected true or false");
      c.check_errors = ij.at("check_errors").get<bool>();
    }
    for (const auto& other : b.instruments)
      if (other.name == c.name)
        throw ConfigError(fmt::format("{}.name: \"{}\" names two instruments", w, c.name));
    b.instruments.push_back(std::move(c));
  }

  if (j.contains("probes")) b.probe_map = parse_probe_map(j.at("probes"), source + ".probes");
  const std::string cw = source + ".channels";
  if (!j.contains("channels")) throw ConfigError(cw + ": missing key (the channel map)");
  parse_channels(j.at("channels"), source, b);

  // One physical channel, one role: two roles on one wire would fight.
  std::map<std::pair<std::string, int>, std::string> owner;
  for (const ChannelRole* r : b.roles()) {
    if (b.parameters_from_setpoints && is_parameter_group(b, r)) continue;
    for (const auto& span : r->map)
      for (int c : span.channels) {
        auto [it, fresh] = owner.emplace(std::make_pair(span.instrument, c), r->group.name);
        if (!fresh)
          throw ConfigError(
              fmt::format("{}: channel {} of instrument \"{}\" is mapped to both "
                          "\"{}\" and \"{}\"",
                          cw, c, span.instrument, it->second, r->group.name));
      }
  }
  check_probes(j, b, source);

  if (j.contains("settle")) {
    const std::string w = source + ".settle";
    const auto& s = j.at("settle");
    require_keys(s, kSettle, w);
    b.settle.wait_s = non_negative(s, "wait_s", b.settle.wait_s, w);
    b.settle.stable_reads = count(s, "stable_reads", b.settle.stable_reads, w);
    b.settle.tolerance = non_negative(s, "tolerance", b.settle.tolerance, w);
    b.settle.poll_interval_s = non_negative(s, "poll_interval_s", b.settle.poll_interval_s, w);
    b.settle.timeout_s = number(s, "timeout_s", b.settle.timeout_s, w);
    if (!(b.settle.timeout_s > 0)) throw ConfigError(w + ".timeout_s: must be > 0");
  }
  if (j.contains("plasticity")) b.plasticity = parse_plasticity(j.at("plasticity"), b, source);
  if (j.contains("setpoints")) {
    if (b.parameter_setpoints.empty())
      throw ConfigError(source + ".setpoints: the bench maps no channels.parameter_setpoints");
    for (const auto& p : b.parameter_setpoints)
      b.setpoint_grid = parse_setpoint_grid(j.at("setpoints"), p.group.safe, source + ".setpoints");
  }
  if (j.contains("write_verify"))
    b.write_verify = parse_write_verify(j.at("write_verify"), b, source);
  if (j.contains("virtual")) {
    require_object(j.at("virtual"), source + ".virtual");
    b.virtual_section = j.at("virtual");
  }
  return b;
}

BenchConfig load_bench(const std::string& path) {
  return parse_bench(read_json_file(path), path);
}

namespace {

json channels_json(const std::vector<int>& channels) {
  // Ranges where the numbers run consecutively, so a 50,000-channel map stays one short string.
  std::string s;
  for (std::size_t i = 0; i < channels.size();) {
    std::size_t j = i;
    while (j + 1 < channels.size() && channels[j + 1] == channels[j] + 1) ++j;
    if (!s.empty()) s += ",";
    s += j > i ? fmt::format("{}:{}", channels[i], channels[j]) : std::to_string(channels[i]);
    i = j + 1;
  }
  return s;
}

json role_json(const ChannelRole& r, bool with_compliance) {
  json j = json::object();
  j["name"] = r.group.name;
  j["unit"] = r.group.unit;
  j["safe"] = {r.group.safe.low, r.group.safe.high};
  if (r.hold_at_safe_state)
    j["safe_value"] = "hold";
  else
    j["safe_value"] = r.group.safe_value;
  json map = json::array();
  for (const auto& s : r.map)
    map.push_back({{"instrument", s.instrument}, {"channels", channels_json(s.channels)}});
  j["map"] = map;
  if (r.ramp.step > 0 || r.ramp.rate > 0)
    j["ramp"] = {{"step", r.ramp.step}, {"rate", r.ramp.rate}};
  if (r.average != 1) j["average"] = r.average;
  if (with_compliance) j["compliance"] = r.compliance;
  return j;
}

}  // namespace

json bench_to_json(const BenchConfig& b) {
  json j = json::object();
  j["name"] = b.name;
  j["instruments"] = json::array();
  for (const auto& i : b.instruments)
    j["instruments"].push_back({{"name", i.name},
                                {"profile", i.profile},
                                {"address", i.address},
                                {"timeout_s", i.timeout_s},
                                {"retries", i.retries},
                                {"reconnects", i.reconnects},
                                {"reconnect_delay_s", i.reconnect_delay_s},
                                {"check_errors", i.check_errors}});
  json ch = json::object();
  for (const auto& row : bench_roles()) {
    if (row.role == BenchRole::parameters && b.parameters_from_setpoints) continue;
    const auto groups = groups_of(b, row);
    json value;
    if (is_list(row)) {
      if (groups.empty() && !row.written_when_empty) continue;
      value = json::array();
      for (const ChannelRole* r : groups) value.push_back(role_json(*r, row.with_compliance));
    } else {
      if (groups.empty()) continue;
      value = role_json(*groups.front(), row.with_compliance);
    }
    if (row.group)
      ch[row.group][row.key] = std::move(value);
    else
      ch[row.key] = std::move(value);
  }
  j["channels"] = ch;
  j["settle"] = {{"wait_s", b.settle.wait_s},
                 {"stable_reads", b.settle.stable_reads},
                 {"tolerance", b.settle.tolerance},
                 {"poll_interval_s", b.settle.poll_interval_s},
                 {"timeout_s", b.settle.timeout_s}};
  if (b.probe_map) j["probes"] = probe_map_to_json(*b.probe_map);
  if (b.setpoint_grid) j["setpoints"] = setpoint_grid_to_json(*b.setpoint_grid);
  if (b.write_verify)
    j["write_verify"] = {{"tolerance", b.write_verify->tolerance},
                         {"retries", b.write_verify->retries}};
  if (b.plasticity)
    j["plasticity"] = {{"compliance", b.plasticity->compliance},
                       {"rounds", b.plasticity->rounds},
                       {"tolerance", b.plasticity->tolerance}};
  if (!b.virtual_section.empty()) j["virtual"] = b.virtual_section;
  return j;
}

}  // namespace aeqlab::instruments
