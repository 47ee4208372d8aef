#pragma once
// SHA-256 (FIPS 180-4), self-contained so the project needs no crypto library: used to
// fingerprint parameter vectors (`parameters_sha256` in summary.json) and files.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace aeqlab {

// Incremental: feed the bytes in as many pieces as convenient; the digest is that of their
// concatenation. digest() and hex_digest() do not end the computation: they report the hash of
// everything fed so far, and more bytes may follow.
class Sha256 {
 public:
  void update(const void* data, std::size_t n);
  std::array<std::uint8_t, 32> digest();
  std::string hex_digest();  // 64 lowercase hex digits

 private:
  void compress(const std::uint8_t* block);

  std::array<std::uint32_t, 8> state_ = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                         0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::array<std::uint8_t, 64> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t length_ = 0;  // bytes fed so far
};

// SHA-256 (lowercase hex) of the values as float64 little-endian bytes, in order: the hash of a
// session's parameters.f64, whatever the byte order of the machine computing it.
std::string parameters_sha256(std::span<const double> values);

}  // namespace aeqlab
