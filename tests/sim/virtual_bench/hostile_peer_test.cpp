// The virtual bench against a careless or hostile client (docs/virtual-bench.md, "Limits"): each
// test is one finding of issue 15 and fails on the server that came before these limits.

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "served_virtual_bench.hpp"

using namespace aeqlab::test;
namespace scpi = aeqlab::sim::scpi;

namespace {

int error_code_of(const std::string& entry) {
  return std::stoi(entry.substr(0, entry.find(',')));
}

// A double whose last little-endian byte (the one a block ends with) is `last`.
double ending_in(unsigned char last) {
  std::string bytes(8, '\0');
  bytes[0] = 1;
  bytes[7] = static_cast<char>(last);
  return scpi::unpack_f64le(bytes)[0];
}

}  // namespace

// Finding 1: a short channel list must not expand to more channels than the instrument has.
TEST(HostilePeer, ChannelListsNeverExpandBeyondTheInstrument) {
  std::string list = "(@1:65536";
  for (int i = 0; i < 100; ++i) list += ",1:65536";
  list += ")";
  try {
    scpi::parse_channels(list, 65536);
    FAIL() << "a list of 101 x 65536 channels was expanded";
  } catch (const scpi::Error& e) {
    EXPECT_EQ(e.code, -223) << e.what();
  }
  EXPECT_EQ(scpi::parse_channels("(@1:4)", 4).size(), 4u);  // the whole instrument is fine

  Served s;
  auto dac = s.tcp("dac_inputs");
  dac.send("VOLT? (@1:4,1:4)\n");
  EXPECT_EQ(error_code_of(dac.query("SYST:ERR?\n")), -223);
  EXPECT_EQ(dac.query("*IDN?\n"), s.at("dac_inputs").idn);  // still serving
}

// Finding 2: a line without a newline is not buffered whole.
TEST(HostilePeer, AnOverlongMessageIsDroppedNotBuffered) {
  scpi::Framer f(scpi::FramerLimits{1 << 20, 1024});
  const std::string chunk(1 << 16, 'A');
  std::size_t most = 0;
  for (int i = 0; i < 2048; ++i) {  // 128 MiB
    f.feed(chunk);
    most = std::max(most, f.buffered());
  }
  EXPECT_LE(most, (1u << 20) + chunk.size());
  f.feed("\n*IDN?\n");
  EXPECT_EQ(f.next().value_or(""), "*IDN?");
  EXPECT_FALSE(f.next());
  const auto refusal = f.next_refusal();
  ASSERT_TRUE(refusal);
  EXPECT_NE(refusal->find("Too much data"), std::string::npos) << *refusal;
}

// Finding 2: a block longer than the instrument takes is counted past, not stored; framing stays
// in step even when its announced bytes hold newlines.
TEST(HostilePeer, AnOversizedBlockIsSkippedByItsAnnouncedLength) {
  scpi::Framer f(scpi::FramerLimits{1 << 20, 64});
  f.feed("VOLT:BLOC (@1),#3100");
  f.feed(std::string(50, '\n'));
  EXPECT_FALSE(f.next());
  f.feed(std::string(50, '\n') + ";*OPC?\n*IDN?\n");
  EXPECT_EQ(f.next().value_or(""), "*IDN?");
  EXPECT_FALSE(f.next());
  EXPECT_TRUE(f.next_refusal());
}

