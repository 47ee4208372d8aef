#include "sim/virtual_bench/virtual_scpi_parser.hpp"

#include <algorithm>
#include <bit>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>

#include <spdlog/fmt/fmt.h>

namespace aeqlab::sim::scpi {

namespace {

// A block header may announce up to 999,999,999 bytes; a wrong one must not make the framer
// wait for gigabytes, so anything beyond this is not taken for a block (the command then fails
// with -160 instead of the connection hanging).
constexpr std::size_t kMaxBlock = std::size_t{1} << 28;

bool blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

// For error texts: a garbage parameter may be megabytes long.
std::string excerpt(std::string_view s) {
  constexpr std::size_t kMax = 40;
  std::string out(s.substr(0, kMax));
  if (s.size() > kMax) out += "...";
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == '"') c = '?';
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool same_text(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) ==
                  std::toupper(static_cast<unsigned char>(y));
         });
}

// Walks `text` from `at`, stepping over quoted strings and blocks, and returns the position of
// the first top-level `stop` character (or text.size()). `block_end` receives the end of the
// last block stepped over (0 if none).
std::size_t find_top_level(std::string_view text, std::size_t at, char stop,
                           std::size_t* block_end = nullptr) {
  char quote = 0;
  int depth = 0;
  std::size_t i = at;
  while (i < text.size()) {
    const char c = text[i];
    if (quote) {
      if (c == quote) quote = 0;
      ++i;
      continue;
    }
    if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      if (depth > 0) --depth;
    } else if (c == '#') {
      const std::size_t n = block_extent(text, i);
      if (n == std::string_view::npos) return text.size();  // a truncated block runs to the end
      if (n > 0) {
        i += n;
        if (block_end) *block_end = i;
        continue;
      }
    } else if (c == stop && depth == 0) {
      return i;
    }
    ++i;
  }
  return text.size();
}

}  // namespace

BlockHeader read_block_header(std::string_view text, std::size_t at) {
  BlockHeader h;
  if (at + 1 >= text.size()) {
    h.state = BlockHeader::State::partial;
    return h;
  }
  const char d = text[at + 1];
  if (d < '1' || d > '9') return h;
  const std::size_t digits = static_cast<std::size_t>(d - '0');
  const std::size_t have = std::min(digits, text.size() - (at + 2));
  for (std::size_t i = 0; i < have; ++i) {
    const char c = text[at + 2 + i];
    if (!std::isdigit(static_cast<unsigned char>(c))) return h;
    h.length = h.length * 10 + static_cast<std::size_t>(c - '0');  // at most 999,999,999
  }
  h.header = 2 + digits;
  h.state = have < digits ? BlockHeader::State::partial : BlockHeader::State::complete;
  return h;
}

std::size_t block_extent(std::string_view text, std::size_t at) {
  const BlockHeader h = read_block_header(text, at);
  if (h.state == BlockHeader::State::none) return 0;
  if (h.state == BlockHeader::State::partial) return std::string_view::npos;
  if (h.length > kMaxBlock) return 0;
  const std::size_t total = h.header + h.length;
  if (at + total > text.size()) return std::string_view::npos;
  return total;
}

void Framer::drop(std::string refusal) {
  refusals_.push_back(std::move(refusal));
  buffer_.clear();
  scan_ = 0;
  payload_end_ = 0;
  quote_ = 0;
  discarding_ = true;
}

void Framer::feed(std::string_view bytes) {
  // Taken in slices, so that buffer_ never holds much more than one message's limit.
  constexpr std::size_t kSlice = 64 * 1024;
  std::string carry;
  while (!bytes.empty()) {
    if (skip_ > 0) {
      const std::size_t n = std::min(skip_, bytes.size());
      skip_ -= n;
      bytes.remove_prefix(n);
      continue;
    }
    if (discarding_) {
      const std::size_t nl = bytes.find('\n');
      if (nl == std::string_view::npos) return;
      discarding_ = false;
      bytes.remove_prefix(nl + 1);
      continue;
    }
    const std::size_t n = std::min(kSlice, bytes.size());
    buffer_.append(bytes.substr(0, n));
    bytes.remove_prefix(n);
    if (auto rest = scan()) {
      rest->append(bytes);
      carry = std::move(*rest);
      bytes = carry;
    }
  }
}

