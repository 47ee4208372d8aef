// SCPI sessions over a real loopback socket to the fake instrument.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <thread>

#include "drivers/errors.hpp"
#include "drivers/scpi_session.hpp"
#include "fake_instrument.hpp"
#include "scpi_test_support.hpp"

namespace aeqlab::drivers {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

class ScpiTcp : public ::testing::Test {
 protected:
  ScpiSession session(ScpiOptions options = fast()) {
    return ScpiSession("dmm", open_transport(parse_address(server.address()), 500ms),
                       std::move(options));
  }
  std::string who() const {
    std::string w = "instrument \"dmm\" at ";
    w += server.address();
    return w;
  }
  static ScpiOptions fast() { return test_support::fast_options(); }
  fake::FakeModel model;
  fake::TcpFake server{model};
};

TEST_F(ScpiTcp, QueryReturnsTheReplyWithoutTerminator) {
  auto s = session();
  EXPECT_EQ(s.identify(), "AEQLAB,FAKE-1,0001,1.0");
  EXPECT_EQ(s.query("ECHO? hello world"), "hello world");
  EXPECT_EQ(s.name(), "dmm");
  EXPECT_EQ(s.address(), server.address());
}

TEST_F(ScpiTcp, InstrumentEndingLinesWithCrLf) {
  model.set_reply_terminator("\r\n");
  auto s = session();
  EXPECT_EQ(s.query("ECHO? a"), "a");  // read terminator "\n": the stray "\r" goes too
  auto o = fast();
  o.write_terminator = "\r\n";
  o.read_terminator = "\r\n";
  auto crlf = session(o);
  EXPECT_EQ(crlf.query("ECHO? b"), "b");
  crlf.write("VOLT 2.5");
  EXPECT_EQ(crlf.query("VOLT?"), "2.5");
  EXPECT_THAT(model.messages(), ::testing::Contains("VOLT 2.5;:SYST:ERR?"));
}

TEST_F(ScpiTcp, WriteChecksTheErrorQueueInTheSameMessage) {
  auto s = session();
  s.write("VOLT 5");
  EXPECT_EQ(s.query("VOLT?"), "5");
  EXPECT_EQ(model.messages().front(), "VOLT 5;:SYST:ERR?");
}

TEST_F(ScpiTcp, RefusedWriteThrowsInstrumentErrorWithCodeAndText) {
  auto s = session();
  const auto e = test_support::thrown<InstrumentError>([&] { s.write("VOLT 20"); });
  ASSERT_TRUE(e) << "no InstrumentError";
  EXPECT_EQ(e->code, -222);
  EXPECT_EQ(e->text, "Data out of range");
  EXPECT_THAT(e->what(), HasSubstr("instrument \"dmm\""));
  EXPECT_THAT(e->what(), HasSubstr(server.address()));
  EXPECT_THAT(e->what(), HasSubstr("VOLT 20"));
  EXPECT_THAT(e->what(), HasSubstr("-222,\"Data out of range\""));
  EXPECT_EQ(s.query("VOLT?"), "0");  // the session is still usable
}

TEST_F(ScpiTcp, EveryQueuedErrorIsReportedAndTheQueueLeftEmpty) {
  auto s = session();
  const auto e = test_support::thrown<InstrumentError>([&] { s.write("BAD2"); });
  ASSERT_TRUE(e) << "no InstrumentError";
  EXPECT_EQ(e->code, -113);
  EXPECT_THAT(e->what(), HasSubstr("-113,\"Undefined header\""));
  EXPECT_THAT(e->what(), HasSubstr("-222,\"Data out of range\""));
  EXPECT_TRUE(s.drain_errors().empty());
}

TEST_F(ScpiTcp, LongCommandsAreShortenedInMessages) {
  auto s = session();
  std::string command = "BOGUS ";
  command.append(300, 'a');
  const auto e = test_support::thrown<InstrumentError>([&] { s.write(command); });
  ASSERT_TRUE(e) << "no InstrumentError";
  EXPECT_THAT(e->what(), HasSubstr("BOGUS aaa"));
  EXPECT_THAT(e->what(), HasSubstr("..."));
  EXPECT_LT(std::string(e->what()).size(), 250u);
}

TEST_F(ScpiTcp, ChainedWritesGoInOneMessage) {
  auto s = session();
  const std::vector<std::string> commands = {"VOLT 3", "CURR 1"};
  s.write_chained(commands);
  EXPECT_EQ(model.messages().back(), "VOLT 3;:CURR 1;:SYST:ERR?");
  EXPECT_EQ(s.query("VOLT?"), "3");
  const std::vector<std::string> bad = {"VOLT 4", "VOLT 40"};
  EXPECT_THROW(s.write_chained(bad), InstrumentError);
}

TEST_F(ScpiTcp, WithoutErrorChecksWritesAreFireAndForget) {
  auto o = fast();
  o.check_errors = false;
  auto s = session(o);
  s.write("VOLT 20");  // refused, but nobody asks
  EXPECT_EQ(model.wait_count("VOLT", 1), 1);
  EXPECT_EQ(model.messages().back(), "VOLT 20");
  const auto errors = s.drain_errors();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code, -222);
}