// Finding 2: replies a client does not read stop the server reading from it; nothing is lost
// once it reads again.
TEST(HostilePeer, AClientThatDoesNotReadIsNotReadFrom) {
  sim::VirtualOptions o;
  o.max_unread_reply_bytes = 4096;
  Served s(layout(), o);
  // A small receive buffer, set before connecting: the server's replies stop getting through
  // soon, so the test is quick whatever the kernel's defaults.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  const int small = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  const std::string address = s.at("dac_inputs").tcp;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1))));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  const std::string query = "VOLT:BLOC? (@1:4)\n";  // 37-byte replies
  std::size_t sent = 0;
  bool blocked = false;
  // Without backpressure the server reads (and answers into memory) all of this.
  const std::size_t most = std::size_t{64} << 20;
  while (sent < most) {
    // The queries as one stream: a send cut short goes on from where it stopped.
    const std::size_t at = sent % query.size();
    const ssize_t n = ::send(fd, query.data() + at, query.size() - at, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // Full for now; a server that still reads makes room again soon. One that has stopped
      // reading never does (the second is what is expected here).
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, 1000) == 0) {
        blocked = true;
        break;
      }
      continue;
    }
    ASSERT_GT(n, 0) << std::strerror(errno);
    sent += static_cast<std::size_t>(n);
  }
  EXPECT_TRUE(blocked) << sent << " bytes sent without the server pushing back";
  // Every reply, in order: "#232" and 32 payload bytes and "\n" each (read raw: there may be
  // hundreds of thousands). The rest of a query cut short goes once the server reads again.
  constexpr std::size_t kReply = 4 + 32 + 1;
  std::string got;
  std::vector<char> chunk(1 << 16);
  const auto read_replies = [&](std::size_t n) {
    while (got.size() < n * kReply) {
      pollfd p{fd, POLLIN, 0};
      ASSERT_GT(::poll(&p, 1, 10000), 0) << got.size() / kReply << " of " << n << " replies";
      const ssize_t r = ::recv(fd, chunk.data(), chunk.size(), 0);
      ASSERT_GT(r, 0);
      got.append(chunk.data(), static_cast<std::size_t>(r));
    }
  };
  read_replies(sent / query.size());
  if (sent % query.size()) {
    const std::string rest = query.substr(sent % query.size());
    ASSERT_EQ(::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL), ssize_t(rest.size()));
    sent += rest.size();
  }
  const std::size_t queries = sent / query.size();
  read_replies(queries);
  ASSERT_EQ(got.size(), queries * kReply);
  for (std::size_t i = 0; i < queries; ++i)
    ASSERT_EQ(got.compare(i * kReply, 4, "#232"), 0) << "reply " << i;
  ::close(fd);
  auto dac = s.tcp("dac_inputs");
  EXPECT_EQ(dac.query("SYST:ERR?\n"), "0,\"No error\"");
}

// Finding 2: one message of many large queries does not make the server hold all the replies.
TEST(HostilePeer, RepliesToOneMessageAreBounded) {
  sim::VirtualOptions o;
  o.max_unread_reply_bytes = 4096;
  Served s(layout(), o);
  auto dac = s.tcp("dac_inputs");
  std::string message;
  for (int i = 0; i < 1000; ++i) message += "VOLT:BLOC? (@1:4);";
  dac.send(message + "\nSYST:ERR?\n");
  std::size_t replies = 0;
  std::string entry;
  for (;;) {
    const auto r = dac.reply(3000);
    ASSERT_TRUE(r);
    if (r->front() != '#') {
      entry = *r;
      break;
    }
    ++replies;
  }
  EXPECT_EQ(error_code_of(entry), -223) << entry;
  EXPECT_LT(replies, 1000u);
  EXPECT_GT(replies, 0u);
}

// Connection limit: more connections than virtual.max_connections are closed, and logged.
TEST(HostilePeer, ConnectionsBeyondTheLimitAreClosed) {
  sim::VirtualOptions o;
  o.max_connections = 2;
  Served s(layout(), o);
  auto a = s.tcp("adc_outputs");
  auto b = s.tcp("adc_outputs");
  EXPECT_EQ(a.query("*IDN?\n"), s.at("adc_outputs").idn);
  EXPECT_EQ(b.query("*IDN?\n"), s.at("adc_outputs").idn);
  auto c = s.tcp("adc_outputs");
  EXPECT_TRUE(c.peer_closed(3000));
  EXPECT_EQ(a.query("*IDN?\n"), s.at("adc_outputs").idn);
}

// Finding 3: a block's last byte may be a blank or a terminator.
TEST(HostilePeer, BlocksEndingInBlankBytesAreTakenWhole) {
  for (const unsigned char last : {0x09, 0x0A, 0x0D, 0x20}) {
    const std::string block = scpi::format_block(scpi::pack_f64le(std::vector{ending_in(last)}));
    const std::string message = "VOLT:BLOC (@1)," + block + " ;*OPC?";
    const auto commands = scpi::split_commands(message);
    ASSERT_EQ(commands.size(), 2u);
    const auto cmd = scpi::parse_command(commands[0]);
    ASSERT_EQ(cmd.params.size(), 2u);
    EXPECT_EQ(scpi::parse_block(cmd.params[1]).size(), 8u) << "last byte " << int(last);
  }
  Served s;
  auto dac = s.tcp("dac_inputs");
  for (const unsigned char last : {0x09, 0x0A, 0x0D, 0x20}) {
    const double v = ending_in(last);
    dac.write("VOLT:BLOC (@1)," + block_of({v}));
    EXPECT_EQ(dac.query("SYST:ERR?\n"), "0,\"No error\"") << "last byte " << int(last);
    EXPECT_EQ(block_values(dac.query("VOLT:BLOC? (@1)\n")), std::vector<double>{v});
  }
}