std::optional<std::string> Framer::scan() {
  std::size_t start = 0;  // the message being cut starts here
  std::size_t i = scan_;
  while (i < buffer_.size()) {
    const char c = buffer_[i];
    if (quote_) {
      if (c == quote_) {
        quote_ = 0;
      } else if (c == '\n') {
        quote_ = 0;  // an unterminated string must not swallow the rest of the session
        continue;    // seen again as a terminator
      }
      ++i;
      continue;
    }
    if (c == '"' || c == '\'') {
      quote_ = c;
      ++i;
      continue;
    }
    if (c == '#') {
      const BlockHeader h = read_block_header(buffer_, i);
      if (h.state == BlockHeader::State::partial) break;  // the header is still on its way
      if (h.state == BlockHeader::State::complete) {
        const std::size_t end = i + h.header + h.length;  // no overflow: length < 10^9
        const bool too_big = h.length > limits_.max_block;
        if (too_big || end - start > limits_.max_message) {
          const std::size_t held = buffer_.size();
          std::string rest = end < held ? buffer_.substr(end) : std::string();
          drop(too_big ? fmt::format("Too much data; a block of {} bytes is more than this "
                                     "instrument takes ({} bytes)",
                                     h.length, limits_.max_block)
                       : fmt::format("Too much data; a message of more than {} bytes was dropped",
                                     limits_.max_message));
          if (end > held) {
            skip_ = end - held;
            return std::nullopt;
          }
          return rest;  // after the block: dropped up to "\n", then framed as usual
        }
        if (end > buffer_.size()) break;  // the rest of the block is still on its way
        i = end;
        payload_end_ = i;
        continue;
      }
    }
    if (c == '\n') {
      std::size_t end = i;
      if (end > start && buffer_[end - 1] == '\r' && end - 1 >= payload_end_) --end;
      std::string_view message(buffer_.data() + start, end - start);
      if (message.size() > limits_.max_message)  // its end came in the same slice as its excess
        refusals_.push_back(fmt::format(
            "Too much data; a message of more than {} bytes was dropped", limits_.max_message));
      else if (!trim(message).empty())
        ready_.emplace_back(message);
      start = i + 1;
    }
    ++i;
  }
  buffer_.erase(0, start);
  scan_ = i - start;
  payload_end_ = payload_end_ > start ? payload_end_ - start : 0;
  if (buffer_.size() > limits_.max_message)
    drop(fmt::format("Too much data; a message of more than {} bytes was dropped",
                     limits_.max_message));
  return std::nullopt;
}

std::optional<std::string> Framer::next_refusal() {
  if (refusals_.empty()) return std::nullopt;
  std::string r = std::move(refusals_.front());
  refusals_.pop_front();
  return r;
}

std::optional<std::string> Framer::next() {
  if (ready_.empty()) return std::nullopt;
  std::string m = std::move(ready_.front());
  ready_.pop_front();
  return m;
}

std::vector<std::string_view> split_commands(std::string_view message) {
  std::vector<std::string_view> out;
  std::size_t at = 0;
  while (at <= message.size()) {
    std::size_t block_end = 0;
    const std::size_t end = find_top_level(message, at, ';', &block_end);
    // Blanks are trimmed, but never the last bytes of a block: its payload is binary.
    std::size_t first = at, last = end;
    while (first < last && blank(message[first])) ++first;
    while (last > std::max(first, block_end) && blank(message[last - 1])) --last;
    if (last > first) out.push_back(message.substr(first, last - first));
    at = end + 1;
  }
  return out;
}

