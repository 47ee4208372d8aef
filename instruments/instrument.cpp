#include "instruments/instrument.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include "drivers/address.hpp"
#include "drivers/errors.hpp"
#include "drivers/scpi_session.hpp"

namespace aeqlab::instruments {

namespace {

// Pieces of at most `max` channels (0 = one piece).
template <class F>
void in_pieces(std::size_t n, std::size_t max, F&& f) {
  if (max == 0) max = n;
  for (std::size_t at = 0; at < n; at += max) f(at, std::min(max, n - at));
}

std::vector<int> slice(std::span<const int> c, std::size_t at, std::size_t n) {
  return {c.begin() + static_cast<std::ptrdiff_t>(at),
          c.begin() + static_cast<std::ptrdiff_t>(at + n)};
}

}  // namespace

Instrument::Instrument(const InstrumentConfig& config, Profile profile)
    : config_(config), profile_(std::move(profile)) {
  drivers::ScpiOptions o;
  o.write_terminator = profile_.write_terminator;
  o.read_terminator = profile_.read_terminator;
  o.timeout = std::chrono::milliseconds(static_cast<long>(config_.timeout_s * 1000.0 + 0.5));
  o.retries = config_.retries;
  o.reconnects = config_.reconnects;
  o.reconnect_delay =
      std::chrono::milliseconds(static_cast<long>(config_.reconnect_delay_s * 1000.0 + 0.5));
  o.check_errors = config_.check_errors;
  o.error_query = profile_.error_query;
  o.chain_separator = profile_.chain;
  o.max_reply_bytes = profile_.max_reply_bytes;
  const auto address = drivers::parse_address(config_.address);
  scpi_ = std::make_unique<drivers::ScpiSession>(config_.name,
                                                 drivers::open_transport(address, o.timeout), o);
}

Instrument::~Instrument() = default;

void Instrument::open() {
  identity_ = scpi_->identify();
  if (!profile_.identify.empty() && identity_.find(profile_.identify) == std::string::npos)
    spdlog::warn("instrument \"{}\" at {} says it is \"{}\", but its profile \"{}\" is for \"{}\"",
                 config_.name, config_.address, identity_, profile_.name, profile_.identify);
  scpi_->clear();
  for (const auto& c : profile_.init) scpi_->write(c);
}

std::string Instrument::number(double v) const {
  return fmt::format("{:.{}g}", v, profile_.digits);
}

void Instrument::write_commands(const std::vector<std::string>& commands) {
  if (commands.empty()) return;
  if (profile_.chain.empty()) {
    for (const auto& c : commands) {
      ++round_trips_;
      scpi_->write(c);
    }
    return;
  }
  // A few hundred commands per message keeps each message well inside any input buffer.
  constexpr std::size_t kPerMessage = 256;
  for (std::size_t at = 0; at < commands.size(); at += kPerMessage) {
    const std::size_t n = std::min(kPerMessage, commands.size() - at);
    ++round_trips_;
    if (n == 1)
      scpi_->write(commands[at]);
    else
      scpi_->write_chained(std::span<const std::string>(commands.data() + at, n));
  }
}

std::string Instrument::encode_block(std::span<const double> values) const {
  const bool f32 =
      profile_.block_format == BlockFormat::f32_le || profile_.block_format == BlockFormat::f32_be;
  const bool big =
      profile_.block_format == BlockFormat::f64_be || profile_.block_format == BlockFormat::f32_be;
  const std::size_t width = f32 ? 4 : 8;
  std::string out(values.size() * width, '\0');
  for (std::size_t i = 0; i < values.size(); ++i) {
    unsigned char b[8];
    if (f32) {
      const float f = static_cast<float>(values[i]);
      std::memcpy(b, &f, 4);
    } else {
      std::memcpy(b, &values[i], 8);
    }
    const bool swap = big != (std::endian::native == std::endian::big);
    for (std::size_t k = 0; k < width; ++k) out[i * width + k] = char(b[swap ? width - 1 - k : k]);
  }
  return out;
}

std::vector<double> Instrument::decode_block(const std::string& payload, std::size_t expected,
                                             const std::string& command) const {
  const bool f32 =
      profile_.block_format == BlockFormat::f32_le || profile_.block_format == BlockFormat::f32_be;
  const bool big =
      profile_.block_format == BlockFormat::f64_be || profile_.block_format == BlockFormat::f32_be;
  const std::size_t width = f32 ? 4 : 8;
  if (payload.size() != expected * width)
    throw drivers::ReplyError(fmt::format(
        "instrument \"{}\" at {}: the block answering \"{}\" has {} bytes, {} values need {}",
        config_.name, config_.address, command, payload.size(), expected, expected * width));
  std::vector<double> out(expected);
  for (std::size_t i = 0; i < expected; ++i) {
    unsigned char b[8] = {};
    const bool swap = big != (std::endian::native == std::endian::big);
    for (std::size_t k = 0; k < width; ++k)
      b[k] = static_cast<unsigned char>(payload[i * width + (swap ? width - 1 - k : k)]);
    if (f32) {
      float f;
      std::memcpy(&f, b, 4);
      out[i] = f;
    } else {
      std::memcpy(&out[i], b, 8);
    }
  }
  return out;
}

void Instrument::set(std::span<const int> channels, std::span<const double> values) {
  if (!profile_.source)
    throw drivers::TransportError(fmt::format(
        "instrument \"{}\": its profile \"{}\" cannot set values", config_.name, profile_.name));
  const auto& s = *profile_.source;
  const auto& syntax = profile_.channel_list;
  const bool all_equal =
      std::all_of(values.begin(), values.end(), [&](double v) { return v == values[0]; });
  const bool per_channel = s.one.find("{channel}") != std::string::npos;
  std::vector<std::string> commands;
  if (!s.one.empty() && !per_channel && all_equal) {
    in_pieces(channels.size(), s.max_channels, [&](std::size_t at, std::size_t n) {
      commands.push_back(render(s.one, number(values[0]), "",
                                format_channel_list(syntax, slice(channels, at, n)), ""));
    });
  } else if (!s.block.empty() && channels.size() > 8) {
    // Blocks go one per message: they carry the bulk, and the check reads the queue after each.
    write_commands(commands);
    in_pieces(channels.size(), s.max_channels, [&](std::size_t at, std::size_t n) {
      const std::string prefix =
          render(s.block, "", "", format_channel_list(syntax, slice(channels, at, n)), "");
      ++round_trips_;
      scpi_->write_block(prefix, encode_block(values.subspan(at, n)));
    });
    return;
  } else if (!s.each.empty()) {
    in_pieces(channels.size(), s.max_channels, [&](std::size_t at, std::size_t n) {
      std::string list;
      for (std::size_t i = at; i < at + n; ++i) {
        if (i > at) list += ",";
        list += number(values[i]);
      }
      commands.push_back(
          render(s.each, "", list, format_channel_list(syntax, slice(channels, at, n)), ""));
    });
  } else if (!s.one.empty()) {
    for (std::size_t i = 0; i < channels.size(); ++i) {
      const std::string ch = std::to_string(channels[i]);
      const std::vector<int> single{channels[i]};
      commands.push_back(
          render(s.one, number(values[i]), "", format_channel_list(syntax, single), ch));
    }
  } else {
    // Only blocks, and few channels.
    const std::string prefix = render(
        s.block, "", "", format_channel_list(syntax, {channels.begin(), channels.end()}), "");
    ++round_trips_;
    scpi_->write_block(prefix, encode_block(values));
    return;
  }
  write_commands(commands);
}

bool Instrument::can_step() const {
  return profile_.source && !profile_.source->step.empty();
}

void Instrument::step(std::span<const int> channels, std::span<const long> steps) {
  if (!can_step())
    throw drivers::TransportError(
        fmt::format("instrument \"{}\": its profile \"{}\" has no step command (source.step)",
                    config_.name, profile_.name));
  std::vector<int> moving;
  std::vector<long> counts;
  for (std::size_t i = 0; i < channels.size(); ++i)
    if (steps[i] != 0) {
      moving.push_back(channels[i]);
      counts.push_back(steps[i]);
    }
  std::vector<std::string> commands;
  in_pieces(moving.size(), profile_.source->max_channels, [&](std::size_t at, std::size_t n) {
    std::string list;
    for (std::size_t i = at; i < at + n; ++i) {
      if (i > at) list += ",";
      list += std::to_string(counts[i]);
    }
    commands.push_back(render(profile_.source->step, "", list,
                              format_channel_list(profile_.channel_list, slice(moving, at, n)),
                              ""));
  });
  write_commands(commands);
}

bool Instrument::can_read_setpoints() const {
  return profile_.source && (!profile_.source->get.empty() || !profile_.source->get_block.empty());
}

void Instrument::read_setpoints(std::span<const int> channels, std::span<double> out) {
  const auto& s = *profile_.source;
  const auto& syntax = profile_.channel_list;
  if (s.get.find("{channel}") != std::string::npos) {
    for (std::size_t i = 0; i < channels.size(); ++i) {
      const std::vector<int> single{channels[i]};
      ++round_trips_;
      out[i] = scpi_->query_values(
          render(s.get, "", "", format_channel_list(syntax, single), std::to_string(channels[i])),
          1)[0];
    }
    return;
  }
  in_pieces(channels.size(), s.max_channels, [&](std::size_t at, std::size_t n) {
    const std::string list = format_channel_list(syntax, slice(channels, at, n));
    std::vector<double> v;
    if (!s.get_block.empty() && (n > 8 || s.get.empty())) {
      const std::string cmd = render(s.get_block, "", "", list, "");
      ++round_trips_;
      v = decode_block(scpi_->query_block(cmd), n, cmd);
    } else {
      ++round_trips_;
      v = scpi_->query_values(render(s.get, "", "", list, ""), n);
    }
    std::copy(v.begin(), v.end(), out.begin() + static_cast<std::ptrdiff_t>(at));
  });
}

void Instrument::measure(std::span<const int> channels, std::span<double> out) {
  if (!profile_.measure)
    throw drivers::TransportError(fmt::format(
        "instrument \"{}\": its profile \"{}\" cannot measure", config_.name, profile_.name));
  const auto& m = *profile_.measure;
  const auto& syntax = profile_.channel_list;
  const bool per_channel = m.query.find("{channel}") != std::string::npos;
  if (per_channel) {
    for (std::size_t i = 0; i < channels.size(); ++i) {
      const std::vector<int> single{channels[i]};
      ++round_trips_;
      const auto v = scpi_->query_values(
          render(m.query, "", "", format_channel_list(syntax, single), std::to_string(channels[i])),
          1);
      out[i] = v[0];
    }
    return;
  }
  in_pieces(channels.size(), m.max_channels, [&](std::size_t at, std::size_t n) {
    const std::vector<int> piece = slice(channels, at, n);
    const std::string list = format_channel_list(syntax, piece);
    if (!m.configure.empty() && piece != configured_) {
      ++round_trips_;
      scpi_->write(render(m.configure, "", "", list, ""));
      configured_ = piece;
    }
    std::vector<double> v;
    if (!m.block.empty() && (n > 8 || m.query.empty())) {
      const std::string cmd = render(m.block, "", "", list, "");
      ++round_trips_;
      v = decode_block(scpi_->query_block(cmd), n, cmd);
    } else {
      ++round_trips_;
      v = scpi_->query_values(render(m.query, "", "", list, ""), n);
    }
    std::copy(v.begin(), v.end(), out.begin() + static_cast<std::ptrdiff_t>(at));
  });
}

void Instrument::shutdown() {
  for (const auto& c : profile_.shutdown) scpi_->write(c);
}

}  // namespace aeqlab::instruments
