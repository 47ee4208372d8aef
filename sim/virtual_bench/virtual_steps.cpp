// A virtual array of incremental-only parts (docs/pot-bench.md, "Incremental-only parts"): each
// channel's part holds a tap, starts at the bench's power-on tap (again after a *RST, as a power
// cycle would), and moves only by SOUR:RES:STEP <n1>,...,<nk>,(@channels), signed whole steps.
// A step that would leave a part's taps is refused whole (-222, naming the channel): nothing of
// that command moves. The physics sees the tap's value, as for an absolute write.
#include <cmath>

#include <spdlog/fmt/fmt.h>

#include "sim/virtual_bench/virtual_instrument.hpp"

namespace aeqlab::sim {

void VirtualInstrument::set_incremental(std::map<int, std::vector<double>> taps,
                                        std::size_t power_on_tap) {
  taps_ = std::move(taps);
  power_on_tap_ = power_on_tap;
  add("[SOURce:]RESistance:STEP", false, &VirtualInstrument::step_list);
  power_on(Clock::now());
}

void VirtualInstrument::power_on(Clock::time_point now) {
  resets_seen_ = physics_.resets();
  std::vector<int> ch;
  std::vector<double> values;
  for (const auto& [c, t] : taps_) {
    positions_[c] = static_cast<long>(power_on_tap_);
    ch.push_back(c);
    values.push_back(t[power_on_tap_]);
  }
  if (!ch.empty()) physics_.set(index_, ch, values, now);
}

// The whole numbers of a step command, with its channels; scpi::Error for a malformed one.
namespace {
std::vector<long> step_counts(const std::vector<std::string_view>& p, std::size_t channels) {
  if (p.size() < 2 || p.back().empty())
    throw scpi::Error(-109, "Missing parameter; expected <n1>,...,<nk>,(@channels)");
  const std::size_t given = p.size() - 1;
  if (given != channels)
    throw scpi::Error(given < channels ? -109 : -108,
                      fmt::format("{}; {} steps for {} channels",
                                  given < channels ? "Missing parameter" : "Parameter not allowed",
                                  given, channels));
  std::vector<long> n(given);
  for (std::size_t i = 0; i < given; ++i) {
    const double v = scpi::parse_number(p[i]);
    if (v != std::floor(v) || std::abs(v) > 1e9)
      throw scpi::Error(-224, fmt::format("Illegal parameter value; step {} is not a whole "
                                          "number of taps",
                                          i + 1));
    n[i] = static_cast<long>(v);
  }
  return n;
}
}  // namespace

std::size_t VirtualInstrument::steps_in(const scpi::Command& cmd) const {
  const auto n = step_counts(cmd.params, channels(cmd.params.back()).size());
  std::size_t total = 0;
  for (long k : n) total += static_cast<std::size_t>(std::labs(k));
  return total;
}

void VirtualInstrument::step_list(const Params& p, Clock::time_point now,
                                  std::vector<std::string>&) {
  if (p.empty()) throw scpi::Error(-109, "Missing parameter; expected <n1>,...,<nk>,(@channels)");
  const auto ch = channels(p.back());
  const auto n = step_counts(p, ch.size());
  std::vector<double> values(ch.size());
  std::vector<long> to(ch.size());
  for (std::size_t i = 0; i < ch.size(); ++i) {
    const auto t = taps_.find(ch[i]);
    if (t == taps_.end())
      throw scpi::Error(
          -221, fmt::format("Settings conflict; channel {} holds no incremental part", ch[i]));
    const long from = positions_[ch[i]], last = static_cast<long>(t->second.size()) - 1;
    to[i] = from + n[i];
    if (to[i] < 0 || to[i] > last)
      throw scpi::Error(-222, fmt::format("Data out of range; channel {}: a step of {} from tap "
                                          "{} leaves taps 0 to {}",
                                          ch[i], n[i], from, last));
    values[i] = t->second[static_cast<std::size_t>(to[i])];
  }
  if (writes_fail_) return;
  for (std::size_t i = 0; i < ch.size(); ++i) positions_[ch[i]] = to[i];
  physics_.set(index_, ch, values, now);
}

}  // namespace aeqlab::sim