// Finding 4: MINimum, MAXimum and DEFault are values, per SCPI.
TEST(HostilePeer, MinMaxAndDefaultAreTheRolesRange) {
  const auto bench = layout();
  const auto& group = bench.inputs.group;
  Served s(bench);
  auto dac = s.tcp("dac_inputs");
  dac.write("VOLT MIN,(@1:2)");
  EXPECT_EQ(numbers(dac.query("VOLT? (@1:2)\n")),
            (std::vector<double>{group.safe.low, group.safe.low}));
  dac.write("VOLTage maximum,(@3)");
  EXPECT_EQ(numbers(dac.query("VOLT? (@3)\n")), std::vector<double>{group.safe.high});
  dac.write("VOLT:LIST DEF,max,0.25,MIN,(@1:4)");
  EXPECT_EQ(numbers(dac.query("VOLT? (@1:4)\n")),
            (std::vector<double>{group.safe_value, group.safe.high, 0.25, group.safe.low}));
  EXPECT_EQ(dac.query("SYST:ERR?\n"), "0,\"No error\"");
}

// MINimum, MAXimum and DEFault in queries (SCPI-99): `VOLT? MAX,(@list)` answers what MAX stands
// for on each channel, `VOLT? MIN` for every channel; the set-points are not touched. On the
// landed code each was -108 (a parameter not allowed) or -104.
TEST(HostilePeer, MinMaxAndDefaultInQueries) {
  const auto bench = layout();
  const auto& group = bench.inputs.group;
  Served s(bench);
  auto dac = s.tcp("dac_inputs");
  const std::size_t n = std::stoul(dac.query("SYST:CHAN?\n"));
  ASSERT_GE(n, 2u);
  dac.write("VOLT 0.125,(@1:2)");
  EXPECT_EQ(numbers(dac.query("VOLT? MAX,(@1:2)\n")),
            (std::vector<double>{group.safe.high, group.safe.high}));
  EXPECT_EQ(numbers(dac.query("SOUR:VOLT:LEV? minimum,(@2)\n")),
            std::vector<double>{group.safe.low});
  EXPECT_EQ(numbers(dac.query("VOLT:LIST? DEF,(@1)\n")), std::vector<double>{group.safe_value});
  EXPECT_EQ(block_values(dac.query("VOLT:BLOC? MAX,(@1)\n")), std::vector<double>{group.safe.high});
  EXPECT_EQ(numbers(dac.query("VOLT? MIN\n")), std::vector<double>(n, group.safe.low));
  EXPECT_EQ(dac.query("SYST:ERR?\n"), "0,\"No error\"");
  // The set-points are what was set, not what was asked about.
  EXPECT_EQ(numbers(dac.query("VOLT? (@1:2)\n")), (std::vector<double>{0.125, 0.125}));
  // A keyword with two lists, or a list and a value, is refused as SCPI says.
  dac.write("VOLT? MAX,(@1),(@2)");
  EXPECT_THAT(dac.query("SYST:ERR?\n"), ::testing::StartsWith("-108,"));
  dac.write("VOLT? (@1),MAX");
  EXPECT_THAT(dac.query("SYST:ERR?\n"), ::testing::StartsWith("-108,"));
}

// Finding 14: the bench has no authentication, so it stays on loopback unless told otherwise,
// and then advertises an address a client can use.
TEST(HostilePeer, ListeningBeyondLoopbackNeedsAllowRemote) {
  sim::VirtualOptions o;
  o.bind = "0.0.0.0";
  o.pty = false;
  sim::HopfieldDevice device(spec_432());
  sim::VirtualBench refused(device, layout(), o);
  try {
    refused.start();
    FAIL() << "0.0.0.0 was served without virtual.allow_remote";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("virtual.allow_remote"), std::string::npos) << e.what();
  }
  o.allow_remote = true;
  Served s(layout(), o);
  for (const auto& i : s.instruments) EXPECT_EQ(i.tcp.find("0.0.0.0"), std::string::npos) << i.tcp;
  auto adc = Wire::tcp(s.at("adc_outputs").tcp);
  EXPECT_EQ(adc.query("*IDN?\n"), s.at("adc_outputs").idn);
}
