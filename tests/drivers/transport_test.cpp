// The transport base: one overall deadline, the read buffer, discarding input.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

#include "drivers/errors.hpp"
#include "drivers/scpi_session.hpp"
#include "drivers/transport.hpp"
#include "fake_instrument.hpp"
#include "scpi_test_support.hpp"

namespace aeqlab::drivers {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

class TransportTcp : public ::testing::Test {
 protected:
  fake::FakeModel model;
  fake::TcpFake server{model};
  std::unique_ptr<Transport> transport = open_transport(parse_address(server.address()), 500ms);
};

TEST_F(TransportTcp, BytesAfterTheTerminatorStayBuffered) {
  auto c = transport->converse();
  c.write("ECHO? first\nECHO? second\nECHO? 0123456789\n", 500ms);
  EXPECT_EQ(c.read_until("\n", 500ms), "first\n");
  EXPECT_EQ(c.read_until("\n", 500ms), "second\n");
  EXPECT_EQ(c.read_exact(4, 500ms), "0123");
  EXPECT_EQ(c.read_until("89\n", 500ms), "456789\n");
}

TEST_F(TransportTcp, TerminatorSplitAcrossReads) {
  model.set_reply_terminator("\r\n");
  model.split_replies = true;  // an empty reply arrives as "\r" then "\n"
  auto c = transport->converse();
  c.write("ECHO?\n", 500ms);
  EXPECT_EQ(c.read_until("\r\n", 500ms), "\r\n");
}

TEST_F(TransportTcp, TimeoutNamesTheAddressAndTheWait) {
  auto c = transport->converse();
  c.write("SILENT?\n", 500ms);
  const auto start = std::chrono::steady_clock::now();
  const auto e = test_support::thrown<TimeoutError>([&] { c.read_until("\n", 120ms); });
  ASSERT_TRUE(e) << "no TimeoutError";
  EXPECT_THAT(e->what(), HasSubstr(server.address()));
  EXPECT_THAT(e->what(), HasSubstr("120 ms"));
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, 120ms);
  EXPECT_LT(waited, 1000ms);
}

TEST_F(TransportTcp, ShortBlockTimesOutWithACount) {
  auto c = transport->converse();
  c.write("ECHO? abc\n", 500ms);
  const auto e = test_support::thrown<TimeoutError>([&] { c.read_exact(10, 100ms); });
  ASSERT_TRUE(e) << "no TimeoutError";
  EXPECT_THAT(e->what(), HasSubstr("4 of 10"));
}

TEST_F(TransportTcp, DiscardInputDropsBufferedAndPendingBytes) {
  auto c = transport->converse();
  c.write("ECHO? a\nECHO? b\n", 500ms);
  EXPECT_EQ(c.read_until("\n", 500ms), "a\n");
  std::this_thread::sleep_for(50ms);
  c.discard_input();
  c.write("ECHO? c\n", 500ms);
  EXPECT_EQ(c.read_until("\n", 500ms), "c\n");
}

TEST_F(TransportTcp, PeerHangingUpIsADisconnectAndReopenRecovers) {
  auto c = transport->converse();
  c.write("ECHO? accepted\n", 500ms);  // the server has taken the connection: kick() sees it
  EXPECT_EQ(c.read_until("\n", 500ms), "accepted\n");
  server.kick();
  EXPECT_THROW(c.read_until("\n", 500ms), DisconnectedError);
  c.reopen();
  c.write("*IDN?\n", 500ms);
  EXPECT_EQ(c.read_until("\n", 500ms), "AEQLAB,FAKE-1,0001,1.0\n");
}

TEST(ScpiParsing, ErrorEntries) {
  auto e = ScpiSession::parse_error_entry("-222,\"Data out of range\"\n", "x");
  EXPECT_EQ(e.code, -222);
  EXPECT_EQ(e.text, "Data out of range");
  e = ScpiSession::parse_error_entry("+0,\"No error\"", "x");
  EXPECT_EQ(e.code, 0);
  EXPECT_EQ(e.text, "No error");
  e = ScpiSession::parse_error_entry("0,No error", "x");
  EXPECT_EQ(e.code, 0);
  EXPECT_EQ(e.text, "No error");
  e = ScpiSession::parse_error_entry(" -113 , \"Undefined \"\"VOLTS\"\"\" ", "x");
  EXPECT_EQ(e.code, -113);
  EXPECT_EQ(e.text, "Undefined \"VOLTS\"");
  for (const char* bad : {"", "No error", "abc,\"x\"", "+-1,\"x\"", "1.5,\"x\""}) {
    try {
      ScpiSession::parse_error_entry(bad, "instrument \"psu\": reply to \"SYST:ERR?\"");
      ADD_FAILURE() << bad << " was accepted";
    } catch (const ReplyError& e) {
      EXPECT_THAT(e.what(), HasSubstr("instrument \"psu\""));
    }
  }
}

TEST(ScpiParsing, DefiniteLengthBlocks) {
  EXPECT_EQ(ScpiSession::definite_length_block(""), "#10");
  EXPECT_EQ(ScpiSession::definite_length_block("abc"), "#13abc");
  EXPECT_EQ(ScpiSession::definite_length_block(std::string(1000, 'z')).substr(0, 6), "#41000");
}

}  // namespace
}  // namespace aeqlab::drivers
