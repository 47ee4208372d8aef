#include "sim/virtual_bench/virtual_instrument.hpp"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

namespace aeqlab::sim {

namespace {

void count_params(const std::vector<std::string_view>& params, std::size_t expected,
                  const char* usage) {
  if (params.size() > expected)
    throw scpi::Error(
        -108, fmt::format("Parameter not allowed; {} given, expected {}", params.size(), usage));
  if (params.size() < expected)
    throw scpi::Error(-109, fmt::format("Missing parameter; expected {}", usage));
  for (const auto& p : params)
    if (p.empty()) throw scpi::Error(-109, fmt::format("Missing parameter; expected {}", usage));
}

}  // namespace

VirtualInstrument::VirtualInstrument(std::size_t index, VirtualPhysics& physics,
                                     std::vector<VirtualFault> faults)
    : index_(index), physics_(physics), faults_(std::move(faults)) {
  add("*IDN", true, &VirtualInstrument::idn_query);
  add("*RST", false, &VirtualInstrument::rst);
  add("*CLS", false, &VirtualInstrument::cls);
  add("*OPC", false, &VirtualInstrument::nothing);
  add("*OPC", true, &VirtualInstrument::opc_query);
  add("*WAI", false, &VirtualInstrument::nothing);
  add("*ESR", true, &VirtualInstrument::zero_query);
  add("*STB", true, &VirtualInstrument::zero_query);
  add("*TST", true, &VirtualInstrument::zero_query);
  add("SYSTem:ERRor[:NEXT]", true, &VirtualInstrument::error_query);
  add("SYSTem:ERRor:COUNt", true, &VirtualInstrument::error_count_query);
  add("SYSTem:CHANnels", true, &VirtualInstrument::channels_query);

  const InstrumentKind kind = physics_.instrument_kind(index_);
  if (kind == InstrumentKind::adc) {
    add("MEASure[:VOLTage][:DC]", true, &VirtualInstrument::measure_query);
    add("MEASure[:VOLTage]:BLOCk", true, &VirtualInstrument::measure_block_query);
  } else {
    const std::string unit = kind == InstrumentKind::res ? "RESistance" : "VOLTage";
    add(fmt::format("[SOURce:]{}[:LEVel]", unit), false, &VirtualInstrument::set_level);
    add(fmt::format("[SOURce:]{}[:LEVel]", unit), true, &VirtualInstrument::level_query);
    add(fmt::format("[SOURce:]{}:LIST", unit), false, &VirtualInstrument::set_list);
    add(fmt::format("[SOURce:]{}:LIST", unit), true, &VirtualInstrument::level_query);
    add(fmt::format("[SOURce:]{}:BLOCk", unit), false, &VirtualInstrument::set_block);
    add(fmt::format("[SOURce:]{}:BLOCk", unit), true, &VirtualInstrument::level_block_query);
  }
}

void VirtualInstrument::add(std::string_view pattern, bool query, Handler handler) {
  table_.push_back({scpi::HeaderPattern(pattern), query, handler});
}

std::string VirtualInstrument::idn() const {
  return fmt::format("AEQLAB,{}-{},{},0.1", virtual_model_prefix(physics_.instrument_kind(index_)),
                     physics_.instrument_channels(index_), name());
}

const VirtualFault* VirtualInstrument::fault_for_next_message() {
  const std::size_t n = received_++;
  physics_.count_message();
  for (const auto& f : faults_)
    if (n >= f.after && (f.count == 0 || n < f.after + f.count)) return &f;
  return nullptr;
}

std::vector<std::string> VirtualInstrument::process(std::string_view message, Clock::time_point now,
                                                    bool writes_fail, std::size_t max_reply_bytes) {
  writes_fail_ = writes_fail;
  if (!taps_.empty() && physics_.resets() != resets_seen_) power_on(now);
  std::vector<std::string> replies;
  std::size_t bytes = 0;
  for (const auto command : scpi::split_commands(message)) {
    if (bytes > max_reply_bytes) {
      // One message of many large queries must not make the server hold gigabytes of replies.
      push_error(-223, fmt::format("Too much data; the replies to one message passed {} bytes, "
                                   "the rest of it was not carried out",
                                   max_reply_bytes));
      break;
    }
    const std::size_t before = replies.size();
    try {
      run_command(command, now, replies);
    } catch (const scpi::Error& e) {
      push_error(e.code, e.what());
    } catch (const std::exception& e) {
      // Whatever else a command hits is this command's failure, never the server's.
      push_error(-300, fmt::format("Device-specific error; {}", e.what()));
    }
    for (std::size_t i = before; i < replies.size(); ++i) bytes += replies[i].size();
  }
  return replies;
}

double VirtualInstrument::write_seconds(std::string_view message) const {
  if (write_seconds_ <= 0) return 0.0;
  std::size_t written = 0;
  for (const auto text : scpi::split_commands(message)) {
    try {
      const scpi::Command cmd = scpi::parse_command(text);
      if (cmd.query || cmd.params.empty()) continue;
      for (const auto& entry : table_) {
        if (entry.query || !entry.pattern.matches(cmd.header)) continue;
        // The channel list is last in a level or list write, first in a block write.
        if (entry.handler == &VirtualInstrument::set_block)
          written += channels(cmd.params.front()).size();
        else if (entry.handler == &VirtualInstrument::set_level ||
                 entry.handler == &VirtualInstrument::set_list)
          written += channels(cmd.params.back()).size();
        else if (entry.handler == &VirtualInstrument::step_list)
          written += steps_in(cmd);  // an incremental part takes each step in turn
        break;
      }
    } catch (const scpi::Error&) {
      // A malformed command writes nothing; process() queues its error.
    }
  }
  return static_cast<double>(written) * write_seconds_;
}

void VirtualInstrument::run_command(std::string_view text, Clock::time_point now,
                                    std::vector<std::string>& replies) {
  const scpi::Command cmd = scpi::parse_command(text);
  for (const auto& entry : table_) {
    if (entry.query != cmd.query || !entry.pattern.matches(cmd.header)) continue;
    (this->*entry.handler)(cmd.params, now, replies);
    return;
  }
  std::string header(cmd.header);
  if (cmd.query) header += '?';
  throw scpi::Error(-113, fmt::format("Undefined header; {}", header));
}

void VirtualInstrument::push_error(int code, const std::string& text) {
  if (errors_.size() >= kErrorQueue) {
    errors_.back() = {-350, "Queue overflow"};
    return;
  }
  errors_.emplace_back(code, text);
}

std::vector<int> VirtualInstrument::channels(std::string_view text) const {
  return scpi::parse_channels(text, physics_.instrument_channels(index_));
}

void VirtualInstrument::idn_query(const Params& p, Clock::time_point,
                                  std::vector<std::string>& replies) {
  count_params(p, 0, "no parameters");
  replies.push_back(idn() + "\n");
}

void VirtualInstrument::rst(const Params& p, Clock::time_point, std::vector<std::string>&) {
  // The whole virtual bench back to where the server started: one physics sits behind every
  // instrument, so resetting one instrument's outputs alone would leave a half-reset system.
  // The drivers never send it by themselves; `train` does at the start of a new session on a
  // virtual bench (docs/virtual-bench.md, "*RST").
  count_params(p, 0, "no parameters");
  if (physics_.reset())
    spdlog::info("{}: *RST: the physics and every instrument are back at their initial state",
                 name());
  else
    spdlog::warn("{}: *RST: the physics keeps no snapshot; it was left as it is", name());
}

void VirtualInstrument::cls(const Params& p, Clock::time_point, std::vector<std::string>&) {
  count_params(p, 0, "no parameters");
  errors_.clear();
}

void VirtualInstrument::nothing(const Params& p, Clock::time_point, std::vector<std::string>&) {
  count_params(p, 0, "no parameters");
}

void VirtualInstrument::opc_query(const Params& p, Clock::time_point,
                                  std::vector<std::string>& replies) {
  count_params(p, 0, "no parameters");
  replies.emplace_back("1\n");
}

void VirtualInstrument::zero_query(const Params& p, Clock::time_point,
                                   std::vector<std::string>& replies) {
  count_params(p, 0, "no parameters");
  replies.emplace_back("0\n");
}

void VirtualInstrument::error_query(const Params& p, Clock::time_point,
                                    std::vector<std::string>& replies) {
  count_params(p, 0, "no parameters");
  if (errors_.empty()) {
    replies.emplace_back("0,\"No error\"\n");
    return;
  }
  auto [code, text] = std::move(errors_.front());
  errors_.pop_front();
  std::string quoted;  // SCPI strings double their quotes
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  replies.push_back(fmt::format("{},\"{}\"\n", code, quoted));
}

void VirtualInstrument::error_count_query(const Params& p, Clock::time_point,
                                          std::vector<std::string>& replies) {
  count_params(p, 0, "no parameters");
  replies.push_back(fmt::format("{}\n", errors_.size()));
}

void VirtualInstrument::channels_query(const Params& p, Clock::time_point,
                                       std::vector<std::string>& replies) {
  count_params(p, 0, "no parameters");
  replies.push_back(fmt::format("{}\n", physics_.instrument_channels(index_)));
}

void VirtualInstrument::set_level(const Params& p, Clock::time_point now,
                                  std::vector<std::string>&) {
  count_params(p, 2, "<value>,(@channels)");
  const auto ch = channels(p[1]);
  if (const auto k = scpi::numeric_keyword(p[0]); k != scpi::NumericKeyword::none) {
    if (!writes_fail_) physics_.set(index_, ch, physics_.keyword_values(index_, ch, k), now);
    return;
  }
  const double v = scpi::parse_number(p[0]);
  const std::vector<double> values(ch.size(), v);
  if (!writes_fail_) physics_.set(index_, ch, values, now);
}

void VirtualInstrument::set_list(const Params& p, Clock::time_point now,
                                 std::vector<std::string>&) {
  if (p.size() < 2 || p.back().empty())
    throw scpi::Error(-109, "Missing parameter; expected <v1>,...,<vn>,(@channels)");
  const auto ch = channels(p.back());
  const std::size_t given = p.size() - 1;
  if (given < ch.size())
    throw scpi::Error(
        -109, fmt::format("Missing parameter; {} values for {} channels", given, ch.size()));
  if (given > ch.size())
    throw scpi::Error(
        -108, fmt::format("Parameter not allowed; {} values for {} channels", given, ch.size()));
  std::vector<double> values(given);
  for (std::size_t i = 0; i < given; ++i) {
    if (p[i].empty()) throw scpi::Error(-109, fmt::format("Missing parameter; value {}", i + 1));
    if (const auto k = scpi::numeric_keyword(p[i]); k != scpi::NumericKeyword::none)
      values[i] = physics_.keyword_values(index_, std::span(ch).subspan(i, 1), k)[0];
    else
      values[i] = scpi::parse_number(p[i]);
  }
  if (!writes_fail_) physics_.set(index_, ch, values, now);
}

void VirtualInstrument::set_block(const Params& p, Clock::time_point now,
                                  std::vector<std::string>&) {
  count_params(p, 2, "(@channels),#<block of float64 little-endian>");
  const auto ch = channels(p[0]);
  const auto payload = scpi::parse_block(p[1]);
  if (payload.size() != ch.size() * 8)
    throw scpi::Error(-160, fmt::format("Block data error; {} bytes for {} channels (expected {} "
                                        "float64 little-endian values)",
                                        payload.size(), ch.size(), ch.size()));
  if (!writes_fail_) physics_.set(index_, ch, scpi::unpack_f64le(payload), now);
}

std::vector<double> VirtualInstrument::queried_levels(const Params& p) const {
  const auto k = p.empty() ? scpi::NumericKeyword::none : scpi::numeric_keyword(p[0]);
  if (k == scpi::NumericKeyword::none) {
    count_params(p, 1, "(@channels), or MIN|MAX|DEF[,(@channels)]");
    return physics_.setpoints(index_, channels(p[0]));
  }
  if (p.size() > 2)
    throw scpi::Error(-108, fmt::format("Parameter not allowed; {} given, expected "
                                        "MIN|MAX|DEF[,(@channels)]",
                                        p.size()));
  if (p.size() == 2) {
    count_params(p, 2, "MIN|MAX|DEF,(@channels)");
    return physics_.keyword_values(index_, channels(p[1]), k);
  }
  // No list: every channel of the instrument (no more than it has, so the reply is bounded).
  std::vector<int> all(physics_.instrument_channels(index_));
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i + 1);
  return physics_.keyword_values(index_, all, k);
}

void VirtualInstrument::level_query(const Params& p, Clock::time_point,
                                    std::vector<std::string>& replies) {
  replies.push_back(scpi::format_values(queried_levels(p)) + "\n");
}

void VirtualInstrument::level_block_query(const Params& p, Clock::time_point,
                                          std::vector<std::string>& replies) {
  replies.push_back(scpi::format_block(scpi::pack_f64le(queried_levels(p))) + "\n");
}

void VirtualInstrument::measure_query(const Params& p, Clock::time_point now,
                                      std::vector<std::string>& replies) {
  count_params(p, 1, "(@channels)");
  replies.push_back(scpi::format_values(physics_.measure(index_, channels(p[0]), now)) + "\n");
}

void VirtualInstrument::measure_block_query(const Params& p, Clock::time_point now,
                                            std::vector<std::string>& replies) {
  count_params(p, 1, "(@channels)");
  const auto values = physics_.measure(index_, channels(p[0]), now);
  replies.push_back(scpi::format_block(scpi::pack_f64le(values)) + "\n");
}

}  // namespace aeqlab::sim
