#include "drivers/address.hpp"

#include <string>

#include <gtest/gtest.h>

#include "drivers/errors.hpp"

namespace aeqlab::drivers {
namespace {

TEST(Address, TcpWithPort) {
  const Address a = parse_address("tcp://192.168.1.20:5555");
  EXPECT_EQ(a.kind, Address::Kind::tcp);
  EXPECT_EQ(a.host, "192.168.1.20");
  EXPECT_EQ(a.port, 5555);
  EXPECT_EQ(a.text, "tcp://192.168.1.20:5555");
}

TEST(Address, TcpDefaultsToPort5025) {
  const Address a = parse_address("tcp://dmm-3.lab.example");
  EXPECT_EQ(a.host, "dmm-3.lab.example");
  EXPECT_EQ(a.port, 5025);
}

TEST(Address, TcpIpv6InBrackets) {
  const Address a = parse_address("tcp://[::1]:6000");
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 6000);
}

// A serial address's every setting, in one comparison that names the one that differs.
void expect_serial(const Address& a, const std::string& path, unsigned baud, char parity,
                   unsigned data_bits, unsigned stop_bits, char flow) {
  EXPECT_EQ(a.kind, Address::Kind::serial);
  EXPECT_EQ(a.path, path);
  EXPECT_EQ(a.baud, baud);
  EXPECT_EQ(a.parity, parity);
  EXPECT_EQ(a.data_bits, data_bits);
  EXPECT_EQ(a.stop_bits, stop_bits);
  EXPECT_EQ(a.flow, flow);
}

TEST(Address, SerialDefaults) {
  expect_serial(parse_address("serial:///dev/ttyUSB0"), "/dev/ttyUSB0", 9600u, 'N', 8u, 1u, 'N');
}

TEST(Address, SerialWithEveryOption) {
  expect_serial(
      parse_address("serial:///tmp/virtual-dac?baud=115200&parity=even&data_bits=7&stop_bits=2&"
                    "flow=hardware"),
      "/tmp/virtual-dac", 115200u, 'E', 7u, 2u, 'H');
  EXPECT_EQ(parse_address("serial:///dev/pts/3?parity=odd&flow=software").flow, 'S');
  EXPECT_EQ(parse_address("serial:///dev/pts/3?parity=odd").parity, 'O');
}

// Each bad address is refused with a message that quotes it and names the part that is wrong.
TEST(Address, BadAddressesNameTheCulprit) {
  const std::pair<const char*, const char*> cases[] = {
      {"tcp://host:0", "\"0\""},
      {"tcp://host:65536", "65536"},
      {"tcp://host:50x", "50x"},
      {"tcp://host:", "port"},
      {"tcp://:5025", "host"},
      {"tcp://bad host:5025", "bad host"},
      {"tcp://host:5025/path", "path"},
      {"udp://host:5025", "udp"},
      {"192.168.1.1:5025", "tcp://"},
      {"serial://dev/ttyUSB0", "dev/ttyUSB0"},
      {"serial://", "path"},
      {"serial:///dev/ttyUSB0?baud=12345", "baud=12345"},
      {"serial:///dev/ttyUSB0?baud=fast", "baud=fast"},
      {"serial:///dev/ttyUSB0?parity=mark", "parity=mark"},
      {"serial:///dev/ttyUSB0?data_bits=9", "data_bits=9"},
      {"serial:///dev/ttyUSB0?stop_bits=3", "stop_bits=3"},
      {"serial:///dev/ttyUSB0?flow=xon", "flow=xon"},
      {"serial:///dev/ttyUSB0?speed=9600", "speed"},
      {"serial:///dev/ttyUSB0?baud", "baud"},
      {"serial:///dev/ttyUSB0?baud=9600&baud=19200", "twice"},
  };
  for (const auto& [text, culprit] : cases) {
    try {
      parse_address(text);
      ADD_FAILURE() << text << " was accepted";
    } catch (const AddressError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(text), std::string::npos) << what;
      EXPECT_NE(what.find(culprit), std::string::npos) << what;
    }
  }
}

}  // namespace
}  // namespace aeqlab::drivers
