#include "core/printable.hpp"

namespace aeqlab {

namespace {

// The length of the well-formed UTF-8 sequence starting at s[i] (2 to 4), or 0.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto u = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b = u(i);
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xbf;
  if (b >= 0xc2 && b <= 0xdf) {
    n = 2;
  } else if (b >= 0xe0 && b <= 0xef) {
    n = 3;
    if (b == 0xe0) lo = 0xa0;
    if (b == 0xed) hi = 0x9f;  // no surrogates
  } else if (b >= 0xf0 && b <= 0xf4) {
    n = 4;
    if (b == 0xf0) lo = 0x90;
    if (b == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (u(i + 1) < lo || u(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if (u(i + k) < 0x80 || u(i + k) > 0xbf) return 0;
  return n;
}

}  // namespace

std::string printable(std::string_view bytes) {
  constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size();) {
    const auto u = static_cast<unsigned char>(bytes[i]);
    if (u >= 0x20 && u < 0x7f) {
      out += bytes[i++];
    } else if (const std::size_t n = u >= 0x80 ? utf8_sequence(bytes, i) : 0) {
      out.append(bytes.substr(i, n));
      i += n;
    } else {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
      ++i;
    }
  }
  return out;
}

}  // namespace aeqlab