TEST_F(ScpiTcp, CommonCommands) {
  auto s = session();
  EXPECT_THROW(s.write("VOLT 30"), InstrumentError);
  EXPECT_TRUE(s.drain_errors().empty());  // the refused write drained the queue
  auto o = fast();
  o.check_errors = false;
  auto unchecked = session(o);
  unchecked.write("VOLT 30");
  unchecked.clear();
  EXPECT_TRUE(unchecked.drain_errors().empty());
  unchecked.wait_complete();
}

TEST_F(ScpiTcp, QueryValuesParsesNumbers) {
  auto s = session();
  EXPECT_THAT(s.query_values("MEAS?", 3), ::testing::ElementsAre(1.5, 2.5, -3e-3));
  EXPECT_THAT(s.query_values("SPACED?", 0), ::testing::ElementsAre(1.0, 2.5, 3.0));
  EXPECT_THAT(s.query_values("ECHO? 7", 1), ::testing::ElementsAre(7.0));
}

TEST_F(ScpiTcp, QueryValuesNamesTheBadField) {
  auto s = session();
  const auto e = test_support::thrown<ReplyError>([&] { s.query_values("GARBLED?", 3); });
  ASSERT_TRUE(e) << "no ReplyError";
  EXPECT_THAT(e->what(), HasSubstr("instrument \"dmm\""));
  EXPECT_THAT(e->what(), HasSubstr("GARBLED?"));
  EXPECT_THAT(e->what(), HasSubstr("field 2"));
  EXPECT_THAT(e->what(), HasSubstr("abc"));
  const auto count = test_support::thrown<ReplyError>([&] { s.query_values("MEAS?", 4); });
  ASSERT_TRUE(count) << "no ReplyError";
  EXPECT_THAT(count->what(), HasSubstr("3 values where 4 were expected"));
  const auto huge = test_support::thrown<ReplyError>([&] { s.query_values("LONG?", 0); });
  ASSERT_TRUE(huge) << "no ReplyError";
  const std::string what = huge->what();
  EXPECT_THAT(what, HasSubstr("x\\x01x\\x01"));  // escaped, never raw control bytes
  EXPECT_EQ(what.find('\x01'), std::string::npos);
  EXPECT_THAT(what, HasSubstr("..."));
  EXPECT_LT(what.size(), 260u);
  EXPECT_THROW(s.query_values("ECHO? 1,,2", 0), ReplyError);
  EXPECT_THROW(s.query_values("ECHO? 1.5V", 0), ReplyError);
  EXPECT_THROW(s.query_values("ECHO? +-1", 0), ReplyError);
  // Errors on the reply are not retried and leave the session usable.
  EXPECT_EQ(model.count("GARBLED?"), 1);
  EXPECT_EQ(s.query("*IDN?"), "AEQLAB,FAKE-1,0001,1.0");
}

std::string binary_payload(std::size_t n) {
  std::string p(n, '\0');
  std::mt19937 rng(42);
  for (auto& c : p) c = char(rng());
  // The bytes a naive reader would stop or split at.
  const std::string nasty("\n;\r#9;:SYST:ERR?\n\0\xff", 19);
  p.replace(0, nasty.size(), nasty);
  return p;
}

TEST_F(ScpiTcp, BinaryBlocksBothWays) {
  auto s = session();
  const std::string payload = binary_payload(1000);
  s.write_block("DATA ", payload);
  EXPECT_EQ(model.data(), payload);
  EXPECT_EQ(s.query_block("DATA?"), payload);
  s.write_block("DATA ", "");
  EXPECT_EQ(s.query_block("DATA?"), "");
}

TEST_F(ScpiTcp, MegabyteBlocks) {
  auto o = fast();
  o.timeout = 2000ms;
  auto s = session(o);
  const std::string payload = binary_payload(1 << 20);
  s.write_block("DATA ", payload);
  EXPECT_EQ(model.data().size(), payload.size());
  EXPECT_EQ(s.query_block("DATA?"), payload);
}

TEST_F(ScpiTcp, RefusedBlockNeverPrintsThePayload) {
  auto s = session();
  const std::string payload(5000, 'Q');
  const auto e = test_support::thrown<InstrumentError>([&] { s.write_block("REFUSE ", payload); });
  ASSERT_TRUE(e) << "no InstrumentError";
  EXPECT_EQ(e->code, -225);
  EXPECT_THAT(e->what(), HasSubstr("REFUSE"));
  EXPECT_THAT(e->what(), HasSubstr("block of 5000 bytes"));
  EXPECT_THAT(e->what(), Not(HasSubstr("QQQ")));
}

