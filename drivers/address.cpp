#include "drivers/address.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <initializer_list>
#include <utility>
#include <vector>

#include <spdlog/fmt/fmt.h>

#include "drivers/errors.hpp"

namespace aeqlab::drivers {

namespace {

// The rates a POSIX serial driver (and Asio's baud_rate option on Linux) can be set to: anything
// else would only fail later, when the port is opened, far from the bench file that named it.
constexpr std::array<unsigned, 26> kBaudRates = {
    50,     75,     110,    134,    150,     200,     300,     600,    1200,
    1800,   2400,   4800,   9600,   19200,   38400,   57600,   115200, 230400,
    460800, 500000, 576000, 921600, 1000000, 1152000, 2000000, 3000000};

[[noreturn]] void fail(std::string_view text, std::string_view what) {
  throw AddressError(fmt::format("instrument address \"{}\": {}", text, what));
}

bool parse_unsigned(std::string_view s, unsigned long& out) {
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

// The letter a serial option's word stands for; false for a word not in `words`.
bool pick(std::string_view value, std::initializer_list<std::pair<std::string_view, char>> words,
          char& out) {
  for (const auto& [word, letter] : words)
    if (value == word) {
      out = letter;
      return true;
    }
  return false;
}

bool valid_hostname(std::string_view host) {
  return std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
  });
}

Address parse_tcp(std::string_view text, std::string_view rest) {
  Address a;
  a.kind = Address::Kind::tcp;
  a.text = std::string(text);
  if (rest.find_first_of("/?#") != std::string_view::npos)
    fail(text, "a tcp address is tcp://host:port, with no path or options after the port");
  std::string_view host = rest, port;
  if (!rest.empty() && rest.front() == '[') {
    // IPv6 literal: tcp://[::1]:5025
    const auto close = rest.find(']');
    if (close == std::string_view::npos) fail(text, "missing ']' after the IPv6 address");
    host = rest.substr(1, close - 1);
    const auto after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') fail(text, "expected ':' and a port after the IPv6 address");
      port = after.substr(1);
      if (port.empty()) fail(text, "the port after ':' is empty");
    }
  } else {
    const auto colon = rest.rfind(':');
    if (colon != std::string_view::npos) {
      host = rest.substr(0, colon);
      port = rest.substr(colon + 1);
      if (port.empty()) fail(text, "the port after ':' is empty");
    }
    if (host.find(':') != std::string_view::npos)
      fail(text, "write an IPv6 host in brackets, e.g. tcp://[::1]:5025");
    if (!valid_hostname(host))
      fail(text, fmt::format("host \"{}\" is not a valid host name or IPv4 address", host));
  }
  if (host.empty()) fail(text, "no host; expected tcp://host:port");
  a.host = std::string(host);
  if (!port.empty()) {
    unsigned long p = 0;
    if (!parse_unsigned(port, p) || p == 0 || p > 65535)
      fail(text, fmt::format("port \"{}\" is not a number from 1 to 65535", port));
    a.port = static_cast<std::uint16_t>(p);
  }
  return a;
}

void apply_serial_option(Address& a, std::string_view text, std::string_view key,
                         std::string_view value) {
  const auto bad = [&](std::string_view expected) {
    fail(text, fmt::format("{}={} is not valid; expected {}", key, value, expected));
  };
  unsigned long n = 0;
  if (key == "baud") {
    if (!parse_unsigned(value, n) ||
        std::find(kBaudRates.begin(), kBaudRates.end(), n) == kBaudRates.end())
      bad("a standard baud rate such as 9600, 19200, 38400, 57600 or 115200");
    a.baud = static_cast<unsigned>(n);
  } else if (key == "parity") {
    if (!pick(value, {{"none", 'N'}, {"even", 'E'}, {"odd", 'O'}}, a.parity))
      bad("none, even or odd");
  } else if (key == "data_bits") {
    if (!parse_unsigned(value, n) || n < 5 || n > 8) bad("5, 6, 7 or 8");
    a.data_bits = static_cast<unsigned>(n);
  } else if (key == "stop_bits") {
    if (!parse_unsigned(value, n) || (n != 1 && n != 2)) bad("1 or 2");
    a.stop_bits = static_cast<unsigned>(n);
  } else if (key == "flow") {
    if (!pick(value, {{"none", 'N'}, {"hardware", 'H'}, {"software", 'S'}}, a.flow))
      bad("none, hardware or software");
  } else {
    fail(text, fmt::format("unknown serial option \"{}\" (known: baud, parity, data_bits, "
                           "stop_bits, flow)",
                           key));
  }
}

Address parse_serial(std::string_view text, std::string_view rest) {
  Address a;
  a.kind = Address::Kind::serial;
  a.text = std::string(text);
  const auto q = rest.find('?');
  const std::string_view path = rest.substr(0, q);
  if (path.empty()) fail(text, "no device path; expected e.g. serial:///dev/ttyUSB0");
  if (path.front() != '/')
    fail(text,
         fmt::format("device path \"{}\" is not absolute; expected e.g. serial:///dev/ttyUSB0",
                     path));
  a.path = std::string(path);
  if (q == std::string_view::npos) return a;
  std::string_view options = rest.substr(q + 1);
  std::vector<std::string_view> seen;
  while (!options.empty()) {
    const auto amp = options.find('&');
    const std::string_view item = options.substr(0, amp);
    options = amp == std::string_view::npos ? std::string_view() : options.substr(amp + 1);
    if (item.empty()) continue;  // "?baud=9600&" or "&&": harmless
    const auto eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == item.size())
      fail(text, fmt::format("option \"{}\" is not of the form key=value", item));
    const std::string_view key = item.substr(0, eq);
    if (std::find(seen.begin(), seen.end(), key) != seen.end())
      fail(text, fmt::format("option \"{}\" is given twice", key));
    seen.push_back(key);
    apply_serial_option(a, text, key, item.substr(eq + 1));
  }
  return a;
}

}  // namespace

Address parse_address(std::string_view text) {
  const auto sep = text.find("://");
  if (sep == std::string_view::npos) fail(text, "expected tcp://host:port or serial:///dev/...");
  std::string scheme(text.substr(0, sep));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  const std::string_view rest = text.substr(sep + 3);
  if (scheme == "tcp") return parse_tcp(text, rest);
  if (scheme == "serial") return parse_serial(text, rest);
  fail(text, fmt::format("unknown scheme \"{}\"; expected tcp:// or serial://", scheme));
}

}  // namespace aeqlab::drivers
