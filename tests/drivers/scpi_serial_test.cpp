// SCPI sessions over a real pseudo-terminal, as the virtual bench serves its serial instruments.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <random>

#include <termios.h>
#include <unistd.h>

#include "drivers/errors.hpp"
#include "drivers/scpi_session.hpp"
#include "drivers/serial_ports.hpp"
#include "fake_instrument.hpp"
#include "scpi_test_support.hpp"

namespace aeqlab::drivers {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

std::string link_name() {
  std::string name = "aeqlab-pty-test-";
  name += std::to_string(::getpid());
  return name;
}

class ScpiSerial : public ::testing::Test {
 protected:
  ScpiSession session(const std::string& query_string = "", ScpiOptions options = fast()) {
    std::string address = "serial://";
    address += pty.path();
    address += query_string;
    return ScpiSession("dac", open_transport(parse_address(address), 500ms), std::move(options));
  }
  static ScpiOptions fast() { return test_support::fast_options(); }
  fake::FakeModel model;
  fake::PtyFake pty{model};
};

TEST_F(ScpiSerial, QueryAndWrite) {
  auto s = session();
  EXPECT_EQ(s.identify(), "AEQLAB,FAKE-1,0001,1.0");
  s.write("VOLT 1.25");
  EXPECT_EQ(s.query("VOLT?"), "1.25");
  EXPECT_THAT(s.query_values("MEAS?", 3), ::testing::ElementsAre(1.5, 2.5, -3e-3));
  EXPECT_THROW(s.write("VOLT 99"), InstrumentError);
}

TEST_F(ScpiSerial, CrLfTerminators) {
  model.set_reply_terminator("\r\n");
  auto o = fast();
  o.write_terminator = "\r\n";
  o.read_terminator = "\r\n";
  auto s = session("", o);
  EXPECT_EQ(s.query("ECHO? x y"), "x y");
  s.write("VOLT 3");
  EXPECT_EQ(s.query("VOLT?"), "3");
}

TEST_F(ScpiSerial, OpensThroughASymlinkAndAppliesTheLineSettings) {
  const auto link = std::filesystem::temp_directory_path() / link_name();
  std::filesystem::remove(link);
  std::filesystem::create_symlink(pty.path(), link);
  std::string address = "serial://";
  address += link.string();
  address += "?baud=115200&stop_bits=2&flow=hardware";
  {
    ScpiSession s("dac", open_transport(parse_address(address), 500ms), fast());
    EXPECT_EQ(s.query("ECHO? via link"), "via link");
    // The settings live on the terminal itself: the other end of the test sees them.
    termios t{};
    ASSERT_EQ(::tcgetattr(pty.slave_fd(), &t), 0);
    EXPECT_EQ(::cfgetospeed(&t), speed_t(B115200));
    EXPECT_EQ(t.c_cflag & CSIZE, tcflag_t(CS8));
    EXPECT_TRUE(t.c_cflag & CSTOPB);
    EXPECT_TRUE(t.c_cflag & CRTSCTS);
  }
  std::filesystem::remove(link);
}

// Some kernels refuse parity and 7-bit characters on a pseudo-terminal; a bench file written
// for a real 7E1 instrument still runs against its virtual twin.
TEST_F(ScpiSerial, SevenBitEvenParityAddressWorksOnAPseudoTerminal) {
  auto s = session("?baud=19200&parity=even&data_bits=7&flow=software");
  EXPECT_EQ(s.query("ECHO? 7E1"), "7E1");
}

TEST_F(ScpiSerial, BinaryBlocksBothWays) {
  auto o = fast();
  o.timeout = 2000ms;
  auto s = session("?baud=115200", o);
  std::string payload(256 * 1024, '\0');
  std::mt19937 rng(7);
  for (auto& c : payload) c = char(rng());
  for (int b = 0; b < 256; ++b)
    payload[std::size_t(b)] = char(b);  // every byte value, \n and ; too
  s.write_block("DATA ", payload);
  EXPECT_EQ(model.data(), payload);
  EXPECT_EQ(s.query_block("DATA?"), payload);
}

TEST_F(ScpiSerial, TimeoutIsRetriedThenReported) {
  auto s = session("", test_support::fast_options(100ms, 1));
  const auto e = test_support::thrown<TimeoutError>([&] { s.query("SILENT?"); });
  ASSERT_TRUE(e) << "no TimeoutError";
  EXPECT_THAT(e->what(), HasSubstr("instrument \"dac\""));
  EXPECT_THAT(e->what(), HasSubstr(pty.path()));
  EXPECT_THAT(e->what(), HasSubstr("no reply to \"SILENT?\" within 100 ms (2 attempts)"));
  EXPECT_EQ(model.wait_count("SILENT?", 2), 2);
  EXPECT_EQ(s.query("ECHO? ok"), "ok");
}

TEST_F(ScpiSerial, ConcurrentQueriesNeverInterleave) {
  model.split_replies = true;
  auto s = session();
  EXPECT_EQ(test_support::echo_mismatches(s, 4, 25), 0);
}

TEST(SerialPort, MissingPortIsAConnectErrorNamingIt) {
  const auto e = test_support::thrown<ConnectError>([&] {
    open_transport(parse_address("serial:///dev/ttyUSB-aeqlab-missing?baud=9600"), 500ms);
  });
  ASSERT_TRUE(e) << "no ConnectError";
  EXPECT_THAT(e->what(), HasSubstr("no such serial port /dev/ttyUSB-aeqlab-missing"));
}

TEST(SerialPort, ListingPortsDoesNotThrow) {
  std::vector<SerialPortInfo> ports;
  EXPECT_NO_THROW(ports = list_serial_ports());
  for (const auto& p : ports) {
    EXPECT_FALSE(p.path.empty());
    EXPECT_FALSE(p.transport.empty());
  }
}

}  // namespace
}  // namespace aeqlab::drivers