Command parse_command(std::string_view text) {
  // Leading blanks only: a block at the end may legitimately end in blank bytes.
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  std::size_t h = 0;
  while (h < text.size() && !blank(text[h])) ++h;
  Command cmd;
  std::string_view header = text.substr(0, h);
  if (!header.empty() && header.front() == ':') header.remove_prefix(1);
  if (!header.empty() && header.back() == '?') {
    cmd.query = true;
    header.remove_suffix(1);
  }
  if (header.empty())
    throw Error(-102, fmt::format("Syntax error; no header in '{}'", excerpt(text)));
  cmd.header = header;

  const std::string_view rest = text.substr(h);
  std::size_t at = 0;
  while (at < rest.size() && blank(rest[at])) ++at;
  if (at == rest.size()) return cmd;
  while (true) {
    while (at < rest.size() && blank(rest[at])) ++at;
    std::size_t block_end = 0;
    const std::size_t end = find_top_level(rest, at, ',', &block_end);
    std::size_t stop = end;
    while (stop > std::max(at, block_end) && blank(rest[stop - 1])) --stop;
    cmd.params.push_back(rest.substr(at, stop - at));
    if (end >= rest.size()) break;
    at = end + 1;
  }
  return cmd;
}

HeaderPattern::HeaderPattern(std::string_view pattern) : text_(pattern) {
  std::string current;
  bool optional = false;
  auto flush = [&] {
    if (current.empty()) return;
    Node node;
    node.long_form = upper(current);
    for (char c : current)
      if (!std::islower(static_cast<unsigned char>(c))) node.short_form += c;
    node.optional = optional;
    nodes_.push_back(std::move(node));
    current.clear();
  };
  for (char c : pattern) {
    if (c == '[') {
      flush();
      optional = true;
    } else if (c == ']') {
      flush();
      optional = false;
    } else if (c == ':') {
      flush();
    } else {
      current += c;
    }
  }
  flush();
}

bool HeaderPattern::matches(std::string_view header) const {
  std::vector<std::string_view> tokens;
  std::size_t at = 0;
  while (true) {
    const std::size_t colon = header.find(':', at);
    const auto token = header.substr(at, colon == std::string_view::npos ? colon : colon - at);
    if (token.empty()) return false;
    tokens.push_back(token);
    if (colon == std::string_view::npos) break;
    at = colon + 1;
  }
  return match_from(0, tokens, 0);
}

bool HeaderPattern::match_from(std::size_t node, const std::vector<std::string_view>& tokens,
                               std::size_t token) const {
  if (node == nodes_.size()) return token == tokens.size();
  const Node& n = nodes_[node];
  if (token < tokens.size() &&
      (same_text(tokens[token], n.long_form) || same_text(tokens[token], n.short_form)) &&
      match_from(node + 1, tokens, token + 1))
    return true;
  return n.optional && match_from(node + 1, tokens, token);
}

double parse_number(std::string_view text) {
  const auto t = trim(text);
  std::string_view digits = t;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  double v = 0.0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (digits.empty() || end != digits.data() + digits.size() ||
      (ec != std::errc() && ec != std::errc::result_out_of_range))
    throw Error(-104, fmt::format("Data type error; expected a number, got '{}'", excerpt(t)));
  if (ec == std::errc::result_out_of_range)
    throw Error(-222,
                fmt::format("Data out of range; {} is not a representable number", excerpt(t)));
  return v;
}

NumericKeyword numeric_keyword(std::string_view text) {
  const auto t = trim(text);
  if (same_text(t, "MIN") || same_text(t, "MINIMUM")) return NumericKeyword::minimum;
  if (same_text(t, "MAX") || same_text(t, "MAXIMUM")) return NumericKeyword::maximum;
  if (same_text(t, "DEF") || same_text(t, "DEFAULT")) return NumericKeyword::fallback;
  return NumericKeyword::none;
}