TEST_F(ScpiTcp, MalformedBlocksAreReplyErrors) {
  auto s = session();
  const auto e = test_support::thrown<ReplyError>([&] { s.query_block("INDEF?"); });
  ASSERT_TRUE(e) << "no ReplyError";
  EXPECT_THAT(e->what(), HasSubstr("indefinite"));
  EXPECT_THAT(e->what(), HasSubstr("INDEF?"));
  EXPECT_THROW(s.query_block("BADBLK?"), ReplyError);
  EXPECT_THROW(s.query_block("ECHO? hello"), ReplyError);
  EXPECT_EQ(s.query("ECHO? still fine"), "still fine");
}

TEST_F(ScpiTcp, TimeoutsAreRetriedABoundedNumberOfTimes) {
  auto s = session(test_support::fast_options(100ms, 2));
  const auto start = std::chrono::steady_clock::now();
  const auto e = test_support::thrown<TimeoutError>([&] { s.query("SILENT?"); });
  ASSERT_TRUE(e) << "no TimeoutError";
  EXPECT_THAT(e->what(), HasSubstr(who()));
  EXPECT_THAT(e->what(), HasSubstr("no reply to \"SILENT?\" within 100 ms (3 attempts)"));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
  EXPECT_EQ(model.wait_count("SILENT?", 3), 3);
  EXPECT_EQ(s.query("ECHO? ok"), "ok");
}

TEST_F(ScpiTcp, ALateReplyIsNotTakenForTheNextAnswer) {
  auto s = session(test_support::fast_options(100ms, 0));
  EXPECT_THROW(s.query("SLOW? 150"), TimeoutError);
  std::this_thread::sleep_for(250ms);  // "late" has arrived by now
  EXPECT_EQ(s.query("ECHO? fresh"), "fresh");
}

TEST_F(ScpiTcp, DroppedConnectionIsReopenedAndTheCommandRepeated) {
  model.set_drops(1);
  auto s = session();
  EXPECT_EQ(s.query("DROP?"), "back");
  EXPECT_EQ(model.count("DROP?"), 2);
  EXPECT_EQ(server.accepted(), 2);
}

TEST_F(ScpiTcp, ConnectionDroppedBetweenCommandsIsReopened) {
  auto s = session();
  EXPECT_EQ(s.query("ECHO? one"), "one");
  server.kick();
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(s.query("ECHO? two"), "two");
  s.write("VOLT 1");
  EXPECT_EQ(server.accepted(), 2);
}

TEST_F(ScpiTcp, GivesUpWhenTheInstrumentStaysAway) {
  auto o = fast();
  o.reconnects = 2;
  auto s = session(o);
  EXPECT_EQ(s.query("ECHO? one"), "one");
  server.stop_listening();
  server.kick();
  std::this_thread::sleep_for(50ms);
  const auto e = test_support::thrown<DisconnectedError>([&] { s.query("MEAS?"); });
  ASSERT_TRUE(e) << "no DisconnectedError";
  EXPECT_THAT(e->what(), HasSubstr(who()));
  EXPECT_THAT(e->what(), HasSubstr("MEAS?"));
  EXPECT_THAT(e->what(), HasSubstr("2 reconnect attempts failed"));
  EXPECT_THAT(e->what(), HasSubstr("refused"));
}

TEST_F(ScpiTcp, ConcurrentQueriesNeverInterleave) {
  model.split_replies = true;
  auto s = session();
  EXPECT_EQ(test_support::echo_mismatches(s, 4, 50), 0);
  EXPECT_EQ(model.count("ECHO?"), 200);
}

TEST_F(ScpiTcp, HostNamesAreResolved) {
  std::string address = "tcp://localhost:";
  address += std::to_string(server.port());
  ScpiSession s("dmm", open_transport(parse_address(address), 500ms), fast());
  EXPECT_EQ(s.query("ECHO? by name"), "by name");
}

TEST(ScpiTcpConnect, RefusedConnectionIsAConnectError) {
  // A port that was free a moment ago: nothing listens there.
  int port;
  {
    fake::FakeModel model;
    fake::TcpFake gone(model);
    port = gone.port();
  }
  std::string address = "tcp://127.0.0.1:";
  address += std::to_string(port);
  const auto e =
      test_support::thrown<ConnectError>([&] { open_transport(parse_address(address), 500ms); });
  ASSERT_TRUE(e) << "no ConnectError";
  EXPECT_THAT(e->what(), HasSubstr(address));
  EXPECT_THAT(e->what(), HasSubstr("refused"));
}

}  // namespace
}  // namespace aeqlab::drivers
