// SHA-256 against the FIPS 180-2 vectors and coreutils' sha256sum.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/sha256.hpp"
#include "temp_dir.hpp"

using namespace aeqlab;

namespace {

std::string sha256_of(const std::string& s) {
  Sha256 h;
  h.update(s.data(), s.size());
  return h.hex_digest();
}

// What coreutils' sha256sum says of a file (empty if it could not be run).
std::string sha256sum(const std::filesystem::path& file) {
  const std::string cmd = "sha256sum '" + file.string() + "'";
  std::FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return "";
  char buf[256] = {};
  std::string out;
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  ::pclose(p);
  return out.substr(0, out.find(' '));
}

}  // namespace

TEST(Sha256, MatchesTheFips180Vectors) {
  EXPECT_EQ(sha256_of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, OneMillionAsFedInUnevenChunks) {
  const std::string a(1'000'000, 'a');
  Sha256 h;
  std::size_t at = 0;
  for (std::size_t k = 1; at < a.size(); k = k * 7 % 1013 + 1) {
    const std::size_t n = std::min(k, a.size() - at);
    h.update(a.data() + at, n);
    at += n;
  }
  EXPECT_EQ(h.hex_digest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, ChunkedUpdatesEqualOneShotForRandomSplits) {
  std::mt19937 rng(42);
  for (int trial = 0; trial < 200; ++trial) {
    std::string data(std::uniform_int_distribution<std::size_t>(0, 700)(rng), '\0');
    for (char& c : data) c = char(rng());
    const std::string whole = sha256_of(data);
    Sha256 h;
    std::size_t at = 0;
    while (at < data.size()) {
      const std::size_t n =
          std::min(std::uniform_int_distribution<std::size_t>(0, 130)(rng), data.size() - at);
      h.update(data.data() + at, n);
      at += n;
    }
    EXPECT_EQ(h.hex_digest(), whole) << "length " << data.size() << ", trial " << trial;
  }
}

TEST(Sha256, DigestReportsWhatWasFedSoFarAndMoreMayFollow) {
  Sha256 h;
  h.update("ab", 2);
  const auto first = h.digest();
  EXPECT_EQ(h.digest(), first);  // asking twice changes nothing
  h.update("c", 1);
  EXPECT_EQ(h.hex_digest(), sha256_of("abc"));
}

TEST(Sha256, ParametersHashIsTheHashOfTheirLittleEndianFloat64Bytes) {
  test_support::TempDir tmp;
  for (const std::vector<double>& values :
       {std::vector<double>{}, std::vector<double>{1.0}, std::vector<double>{0.5, -2.25, 1e-300},
        std::vector<double>(1000, 3.14159)}) {
    // Written byte by byte in little-endian order, whatever this machine's order.
    const auto file = tmp / "parameters.f64";
    {
      std::ofstream out(file, std::ios::binary);
      for (const double v : values) {
        std::uint64_t bits;
        std::memcpy(&bits, &v, 8);
        for (int i = 0; i < 8; ++i) out.put(char(bits >> (8 * i)));
      }
    }
    const std::string expected = sha256sum(file);
    ASSERT_EQ(expected.size(), 64u) << "sha256sum (coreutils) could not be run";
    EXPECT_EQ(parameters_sha256(values), expected) << values.size() << " values";
  }
}