std::vector<int> parse_channels(std::string_view text, int max_channel) {
  const auto t = trim(text);
  auto bad = [&] {
    return Error(-104, fmt::format("Data type error; expected a channel list like (@1:8), got '{}'",
                                   excerpt(t)));
  };
  if (t.size() < 3 || t.substr(0, 2) != "(@" || t.back() != ')') throw bad();
  const auto inner = t.substr(2, t.size() - 3);
  auto number = [&](std::string_view s) {
    s = trim(s);
    long long v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) throw bad();
    if (v < 1 || v > max_channel)
      throw Error(-221, fmt::format("Settings conflict; channel {} is not on this instrument "
                                    "(channels 1..{})",
                                    v, max_channel));
    return static_cast<int>(v);
  };
  std::vector<std::pair<int, int>> ranges;
  std::size_t total = 0;
  std::size_t at = 0;
  while (true) {
    const std::size_t comma = inner.find(',', at);
    const auto entry = trim(inner.substr(at, comma == std::string_view::npos ? comma : comma - at));
    if (entry.empty()) throw bad();
    const std::size_t colon = entry.find(':');
    const int first = number(entry.substr(0, colon));
    const int last = colon == std::string_view::npos ? first : number(entry.substr(colon + 1));
    ranges.emplace_back(first, last);
    total += static_cast<std::size_t>(std::abs(last - first)) + 1;
    // No list can name more channels than the instrument has: bounded before anything grows.
    if (total > static_cast<std::size_t>(max_channel))
      throw Error(-223, fmt::format("Too much data; the channel list names more channels than "
                                    "the instrument's {}",
                                    max_channel));
    if (comma == std::string_view::npos) break;
    at = comma + 1;
  }
  std::vector<int> channels;
  channels.reserve(total);
  for (const auto& [first, last] : ranges) {
    const int step = last >= first ? 1 : -1;
    for (int c = first;; c += step) {
      channels.push_back(c);
      if (c == last) break;
    }
  }
  return channels;
}

std::string_view parse_block(std::string_view text) {
  if (text.empty() || text.front() != '#')
    throw Error(-160, fmt::format("Block data error; expected a definite-length block "
                                  "#<n><length><bytes>, got '{}'",
                                  excerpt(text)));
  const std::size_t n = block_extent(text, 0);
  if (n == 0 || n == std::string_view::npos)
    throw Error(-160, fmt::format("Block data error; malformed or truncated block header '{}'",
                                  excerpt(text.substr(0, 12))));
  if (n != text.size())
    throw Error(-160, fmt::format("Block data error; {} unexpected bytes after the block",
                                  text.size() - n));
  const std::size_t header = 2 + static_cast<std::size_t>(text[1] - '0');
  return text.substr(header);
}

std::string format_values(std::span<const double> values) {
  fmt::memory_buffer out;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out.push_back(',');
    fmt::format_to(std::back_inserter(out), "{:.17g}", values[i]);
  }
  return fmt::to_string(out);
}

std::string format_block(std::string_view payload) {
  const std::string length = std::to_string(payload.size());
  std::string out;
  out.reserve(2 + length.size() + payload.size());
  out += '#';
  out += static_cast<char>('0' + length.size());
  out += length;
  out += payload;
  return out;
}

std::string pack_f64le(std::span<const double> values) {
  std::string out(values.size() * 8, '\0');
  for (std::size_t i = 0; i < values.size(); ++i) {
    auto bits = std::bit_cast<std::uint64_t>(values[i]);
    for (int b = 0; b < 8; ++b) out[i * 8 + b] = static_cast<char>((bits >> (8 * b)) & 0xff);
  }
  return out;
}

std::vector<double> unpack_f64le(std::string_view payload) {
  std::vector<double> out(payload.size() / 8);
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::uint64_t bits = 0;
    for (int b = 0; b < 8; ++b)
      bits |= std::uint64_t{static_cast<unsigned char>(payload[i * 8 + b])} << (8 * b);
    out[i] = std::bit_cast<double>(bits);
  }
  return out;
}

}  // namespace aeqlab::sim::scpi
