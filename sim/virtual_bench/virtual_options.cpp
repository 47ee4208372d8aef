// The `virtual` section of a bench file: how the virtual bench serves it.

#include <cmath>
#include <set>

#include <spdlog/fmt/fmt.h>

#include "core/error.hpp"
#include "sim/virtual_bench/virtual_bench.hpp"

namespace aeqlab::sim {

namespace {

using nlohmann::json;

const std::set<std::string> kKeys = {"latency_ms",
                                     "settle_ms",
                                     "noise",
                                     "dac_bits",
                                     "adc_bits",
                                     "seed",
                                     "bind",
                                     "allow_remote",
                                     "tcp",
                                     "pty",
                                     "faults",
                                     "device",
                                     "max_message_bytes",
                                     "max_unread_reply_bytes",
                                     "max_connections"};
const std::set<std::string> kFaultKeys = {"instrument", "kind", "after", "count", "code", "text"};
const std::set<std::string> kFaultKinds = {"no_reply", "garbled", "disconnect", "error",
                                           "no_verify"};

std::string joined(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

class Reader {
 public:
  Reader(const json& section, std::string source, std::string where)
      : j_(section), source_(std::move(source)), where_(std::move(where)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
    throw ConfigError(fmt::format("{}: {}.{}: {}", source_, where_, key, problem));
  }
  void known(const std::set<std::string>& keys) const {
    if (!j_.is_object())
      throw ConfigError(
          fmt::format("{}: {}: expected an object, got {}", source_, where_, j_.dump()));
    for (const auto& [k, v] : j_.items())
      if (!keys.count(k)) fail(k, fmt::format("unknown key (known here: {})", joined(keys)));
  }
  bool has(const std::string& key) const { return j_.contains(key); }
  double non_negative(const std::string& key, double fallback) const {
    if (!has(key)) return fallback;
    const auto& v = j_.at(key);
    if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < 0)
      fail(key, fmt::format("expected a number >= 0, got {}", v.dump()));
    return v.get<double>();
  }
  std::uint64_t whole(const std::string& key, std::uint64_t fallback, std::uint64_t max) const {
    if (!has(key)) return fallback;
    const auto& v = j_.at(key);
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() > max)
      fail(key, fmt::format("expected a whole number in [0, {}], got {}", max, v.dump()));
    return v.get<std::uint64_t>();
  }
  int integer(const std::string& key, int fallback) const {
    if (!has(key)) return fallback;
    const auto& v = j_.at(key);
    if (!v.is_number_integer() || v.get<std::int64_t>() < -100000 || v.get<std::int64_t>() > 100000)
      fail(key, fmt::format("expected a whole number, got {}", v.dump()));
    return v.get<int>();
  }
  bool flag(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!j_.at(key).is_boolean())
      fail(key, fmt::format("expected true or false, got {}", j_.at(key).dump()));
    return j_.at(key).get<bool>();
  }
  std::string text(const std::string& key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    if (!j_.at(key).is_string())
      fail(key, fmt::format("expected a string, got {}", j_.at(key).dump()));
    return j_.at(key).get<std::string>();
  }

 private:
  const json& j_;
  std::string source_, where_;
};

}  // namespace

VirtualOptions parse_virtual_options(const nlohmann::json& section, const std::string& source) {
  VirtualOptions o;
  if (section.is_null()) return o;
  const Reader r(section, source, "virtual");
  r.known(kKeys);
  o.latency_s = r.non_negative("latency_ms", 0.0) / 1000.0;
  o.settle_s = r.non_negative("settle_ms", 0.0) / 1000.0;
  o.noise = r.non_negative("noise", 0.0);
  // 52 bits is all a double's mantissa holds: more would quantise nothing.
  o.dac_bits = static_cast<int>(r.whole("dac_bits", 0, 52));
  o.adc_bits = static_cast<int>(r.whole("adc_bits", 0, 52));
  o.seed = r.whole("seed", 1, UINT64_MAX);
  o.bind = r.text("bind", o.bind);
  if (o.bind.empty()) r.fail("bind", "expected an address to listen on, e.g. \"127.0.0.1\"");
  o.allow_remote = r.flag("allow_remote", false);
  // At least a 64-channel block command must fit; at most what a 32-bit length could say.
  o.max_message_bytes = r.whole("max_message_bytes", o.max_message_bytes, std::size_t{1} << 30);
  if (o.max_message_bytes < 1024) r.fail("max_message_bytes", "must be at least 1024");
  o.max_unread_reply_bytes =
      r.whole("max_unread_reply_bytes", o.max_unread_reply_bytes, std::size_t{1} << 30);
  if (o.max_unread_reply_bytes < 1024) r.fail("max_unread_reply_bytes", "must be at least 1024");
  o.max_connections = r.whole("max_connections", o.max_connections, 1024);
  if (o.max_connections < 1) r.fail("max_connections", "must be at least 1");
  o.tcp = r.flag("tcp", true);
  o.pty = r.flag("pty", true);
  if (!o.tcp && !o.pty) r.fail("pty", "tcp and pty are both false: nothing would be served");
  if (r.has("device") && !section.at("device").is_object())
    r.fail("device", fmt::format("expected a device section (an object), got {}",
                                 section.at("device").dump()));
  if (r.has("faults")) {
    const auto& faults = section.at("faults");
    if (!faults.is_array())
      r.fail("faults", fmt::format("expected a list of faults, got {}", faults.dump()));
    for (std::size_t i = 0; i < faults.size(); ++i) {
      const Reader f(faults[i], source, fmt::format("virtual.faults[{}]", i));
      f.known(kFaultKeys);
      VirtualFault fault;
      if (!f.has("instrument")) f.fail("instrument", "missing (the instrument's name)");
      fault.instrument = f.text("instrument", "");
      if (!f.has("kind")) f.fail("kind", fmt::format("missing (one of {})", joined(kFaultKinds)));
      fault.kind = f.text("kind", "");
      if (!kFaultKinds.count(fault.kind))
        f.fail("kind",
               fmt::format("\"{}\" is not a fault (one of {})", fault.kind, joined(kFaultKinds)));
      fault.after = f.whole("after", 0, UINT32_MAX);
      fault.count = f.whole("count", 1, UINT32_MAX);
      fault.code = f.integer("code", fault.code);
      fault.text = f.text("text", fault.text);
      o.faults.push_back(std::move(fault));
    }
  }
  return o;
}

}  // namespace aeqlab::sim
