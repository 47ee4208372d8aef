// Replies are capped (issue 15, finding 10): a peer that streams a line without end, or announces
// a block larger than max_reply_bytes, costs the client that much memory at most and an error
// naming the instrument; the session goes on afterwards.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "drivers/errors.hpp"
#include "drivers/scpi_session.hpp"
#include "fake_instrument.hpp"
#include "scpi_test_support.hpp"

namespace aeqlab::drivers {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

TEST(ReplyLimits, ALineLongerThanTheCapIsAReplyErrorAndTheSessionGoesOn) {
  fake::FakeModel model;
  fake::TcpFake server{model};
  auto options = test_support::fast_options();
  options.max_reply_bytes = 1024;
  ScpiSession s("dmm", open_transport(parse_address(server.address()), 500ms), options);
  try {
    s.query("ECHO? " + std::string(20000, 'x'));
    FAIL() << "a 20 kB line was taken with a 1 kB cap";
  } catch (const ReplyError& e) {
    EXPECT_THAT(e.what(), HasSubstr("longer than 1024 bytes"));
  }
  EXPECT_EQ(s.identify(), "AEQLAB,FAKE-1,0001,1.0");
  EXPECT_EQ(s.query("ECHO? " + std::string(500, 'y')), std::string(500, 'y'));
}

TEST(ReplyLimits, ABlockAnnouncingMoreThanTheCapIsRefusedBeforeItIsRead) {
  fake::FakeModel model;
  fake::TcpFake server{model};
  auto options = test_support::fast_options();
  options.max_reply_bytes = 2048;
  ScpiSession s("dmm", open_transport(parse_address(server.address()), 500ms), options);
  s.write_block("DATA ", std::string(4096, '\n'));
  try {
    s.query_block("DATA?");
    FAIL() << "a 4096-byte block was taken with a 2048-byte cap";
  } catch (const ReplyError& e) {
    EXPECT_THAT(e.what(), HasSubstr("announces 4096 bytes"));
  }
  s.write_block("DATA ", std::string(2048, '\r'));
  EXPECT_EQ(s.query_block("DATA?"), std::string(2048, '\r'));
}

TEST(ReplyLimits, PrintableEscapesControlBytes) {
  EXPECT_EQ(ScpiSession::printable("A\x1b[2J\x07\xff\n", 80), "A\\x1b[2J\\x07\\xff\\n");
  EXPECT_EQ(ScpiSession::printable(std::string(100, 'z'), 10), std::string(10, 'z') + "...");
}

}  // namespace
}  // namespace aeqlab::drivers
