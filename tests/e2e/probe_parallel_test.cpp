// `aeqlab probe` asks every address at once (as `train` opens a bench) and prints the answers in
// the order given. The two loopback instruments here answer only once both are connected: asked
// one after the other, the first would never answer.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "program_fixture.hpp"

namespace aeqlab::e2e {
namespace {

int listening_socket(int& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(::listen(fd, 4), 0);
  socklen_t n = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  port = ntohs(a.sin_port);
  return fd;
}

// Answers *IDN? with `idn` and the error query with "no error" until the peer hangs up.
void answer(int fd, const std::string& idn) {
  std::string line;
  char c;
  while (::read(fd, &c, 1) == 1) {
    if (c != '\n') {
      line += c;
      continue;
    }
    std::string reply;
    if (line == "*IDN?") reply = idn + "\n";
    if (line.find("ERR") != std::string::npos) reply = "0,\"No error\"\n";
    if (!reply.empty() && ::write(fd, reply.data(), reply.size()) < 0) break;
    line.clear();
  }
  ::close(fd);
}

class ProbeParallel : public ProgramTest {};

TEST_F(ProbeParallel, AsksEveryAddressAtOnceAndKeepsTheirOrder) {
  int port_a = 0, port_b = 0;
  const int a = listening_socket(port_a), b = listening_socket(port_b);
  std::thread bench([&] {
    const int ca = ::accept(a, nullptr, nullptr);
    const int cb = ::accept(b, nullptr, nullptr);
    std::thread other(answer, cb, "lab,second,0,1");
    answer(ca, "lab,first,0,1");
    other.join();
  });
  const std::string first = "tcp://127.0.0.1:" + std::to_string(port_a);
  const std::string second = "tcp://127.0.0.1:" + std::to_string(port_b);
  // A generous timeout: the test does not time anything, it only must not wait forever.
  const auto r = run({"probe", first, second, "--timeout", "60", "--json"});
  bench.join();
  ::close(a);
  ::close(b);
  ASSERT_EQ(r.status, 0) << r.all();
  std::vector<nlohmann::json> lines;
  std::size_t at = 0;
  for (auto end = r.out.find('\n'); end != std::string::npos;
       at = end + 1, end = r.out.find('\n', at)) {
    const auto j = nlohmann::json::parse(r.out.substr(at, end - at));
    if (j.contains("address")) lines.push_back(j);
  }
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0]["address"], first);
  EXPECT_EQ(lines[0]["idn"], "lab,first,0,1");
  EXPECT_EQ(lines[1]["address"], second);
  EXPECT_EQ(lines[1]["idn"], "lab,second,0,1");
}

}  // namespace
}  // namespace aeqlab::e2e
