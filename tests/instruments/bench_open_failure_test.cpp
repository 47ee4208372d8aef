// A bench whose instruments cannot be reached: the refusal lists every instrument once, by name
// and address (docs/bench.md), not `instrument "dac": instrument "dac" at ...`.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "instruments/bench_config.hpp"
#include "instruments/bench_device.hpp"

namespace aeqlab::instruments {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

// A loopback port nobody listens on: bound by the kernel's choice, then closed, so a connect to
// it is refused at once.
int refused_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t n = sizeof a;
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n), 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// A loopback port that accepts connections (the kernel's backlog) and never answers: a silent
// instrument, whose own error already names it.
int silent_port(int& fd) {
  fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(::listen(fd, 4), 0);
  socklen_t n = sizeof a;
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n), 0);
  return ntohs(a.sin_port);
}

TEST(BenchOpen, EachInstrumentThatCannotBeOpenedIsNamedOnce) {
  int listening = -1;
  const std::string silent = "tcp://127.0.0.1:" + std::to_string(silent_port(listening));
  const std::string refused = "tcp://127.0.0.1:" + std::to_string(refused_port());
  json j = json::parse(R"json({
    "name": "test bench",
    "instruments": [
      {"name": "dac_inputs", "profile": "aeqlab-vdac", "reconnects": 0, "retries": 0,
       "timeout_s": 0.2},
      {"name": "adc", "profile": "aeqlab-vadc", "reconnects": 0, "retries": 0}
    ],
    "channels": {
      "inputs": {"safe": [0, 1], "map": [{"instrument": "dac_inputs", "channels": "1:2"}]},
      "outputs": {"safe": [-1, 2], "map": [{"instrument": "adc", "channels": "1,2"}]},
      "nudge": {"targets": {"safe": [-1, 2], "map": [{"instrument": "dac_inputs", "channels": [3, 4]}]},
                "strength": {"safe": [0, 10], "map": [{"instrument": "dac_inputs", "channels": 5}]}},
      "knobs": [{"name": "u_W", "safe": [-5, 5], "map": [{"instrument": "dac_inputs", "channels": "11:14"}]}],
      "parameters": [{"name": "W", "safe": [-5, 5], "compliance": 0.5,
                      "map": [{"instrument": "adc", "channels": "11:14"}]}]
    }
  })json");
  j["instruments"][0]["address"] = silent;
  j["instruments"][1]["address"] = refused;

  std::string message;
  try {
    BenchDevice bench(parse_bench(j, "bench.json"));
  } catch (const std::exception& e) {
    message = e.what();
  }
  ::close(listening);
  ASSERT_THAT(message, HasSubstr("cannot open the bench"));
  EXPECT_EQ(occurrences(message, "instrument \"dac_inputs\""), 1u) << message;
  EXPECT_EQ(occurrences(message, "instrument \"adc\""), 1u) << message;
  // The silent one's own error, as the driver worded it; the refused one prefixed by the bench.
  EXPECT_THAT(message, HasSubstr("\n  instrument \"dac_inputs\" at " + silent)) << message;
  EXPECT_THAT(message, HasSubstr("\n  instrument \"adc\": " + refused)) << message;
}

}  // namespace
}  // namespace aeqlab::instruments
