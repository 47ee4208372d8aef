// A message's latency on the virtual bench runs from when it reached the host (the kernel's
// receive time on TCP), not from when the server's thread got a CPU to read it
// (docs/virtual-bench.md, "Timing"). Only bounds a loaded machine cannot break are checked.

#include "sim/virtual_bench/virtual_link.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

using namespace aeqlab;
using Clock = sim::Link::Clock;

namespace {

struct LoopbackPair {
  LoopbackPair() {
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    EXPECT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(listener, 1), 0);
    EXPECT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len), 0);
    client = ::socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    server = ::accept(listener, nullptr, nullptr);
    ::close(listener);
  }
  ~LoopbackPair() {
    ::close(client);
    ::close(server);
  }
  int client = -1, server = -1;
};

TEST(VirtualLink, AMessageIsStampedWithItsArrivalNotItsRead) {
  LoopbackPair p;
  ASSERT_TRUE(sim::stamp_arrivals(p.server));
  // The kernel turns its receive stamps on a moment after the first socket asks (a deferred
  // switch): packets before that carry none, and are taken as arriving when read.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const std::string message = "MEAS:VOLT? (@1)\n";
  ASSERT_EQ(::send(p.client, message.data(), message.size(), 0),
            static_cast<ssize_t>(message.size()));
  const auto sent = Clock::now();
  // The server's thread reads it late, as on a machine with every core busy.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  char buffer[64];
  boost::system::error_code ec;
  Clock::time_point arrived;
  const std::size_t n =
      sim::receive_stamped(p.server, boost::asio::buffer(buffer, sizeof buffer), ec, arrived);
  const auto read = Clock::now();
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(std::string(buffer, n), message);
  EXPECT_LT(arrived, sent + std::chrono::milliseconds(150)) << "stamped when read, not arrived";
  EXPECT_LE(arrived, read);
}

TEST(VirtualLink, NothingToReadAndTheEndOfTheStreamAreSaid) {
  LoopbackPair p;
  ASSERT_TRUE(sim::stamp_arrivals(p.server));
  char buffer[8];
  boost::system::error_code ec;
  Clock::time_point arrived;
  EXPECT_EQ(sim::receive_stamped(p.server, boost::asio::buffer(buffer, sizeof buffer), ec, arrived),
            0u);
  EXPECT_EQ(ec, boost::asio::error::would_block);
  ::shutdown(p.client, SHUT_WR);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(sim::receive_stamped(p.server, boost::asio::buffer(buffer, sizeof buffer), ec, arrived),
            0u);
  EXPECT_EQ(ec, boost::asio::error::eof);
}

}  // namespace
